"""A day of server-logs events as `logpipe archive` lays it out, for the
rollup benchmark: <root>/<topic>/dt=<day>/hr=<HH>/<topic>+<p>+<start>+<end>.jsonl.gz,
offsets contiguous per partition, one file per partition and hour (gzip, so
Spark's bundled Hadoop reads the same files). Events are spread evenly over
the day; the level follows a fixed pseudo-random sequence.

Usage: python3 make_day.py ROOT TOPIC DAY EVENTS PARTITIONS
Prints the count per level as JSON (the independent reference).
"""
import datetime
import gzip
import json
import os
import sys

root, topic, day, events, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
start = datetime.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp()
levels = ["DEBUG", "INFO", "WARN", "ERROR"]
weights = [20, 60, 12, 8]
table = [lv for lv, w in zip(levels, weights) for _ in range(w)]
per_level = {lv: 0 for lv in levels}
next_offset = [0] * partitions
x = 0x2545F4914F6CDD1D
step = 86400.0 / events
for hour in range(24):
    lines = [[] for _ in range(partitions)]
    first = int(hour * 3600 / step)
    last = min(events, int((hour + 1) * 3600 / step))
    for i in range(first, last):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        level = table[x % 100]
        per_level[level] += 1
        t = start + i * step
        lines[i % partitions].append(
            '{"timestamp": %.3f, "level": "%s", "message": "request served in %d ms", "host": "web-%d", "service": "api"}\n'
            % (t, level, x % 900, x % 7)
        )
    d = os.path.join(root, topic, f"dt={day}", f"hr={hour:02d}")
    os.makedirs(d, exist_ok=True)
    for p in range(partitions):
        if not lines[p]:
            continue
        s = next_offset[p]
        e = s + len(lines[p]) - 1
        next_offset[p] = e + 1
        name = f"{topic}+{p}+{s:019d}+{e:019d}.jsonl.gz"
        with gzip.open(os.path.join(d, name), "wt", compresslevel=1) as f:
            f.writelines(lines[p])
print(json.dumps(per_level))
