"""The seed's Spark Structured Streaming job, for the side-by-side benchmark:
JSON file source, 30 s windows sliding every 15 s, 30 s watermark, counts
per level, update output mode (each micro-batch re-emits every window it
touched, which the seed's append-only JDBC sink turned into duplicate rows).

Usage: python3 spark_job.py INPUT_DIR RESULT.json
Writes events/s, the JVM's peak RSS, rows written, and the final count per
(window, level) to RESULT.json.
"""
import time as _clock

PROCESS_STARTED = _clock.time()  # before pyspark is imported: whole-process time

import json
import os
import sys
import time
from collections import defaultdict

from pyspark.sql.functions import col, window

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from spark_common import SERVER_LOGS_SCHEMA as schema, peak_rss_mib, session  # noqa: E402

input_dir, result_path = sys.argv[1], sys.argv[2]
spark, jvm_pid = session("logpipe-bench-seed-job")
events = (
    spark.readStream.schema(schema)
    .option("maxFilesPerTrigger", 1)
    .json(input_dir)
    .withColumn("ts", col("timestamp").cast("timestamp"))
)
counts = (
    events.withWatermark("ts", "30 seconds")
    .groupBy(window(col("ts"), "30 seconds", "15 seconds"), col("level"))
    .count()
)

final = {}
rows_per_key = defaultdict(int)
written = [0]


def sink(batch, batch_id):
    for r in batch.collect():
        start = int(r["window"]["start"].timestamp())
        final[(start, r["level"])] = r["count"]
        rows_per_key[(start, r["level"])] += 1
        written[0] += 1


n_events = sum(1 for f in os.listdir(input_dir) for _ in open(os.path.join(input_dir, f)))


started = time.time()
q = counts.writeStream.outputMode("update").foreachBatch(sink).trigger(availableNow=True).start()
q.awaitTermination()
seconds = time.time() - started
rss = peak_rss_mib(jvm_pid)
spark.stop()
process_seconds = time.time() - PROCESS_STARTED

windows = defaultdict(dict)
for (start, level), c in final.items():
    windows[str(start)][level] = c
json.dump(
    {
        "events": n_events,
        "seconds": seconds,
        "process_seconds": process_seconds,
        "events_per_s": n_events / seconds,
        "peak_rss_mib": rss,
        "rows_written": written[0],
        "max_rows_per_window": max(rows_per_key.values()) if rows_per_key else 0,
        "windows": windows,
    },
    open(result_path, "w"),
)
print(f"spark: {n_events} events in {seconds:.1f} s, peak JVM RSS {rss:.0f} MiB, {written[0]} rows written")
