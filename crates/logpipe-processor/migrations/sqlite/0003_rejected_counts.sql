-- Dead-lettered events with a readable time, per minute (see the MySQL file).
ALTER TABLE logpipe_event_counts ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
