"""A Python producer written like the seed's: random level with error waves,
json.dumps, confluent-kafka produce — with the seed's per-event sleep and
print removed, so it runs as fast as it can. Used only as the benchmark's
baseline.

Usage: seed_producer.py COUNT [KEY=VALUE librdkafka properties...]
Prints one JSON line like logpipe's --summary-json.
"""

import json
import random
import sys
import time

from confluent_kafka import Producer

LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"]
NORMAL = [10, 60, 20, 10]
WAVE = [5, 10, 20, 65]
MESSAGES = {
    "DEBUG": ["Cache lookup for key user:%d took 0 ms", "Opened DB connection #%d from pool"],
    "INFO": ["User %d logged in", "Request completed in %d ms", "Order %d placed"],
    "WARN": ["Slow query took %d ms", "Disk usage at %d %%"],
    "ERROR": ["Database connection failed after %d s", "Payment gateway returned HTTP %d"],
}
HOSTS = ["web-01", "web-02", "web-03", "web-04", "api-01", "api-02", "worker-01", "worker-02"]
SERVICES = ["checkout", "catalog", "auth", "search", "payments"]


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    conf = {
        "enable.idempotence": True,
        "linger.ms": 5,
        "batch.num.messages": 10000,
        "queue.buffering.max.messages": 100000,
    }
    for kv in sys.argv[2:]:
        k, v = kv.split("=", 1)
        conf[k] = v
    producer = Producer(conf)
    producer.list_topics("logs", timeout=10)
    delivered = failed = 0

    def on_delivery(err, _msg):
        nonlocal delivered, failed
        if err is None:
            delivered += 1
        else:
            failed += 1

    wave_until = 0.0
    last_second = 0
    start = time.time()
    for _ in range(count):
        now = time.time()
        if int(now) != last_second:
            last_second = int(now)
            if now >= wave_until and random.random() < 0.01:
                wave_until = now + 90
        weights = WAVE if now < wave_until else NORMAL
        level = random.choices(LEVELS, weights=weights)[0]
        host = random.choice(HOSTS)
        log = {
            "timestamp": now,
            "level": level,
            "message": random.choice(MESSAGES[level]) % random.randint(1, 99999),
            "host": host,
            "service": random.choice(SERVICES),
        }
        while True:
            try:
                producer.produce("logs", key=host, value=json.dumps(log), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.001)
        producer.poll(0)
    producer.flush(120)
    elapsed = time.time() - start
    print(json.dumps({
        "generated": count,
        "delivered": delivered,
        "failed": failed,
        "elapsed_seconds": elapsed,
        "events_per_second": count / elapsed,
    }))


if __name__ == "__main__":
    main()
