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
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, floor
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

day_dir, result_path = sys.argv[1], sys.argv[2]
spark = (
    SparkSession.builder.master("local[2]")
    .appName("logpipe-bench-daily")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.ui.enabled", "false")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
jvm_pid = spark.sparkContext._gateway.proc.pid
schema = StructType(
    [
        StructField("timestamp", DoubleType()),
        StructField("level", StringType()),
        StructField("message", StringType()),
        StructField("host", StringType()),
        StructField("service", StringType()),
    ]
)
started = time.time()
df = spark.read.schema(schema).option("recursiveFileLookup", "true").json(day_dir).cache()
per_minute = df.groupBy((floor(col("timestamp") / 60) * 60).alias("minute")).count().collect()
per_level = {r["level"]: r["count"] for r in df.groupBy("level").count().collect()}
seconds = time.time() - started


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


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
