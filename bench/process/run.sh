#!/usr/bin/env bash
# Benchmarks of `logpipe process`, side by side in one run. Not part of the tests.
#  1. core path: decode + windows + aggregation, one thread
#  2. end to end: mock cluster → processor → MariaDB, beside the raw consume rate;
#     produce-to-visible latency at 50,000 events/s
#  3. against Spark Structured Streaming (PySpark, local[2], file source) on the same
#     input file: events/s, peak RSS, and window counts asserted equal
# Needs MariaDB (root, no password) at $LOGPIPE_TEST_MARIADB (default 127.0.0.1:3306;
# `scripts/test --bench` starts one and sets it), Java 17 and `pip install pyspark`.
# Usage: bench/process/run.sh [--events N] [--spark-events N]
set -euo pipefail
cd "$(dirname "$0")/../.."
events=2000000
spark_events=2000000
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --spark-events) spark_events=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cargo build --release -p logpipe-processor --example process-bench
bench=target/release/examples/process-bench
db=mysql://root@${LOGPIPE_TEST_MARIADB:-127.0.0.1:3306}
data=bench/process/data
result=$(mktemp --suffix .json)
echo "== core path"
"$bench" core --events 3000000
echo "== end to end"
"$bench" e2e --events "$events" --database-url "$db/lp_bench_e2e"
echo "== against Spark Structured Streaming"
rm -rf "$data"
"$bench" gen --out "$data" --events "$spark_events"
python3 bench/process/spark_job.py "$data" "$result"
"$bench" file --input "$data" --spark "$result" --database-url "$db/lp_bench_file"
