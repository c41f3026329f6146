-- logpipe process: the next Kafka offset of each partition, committed in the
-- same transaction as the aggregates it covers (fenced on its old value).
CREATE TABLE IF NOT EXISTS logpipe_offsets (
  group_id VARCHAR(190) NOT NULL,
  topic VARCHAR(190) NOT NULL,
  kafka_partition INT NOT NULL,
  next_offset BIGINT NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (group_id, topic, kafka_partition)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The latest event time seen per aggregation and partition: the watermark
-- survives restarts and rebalances together with the offsets.
CREATE TABLE IF NOT EXISTS logpipe_watermarks (
  group_id VARCHAR(190) NOT NULL,
  aggregation VARCHAR(64) NOT NULL,
  topic VARCHAR(190) NOT NULL,
  kafka_partition INT NOT NULL,
  max_event_time_ms BIGINT NOT NULL,
  PRIMARY KEY (group_id, aggregation, topic, kafka_partition)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
