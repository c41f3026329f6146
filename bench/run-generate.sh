#!/usr/bin/env bash
# Benchmark `logpipe generate` against the raw librdkafka ceiling and the
# seed's Python producer, side by side, in one run. Not part of the tests.
# Usage: bench/run-generate.sh [--count N] [--py-count N] [--runs R]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p logpipe -p logpipe-bench
venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet confluent-kafka==2.16.1
fi
exec "$venv/bin/python" bench/compare_generate.py target/release/logpipe target/release/raw-produce target/release/mock-cluster "$venv/bin/python" "$@"
