"""logpipe generate vs. the seed's Python producer vs. the raw librdkafka
ceiling, in one run. Each run gets a fresh librdkafka mock cluster (3
brokers, topic `logs` with 3 partitions) in a process of its own, so the
peak RSS measured is the producer's alone, as it would be next to a real
Kafka. Prints events/s, peak RSS and the ratios against the targets.

Usage: compare_generate.py LOGPIPE RAW_PRODUCE MOCK_CLUSTER PYTHON [--count N] [--py-count N] [--runs R]
"""

import argparse
import json
import os
import subprocess
import sys

MOCK_CLUSTER = None


def measure(cmd):
    """Run cmd (with BOOTSTRAP replaced) against a fresh mock cluster; return
    (its JSON summary line, its peak RSS in MiB)."""
    broker = subprocess.Popen([MOCK_CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    bootstrap = broker.stdout.readline().decode().strip()
    cmd = [c.replace("BOOTSTRAP", bootstrap) for c in cmd]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env={**os.environ, "RUST_LOG": "warn"})
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        broker.stdin.close()
        broker.wait()
    if status != 0:
        sys.exit(f"benchmark command failed ({status}): {' '.join(cmd)}")
    summary = json.loads(out.decode().strip().splitlines()[-1])
    return summary, usage.ru_maxrss / 1024.0


def best(cmd, runs, rate_key):
    results = [measure(cmd) for _ in range(runs)]
    summary, _ = max(results, key=lambda r: r[0][rate_key])
    return summary[rate_key], max(r[1] for r in results), summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("logpipe")
    ap.add_argument("raw_produce")
    ap.add_argument("mock_cluster")
    ap.add_argument("python")
    ap.add_argument("--count", type=int, default=3_000_000)
    ap.add_argument("--py-count", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    global MOCK_CLUSTER
    MOCK_CLUSTER = a.mock_cluster
    mock = "bootstrap.servers=BOOTSTRAP"

    raw_rate, raw_rss, _ = best([a.raw_produce, str(a.count), mock], a.runs, "messages_per_second")
    lp_rate, lp_rss, lp = best(
        [a.logpipe, "generate", "--scenario", "server-logs", "--rate", "0", "--count", str(a.count),
         "-X", mock, "--metrics-listen", "127.0.0.1:0", "--summary-json"],
        a.runs, "events_per_second")
    if lp["delivered"] != a.count or lp["failed"]:
        sys.exit(f"logpipe lost events: {lp}")
    py_rate, py_rss, py = best(
        [a.python, os.path.join(os.path.dirname(__file__), "seed_producer.py"), str(a.py_count), mock],
        a.runs, "events_per_second")
    if py["delivered"] != a.py_count:
        sys.exit(f"python producer lost events: {py}")

    rows = [
        ("raw librdkafka produce (ceiling)", raw_rate, raw_rss),
        ("logpipe generate --scenario server-logs", lp_rate, lp_rss),
        ("python seed-style producer", py_rate, py_rss),
    ]
    print(f"generate benchmark: best of {a.runs} runs, {a.count:,} events ({a.py_count:,} for Python), "
          f"a fresh mock cluster (3 brokers, 3 partitions) in its own process per run, {os.cpu_count()} cores")
    print(f"| {'producer':<42} | {'events/s':>10} | {'peak RSS MiB':>12} |")
    print(f"|{'-' * 44}|{'-' * 12}:|{'-' * 14}:|")
    for name, rate, rss in rows:
        print(f"| {name:<42} | {rate:>10,.0f} | {rss:>12.1f} |")
    ceiling = lp_rate / raw_rate
    vs_py = lp_rate / py_rate
    checks = [
        (f"logpipe / raw ceiling = {ceiling:.1%}", "≥ 90 %", ceiling >= 0.90),
        (f"logpipe / python = {vs_py:.1f}×", "≥ 3×", vs_py >= 3.0),
        (f"logpipe peak RSS = {lp_rss:.1f} MiB", "≤ 50 MB", lp_rss * 1.048576 <= 50.0),
    ]
    print()
    for text, target, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {text:<36} target {target}")
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
