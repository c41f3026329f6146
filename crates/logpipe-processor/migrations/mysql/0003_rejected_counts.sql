-- logpipe process: events dead-lettered although their event time was
-- readable, per minute, so that `logpipe rollup` (which finds them in the
-- archive) does not report their minutes as mismatches.
ALTER TABLE logpipe_event_counts ADD COLUMN rejected BIGINT NOT NULL DEFAULT 0;
