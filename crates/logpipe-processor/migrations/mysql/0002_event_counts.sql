-- logpipe process: events per topic and event-time minute (the topic's first
-- aggregation decides the time and lateness), on time and late, added in the
-- same transaction as the offsets. `logpipe rollup` reconciles the archive
-- against it.
CREATE TABLE IF NOT EXISTS logpipe_event_counts (
  group_id VARCHAR(190) NOT NULL,
  topic VARCHAR(190) NOT NULL,
  minute_start BIGINT NOT NULL COMMENT 'UTC epoch seconds',
  events BIGINT NOT NULL DEFAULT 0,
  late BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (group_id, topic, minute_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
