#!/usr/bin/env bash
# Benchmark of `logpipe rollup` against the Spark batch it replaces, side by
# side in one run on the same files: one day of N server-logs events laid out
# as `logpipe archive` writes it (gzip JSON lines, so Spark's bundled Hadoop
# reads them too; make_day.py). Both count events per minute and per level;
# `logpipe rollup` also sums the offset ranges, reconciles and writes
# daily_metrics and daily_reconciliation (SQLite). Both results must equal
# make_day.py's own count. Not part of the tests.
# Needs Java 17 and pyspark (scripts/test makes target/hdfs-conformance-venv).
# Usage: bench/rollup/run.sh [--events N]
set -euo pipefail
cd "$(dirname "$0")/../.."
events=2000000
while (($#)); do
  case "$1" in
    --events) events=$2; shift 2 ;;
    *) echo "usage: bench/rollup/run.sh [--events N]" >&2; exit 2 ;;
  esac
done
python=${LOGPIPE_SPARK_PYTHON:-target/hdfs-conformance-venv/bin/python3}
[[ -x $python ]] || { echo "$python missing: scripts/test creates it (pyspark)" >&2; exit 1; }
cargo build --release -p logpipe --bin logpipe
work=target/bench-rollup
rm -rf "$work" && mkdir -p "$work/archive"
day=2026-01-15
topic=bench-logs
echo "writing $events events of $day into $work/archive (3 partitions, gzip)"
reference=$(python3 bench/rollup/make_day.py "$work/archive" "$topic" "$day" "$events" 3)
cat > "$work/logpipe.toml" <<TOML
[archive]
url = "file://$PWD/$work/archive"
topics = ["$topic"]
[archive.completeness]
markers = false
[rollup]
database_url = "sqlite://$PWD/$work/rollup.db"
late_horizon = "0s"
[[rollup.metric]]
name = "events_by_level"
topic = "$topic"
group_by = ["level"]
TOML
echo "logpipe rollup --date $day"
/usr/bin/time -f '%e %M' -o "$work/rollup.time" \
  target/release/logpipe rollup --config "$work/logpipe.toml" --date "$day" --wait 0s >"$work/rollup.out" 2>"$work/rollup.err" \
  || { cat "$work/rollup.out" "$work/rollup.err"; exit 1; }
echo "spark (local[2]) on the same files"
"$python" bench/rollup/spark_daily.py "$PWD/$work/archive/$topic/dt=$day" "$work/spark.json" 2>"$work/spark.err" \
  || { tail -20 "$work/spark.err"; exit 1; }
python3 - "$work" "$events" "$reference" <<'PY'
import json, sqlite3, sys
work, events, reference = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
secs, rss_kib = open(f"{work}/rollup.time").read().split()
db = sqlite3.connect(f"{work}/rollup.db")
ours = {d.split("=", 1)[1]: int(v) for d, v in db.execute("SELECT dimensions, value FROM daily_metrics")}
(archived, offsets, status), = db.execute("SELECT archived, offsets, status FROM daily_reconciliation")
spark = json.load(open(f"{work}/spark.json"))
ok = ours == reference == {k: int(v) for k, v in spark["per_level"].items()} and archived == offsets == events and status == "ok"
r_s, s_s, s_p = float(secs), spark["seconds"], spark["process_seconds"]
print()
print(f"one day, {events:,} events, 3 partitions, gzip JSON lines (same files)")
print(f"{'':28}{'logpipe rollup':>18}{'Spark local[2]':>18}")
print(f"{'wall time, whole process':28}{r_s:>16.1f} s{s_p:>16.1f} s")
print(f"{'wall time, job only':28}{r_s:>16.1f} s{s_s:>16.1f} s")
print(f"{'events/s (whole process)':28}{events / r_s:>18,.0f}{events / s_p:>18,.0f}")
print(f"{'peak RSS':28}{int(rss_kib) / 1024:>14.0f} MiB{spark['peak_rss_mib']:>14.0f} MiB")
print(f"{'speed-up (whole process)':28}{s_p / r_s:>17.1f}x")
print(f"counts per level equal the generator's: {'yes' if ok else 'NO'} {ours}")
print(f"rollup reconciliation: {status}, archived {archived:,} = offsets {offsets:,}")
sys.exit(0 if ok else 1)
PY
