-- logpipe process: the next Kafka offset of each partition, committed in the
-- same transaction as the aggregates it covers (fenced on its old value).
CREATE TABLE IF NOT EXISTS logpipe_offsets (
  group_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (group_id, topic, kafka_partition)
);

-- The latest event time seen per aggregation and partition.
CREATE TABLE IF NOT EXISTS logpipe_watermarks (
  group_id TEXT NOT NULL,
  aggregation TEXT NOT NULL,
  topic TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  max_event_time_ms INTEGER NOT NULL,
  PRIMARY KEY (group_id, aggregation, topic, kafka_partition)
);
