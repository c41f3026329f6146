#!/usr/bin/env bash
# Benchmarks of `logpipe archive`, side by side in one run. Not part of the tests.
# The real release binary, started from a TOML config as systemd starts it, reads
# server-logs events from a librdkafka mock cluster (in the driver process) and
# writes them to local disk (zstd, gzip, Parquet) and to the standalone fake HDFS;
# beside it: a bare consumer on the same paced stream (the ceiling), the codecs
# alone on the same bytes, and the raw write speed of the disk. Every archive is
# checked with `logpipe archive verify` and must hold every event exactly once.
# Usage: bench/archive/run.sh [--events N] [--partitions P] [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p logpipe -p logpipe-testkit -p logpipe-bench \
  --bin logpipe --bin logpipe-testkit --bin archive-bench
exec target/release/archive-bench \
  --logpipe target/release/logpipe --testkit target/release/logpipe-testkit "$@"
