"""The Airflow DAG's Spark batch, for the rollup benchmark: read one day of
archived JSON lines, count events per minute (the reconciliation's grain)
and per level (the daily metric), as `logpipe rollup` does.

Usage: python3 spark_daily.py DAY_DIR RESULT.json
Writes the job's and the whole process's seconds, the JVM's peak RSS and the
counts per level to RESULT.json.
"""
import time as _clock

PROCESS_STARTED = _clock.time()  # before pyspark is imported: whole-process time

import json
import os
import sys
import time

from pyspark.sql.functions import col, floor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from spark_common import SERVER_LOGS_SCHEMA as schema, peak_rss_mib, session  # noqa: E402

day_dir, result_path = sys.argv[1], sys.argv[2]
spark, jvm_pid = session("logpipe-bench-daily")
started = time.time()
df = spark.read.schema(schema).option("recursiveFileLookup", "true").json(day_dir).cache()
per_minute = df.groupBy((floor(col("timestamp") / 60) * 60).alias("minute")).count().collect()
per_level = {r["level"]: r["count"] for r in df.groupBy("level").count().collect()}
seconds = time.time() - started
rss = peak_rss_mib(jvm_pid)
spark.stop()
with open(result_path, "w") as f:
    json.dump(
        {
            "seconds": seconds,
            "process_seconds": time.time() - PROCESS_STARTED,
            "peak_rss_mib": rss,
            "minutes": len(per_minute),
            "per_level": per_level,
        },
        f,
    )
