-- Events per topic and event-time minute, on time and late (see the MySQL file).
CREATE TABLE IF NOT EXISTS logpipe_event_counts (
  group_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  minute_start INTEGER NOT NULL,
  events INTEGER NOT NULL DEFAULT 0,
  late INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (group_id, topic, minute_start)
);
