#!/usr/bin/env bash
# The real deployment test: the real ansible/site.yml into a booted Debian 12.
#
# A Debian 12 root is debootstrapped once (with MariaDB, Prometheus and
# ZooKeeper from Debian, cached in target/deploy/rootfs), booted with
# systemd-nspawn as PID 1 on a private network, each run on a fresh overlay
# (--volatile=overlay), and site.yml runs into it over the
# community.docker.nsenter connection with tests/deploy/inventory.yml
# (roles zookeeper, mariadb, prometheus and logpipe with the generator, the
# processor and the archiver). Kafka and Hadoop cannot be installed here;
# the test starts stand-ins in the container as transient units: a
# librdkafka mock cluster in a process of its own (`mock-cluster`), shared
# by the three daemons, and the fake HDFS (`logpipe-testkit fake-hdfs`) on
# the NameNode's usual port.
# Then: every unit active (Type=notify: READY — for the processor and the
# archiver only once Kafka assigned them partitions), Prometheus scraping
# all three through the role's file_sd, the database and its writer and
# SELECT-only accounts in MariaDB, events end to end (windows in `log_data`
# written by the processor through the writer account), a second site.yml
# run with changed=0, and the counts reconciled across a clean stop: the
# generator stopped first (its delivered count from its journal), the
# processor and archiver let read all of it, then `systemctl stop
# 'logpipe-*'` (exit 0, Result=success): every delivered event read once by
# each, each counted in its two sliding windows in `log_data`, and archived
# once in the fake HDFS (`logpipe archive verify`: from offset 0, no gap,
# no overlap, as many records as delivered).
# The rollup: the generator stamps its events from yesterday 12:00 UTC (a
# simulated clock, [generate] start_time), logpipe-rollup.timer is listed by
# `systemctl list-timers`, and after the stop `systemctl start
# logpipe-rollup@<that day>.service` exits 0 with daily_reconciliation 'ok'
# for the day and archived = the events delivered, and the Pushgateway
# (installed by the prometheus role, scraped as job logpipe-rollup) serves
# logpipe_rollup_success 1.
#
# Usage: tests/deploy/run.sh [LOGPIPE_BINARY [MOCK_CLUSTER_BINARY [TESTKIT_BINARY]]]
#        (root; Debian; ~3 min the first time)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
work=$repo/target/deploy
rootfs=$work/rootfs
venv=${LOGPIPE_ANSIBLE_VENV:-$repo/target/ansible-venv}
binary=${1:-$repo/target/debug/logpipe}
mock=${2:-$repo/target/debug/mock-cluster}
testkit=${3:-$repo/target/debug/logpipe-testkit}
deadline() { echo $(($(date +%s) + $1)); }
fail() { echo "deploy test: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn nsenter; do
  command -v "$tool" >/dev/null || fail "$tool missing (apt-get install debootstrap systemd-container util-linux)"
done
[[ -x $venv/bin/ansible-playbook ]] || fail "$venv/bin/ansible-playbook missing (scripts/test creates it)"
[[ -x $binary ]] || fail "$binary missing (cargo build -p logpipe)"
mkdir -p "$work"

# --- the cached root ---------------------------------------------------------
# The package list is kept in the marker: a root cached with another list is
# built again.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,python3-pymysql,mariadb-server,prometheus,prometheus-pushgateway,zookeeperd,iproute2,curl
if [[ $(cat "$rootfs/.logpipe-deploy-root" 2>/dev/null) != "$packages" ]]; then
  # The machine's own Debian mirror, from its apt sources.
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null ||
    awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
  [[ -n $mirror ]] || fail "no Debian mirror in /etc/apt/sources.list(.d)"
  echo "debootstrap bookworm into $rootfs (once; ~2 min)"
  rm -rf "$rootfs.tmp"
  debootstrap --variant=minbase \
    --include="$packages" \
    bookworm "$rootfs.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
  echo deploy >"$rootfs.tmp/etc/hostname"
  rm -rf "$rootfs"
  mv "$rootfs.tmp" "$rootfs"
  echo "$packages" >"$rootfs/.logpipe-deploy-root"
fi

# --- boot ----------------------------------------------------------------------
log=$work/nspawn.log
setsid systemd-nspawn -D "$rootfs" --volatile=overlay --boot --register=no --keep-unit \
  --private-network --machine=logpipe-deploy >"$log" 2>&1 </dev/null &
nspawn=$!
stop_container() {
  if kill "$nspawn" 2>/dev/null; then
    local until
    until=$(deadline 30)
    while kill -0 "$nspawn" 2>/dev/null && (($(date +%s) < until)); do sleep 0.5; done
    kill -9 "$nspawn" 2>/dev/null || true
  fi
  # A SIGKILLed nspawn leaves the container's systemd running on its own
  # (with MariaDB, ZooKeeper, … inside); killing the namespace's PID 1 ends
  # them all.
  if [[ -n ${init:-} ]]; then kill -9 "$init" 2>/dev/null || true; fi
}
trap stop_container EXIT

init=""
until=$(deadline 30)
while [[ -z $init ]] && (($(date +%s) < until)); do
  kill -0 "$nspawn" 2>/dev/null || { cat "$log" >&2; fail "systemd-nspawn exited (log above)"; }
  # nspawn's first child is a short-lived helper; PID 1 of the container is systemd.
  init=$(ps --ppid "$nspawn" -o pid=,comm= | awk '$2 == "systemd" {print $1; exit}' || true)
  [[ -n $init ]] || sleep 0.2
done
[[ -n $init ]] || fail "no init process under systemd-nspawn $nspawn"
in_container() { nsenter -t "$init" -a "$@"; }
state=""
until=$(deadline 60)
while (($(date +%s) < until)); do
  state=$(in_container systemctl is-system-running 2>/dev/null || true)
  [[ $state == running || $state == degraded ]] && break
  sleep 0.5
done
[[ $state == running || $state == degraded ]] || fail "container did not boot (is-system-running: $state)"
echo "container up (init pid $init, $state)"

# --- the Kafka stand-in ------------------------------------------------------------
[[ -x $mock ]] || fail "$mock missing (cargo build -p logpipe-bench --bin mock-cluster)"
in_container sh -c 'cat > /usr/local/bin/mock-cluster && chmod 755 /usr/local/bin/mock-cluster' <"$mock"
in_container systemd-run --quiet --unit=kafka-standin \
  /usr/local/bin/mock-cluster --bootstrap-file /run/kafka-standin.bootstrap 1 logs:3 logs.dlq:1
bootstrap=""
until=$(deadline 30)
while [[ -z $bootstrap ]] && (($(date +%s) < until)); do
  bootstrap=$(in_container cat /run/kafka-standin.bootstrap 2>/dev/null || true)
  [[ -n $bootstrap ]] || sleep 0.2
done
[[ -n $bootstrap ]] || { in_container journalctl -u kafka-standin -n 20 --no-pager >&2; fail "the Kafka stand-in did not start"; }
echo "kafka stand-in: $bootstrap (topics logs:3, logs.dlq:1)"

[[ -x $testkit ]] || fail "$testkit missing (cargo build -p logpipe-testkit --bin logpipe-testkit)"
in_container sh -c 'cat > /usr/local/bin/logpipe-testkit && chmod 755 /usr/local/bin/logpipe-testkit' <"$testkit"
in_container systemd-run --quiet --unit=hdfs-standin /usr/local/bin/logpipe-testkit fake-hdfs --port 8020
until=$(deadline 30)
until in_container bash -c 'echo >/dev/tcp/127.0.0.1/8020' 2>/dev/null; do
  (($(date +%s) < until)) || { in_container journalctl -u hdfs-standin -n 20 --no-pager >&2; fail "the fake HDFS did not start"; }
  sleep 0.2
done
echo "hdfs stand-in: hdfs://127.0.0.1:8020 (fake NameNode + DataNodes)"

# --- site.yml, twice -------------------------------------------------------------
# The rollup's day: yesterday (UTC), or the day before in the first half hour
# after midnight, so the sensor finds it closed (midnight + the archive's
# allowed lateness of 10 min). The events are stamped from its 12:00 on,
# 1/rate apart: hours of generating would still be within the day.
day=$(date -u -d "$(date -u -d '30 min ago' +%F) -1 day" +%F)
start_time=$(date -u -d "$day 12:00:00" +%s)
playbook() {
  ANSIBLE_CONFIG=$repo/ansible/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$work/ansible-tmp \
    "$venv/bin/ansible-playbook" -i "$repo/tests/deploy/inventory.yml" "$repo/ansible/site.yml" \
    -e ansible_nsenter_pid="$init" -e logpipe_binary_src="$binary" \
    -e logpipe_kafka_bootstrap="$bootstrap" -e logpipe_generate_start_time="$start_time" "$@"
}
recap() { grep -E '^deploy +: ' "$1" | tail -n 1; }
echo "site.yml, first run"
playbook >"$work/first-run.log" 2>&1 || {
  tail -n 40 "$work/first-run.log" >&2
  in_container journalctl -u 'logpipe-*' -n 40 --no-pager >&2 || true
  fail "first site.yml run failed (log and journal above)"
}
echo "  $(recap "$work/first-run.log")"

units=(zookeeper.service mariadb.service prometheus.service prometheus-pushgateway.service
  logpipe-generate.service logpipe-process.service logpipe-archive.service logpipe-rollup.timer)
for unit in "${units[@]}"; do
  active=$(in_container systemctl is-active "$unit" || true)
  [[ $active == active ]] || { in_container journalctl -u "$unit" -n 30 --no-pager >&2; fail "$unit is $active"; }
done
echo "  active: ${units[*]}"

# Prometheus scrapes every logpipe daemon and the rollup's Pushgateway
# (targets from the role's file_sd).
want_up="logpipe-archive=up logpipe-generate=up logpipe-process=up logpipe-rollup=up"
until=$(deadline 60)
up=""
while (($(date +%s) < until)); do
  up=$(in_container python3 -c '
import json, urllib.request
t = json.load(urllib.request.urlopen("http://127.0.0.1:9090/api/v1/targets"))["data"]["activeTargets"]
print(" ".join(sorted(f"{x['"'"'labels'"'"']['"'"'job'"'"']}={x['"'"'health'"'"']}" for x in t)))' 2>/dev/null || true)
  [[ $up == "$want_up" ]] && break
  sleep 1
done
[[ $up == "$want_up" ]] || fail "Prometheus targets: '$up' (want '$want_up')"
echo "  prometheus targets: $up"

grants=$(in_container mariadb -N -e "SHOW GRANTS FOR 'logpipe_grafana'@'%'")
grep -q "GRANT SELECT ON \`logpipe\`.\* TO \`logpipe_grafana\`@\`%\`" <<<"$grants" || fail "grafana grants: $grants"
grep -q "GRANT ALL PRIVILEGES ON \`logpipe\`.\*" <<<"$(in_container mariadb -N -e "SHOW GRANTS FOR 'logpipe'@'%'")" ||
  fail "writer grants"
in_container mariadb -N -e "SHOW DATABASES" | grep -qx logpipe || fail "no database logpipe"
echo "  mariadb: database logpipe, writer and SELECT-only accounts as granted"

# Events end to end: generator → Kafka stand-in → processor → MariaDB. A
# window's row appears with the processor's first commit of it.
rows=0
until=$(deadline 120)
while (($(date +%s) < until)); do
  rows=$(in_container mariadb -N -e "SELECT COUNT(*) FROM logpipe.log_data" 2>/dev/null || echo 0)
  ((rows > 0)) && break
  sleep 1
done
((rows > 0)) || { in_container journalctl -u logpipe-process -n 30 --no-pager >&2; fail "no row in logpipe.log_data within 120 s"; }
echo "  processor: $rows window row(s) in logpipe.log_data"

# The rollup is a timer's batch: the timer is scheduled, the service idle.
timers=$(in_container systemctl list-timers --all --no-pager)
grep -q 'logpipe-rollup\.timer' <<<"$timers" || { echo "$timers" >&2; fail "systemctl list-timers does not list logpipe-rollup.timer"; }
rollup_state=$(in_container systemctl is-active logpipe-rollup.service || true)
[[ $rollup_state == inactive ]] || fail "logpipe-rollup.service is $rollup_state (only its timer is started)"
echo "  rollup: logpipe-rollup.timer scheduled ($(grep 'logpipe-rollup\.timer' <<<"$timers" | awk '{print $1, $2, $3, $4}'))"

echo "site.yml, second run (idempotent)"
playbook >"$work/second-run.log" 2>&1 || { tail -n 40 "$work/second-run.log" >&2; fail "second site.yml run failed (log above)"; }
second=$(recap "$work/second-run.log")
echo "  $second"
[[ $second == *" changed=0 "* && $second == *" failed=0 "* ]] ||
  { grep -E '^changed:' -B2 "$work/second-run.log" | head -n 40 >&2; fail "second run changed something"; }

# --- a clean stop, and the counts reconciled -----------------------------------------
# Sum of the series of a metric (any labels) from a daemon's /metrics.
metric() {
  in_container python3 -c '
import sys, urllib.request
name, port = sys.argv[1], sys.argv[2]
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
print(int(sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
              if l.split("{")[0].split(" ")[0] == name)))' "$1" "$2"
}
echo "systemctl stop logpipe-generate, then the rest once they read everything"
in_container systemctl stop logpipe-generate.service || fail "systemctl stop logpipe-generate failed"
summary=$(in_container journalctl -u logpipe-generate -o cat --no-pager | grep '^generated ' | tail -n 1)
delivered=$(sed -n 's/.*delivered \([0-9]*\), failed 0$/\1/p' <<<"$summary")
[[ -n $delivered && $delivered -gt 0 ]] || fail "generator summary: '$summary'"
until=$(deadline 60)
while (($(date +%s) < until)); do
  read_p=$(metric logpipe_process_events_in_total 9102 || echo -1)
  read_a=$(metric logpipe_archive_records_in_total 9103 || echo -1)
  ((read_p >= delivered && read_a >= delivered)) && break
  sleep 0.5
done
((read_p == delivered && read_a == delivered)) ||
  fail "generator delivered $delivered; processor read $read_p, archiver $read_a"
not_counted=0
for m in logpipe_process_unpivoted_events_total logpipe_late_events_total logpipe_process_dlq_events_total; do
  not_counted=$((not_counted + $(metric "$m" 9102)))
done
echo "  generator delivered $delivered (its journal); processor and archiver read $delivered each"

echo "systemctl stop 'logpipe-*'"
in_container systemctl stop 'logpipe-*' || fail "systemctl stop 'logpipe-*' failed"
for unit in logpipe-generate.service logpipe-process.service logpipe-archive.service; do
  result=$(in_container systemctl show -p Result --value "$unit")
  [[ $result == success ]] || { in_container journalctl -u "$unit" -n 30 --no-pager >&2; fail "$unit stopped with Result=$result"; }
done
echo "  every logpipe unit stopped with Result=success"

# 30 s windows sliding every 15 s: each counted event is in exactly two.
counted=$(in_container mariadb -N -e \
  "SELECT COALESCE(SUM(debug_count + info_count + warn_count + error_count), 0) FROM logpipe.log_data")
((counted == 2 * (delivered - not_counted))) ||
  fail "log_data counts $counted events-in-windows; want 2 × ($delivered delivered − $not_counted unpivoted/late/dead-lettered)"
echo "  processor: log_data counts each of the $((delivered - not_counted)) events in its 2 windows ($not_counted unpivoted, late or dead-lettered, counted apart)"

# The archiver committed its open files at stop: every delivered event is
# in the fake HDFS once.
verify=$(in_container /usr/bin/logpipe archive verify --config /etc/logpipe/logpipe-archive.toml --topic logs 2>&1) ||
  { echo "$verify" >&2; fail "logpipe archive verify failed"; }
records=$(awk '/^hdfs:/ {for (i = 1; i <= NF; i++) if ($(i + 1) == "records") print $i}' <<<"$verify")
grep -q "no gaps, no overlaps" <<<"$verify" || { echo "$verify" >&2; fail "archive verify: gaps or overlaps"; }
# …and from each partition's first offset: nothing before the first file.
late_start=$(awk '$1 ~ /^[0-9]+$/ && $3 != 0 {print "partition " $1 " starts at " $3}' <<<"$verify")
[[ -z $late_start ]] || { echo "$verify" >&2; fail "archive verify: $late_start"; }
partitions=$(awk '$1 ~ /^[0-9]+$/' <<<"$verify" | wc -l)
((partitions == 3)) || { echo "$verify" >&2; fail "archive verify: $partitions partitions archived, want 3"; }
[[ ${records:-0} == "$delivered" ]] || { echo "$verify" >&2; fail "the archive holds ${records:-0} records; $delivered were delivered"; }
echo "  archiver: all $records delivered events in the fake HDFS, 3 partitions from offset 0, no gap, no overlap (logpipe archive verify)"

# --- the rollup of the events' day --------------------------------------------------
# Every event was stamped on $day; the archive and the processor hold all of
# them (stopped cleanly above). A oneshot: start returns when it exited.
echo "systemctl start logpipe-rollup@$day.service"
if ! in_container systemctl start "logpipe-rollup@$day.service"; then
  in_container journalctl -u "logpipe-rollup@$day.service" -n 40 --no-pager >&2 || true
  fail "logpipe-rollup@$day.service failed (exit $(in_container systemctl show -p ExecMainStatus --value "logpipe-rollup@$day.service"))"
fi
result=$(in_container systemctl show -p Result --value "logpipe-rollup@$day.service")
[[ $result == success ]] || fail "logpipe-rollup@$day.service: Result=$result"
row=$(in_container mariadb -N -e \
  "SELECT status, archived, offsets, streamed + late FROM logpipe.daily_reconciliation WHERE day = '$day' AND topic = 'logs'" || true)
read -r status archived offsets processed <<<"$row"
[[ $status == ok ]] || {
  in_container mariadb -e "SELECT * FROM logpipe.daily_reconciliation WHERE day = '$day'\G" >&2 || true
  fail "daily_reconciliation $day logs: '$row' (want status ok)"
}
[[ $archived == "$delivered" && $offsets == "$delivered" ]] ||
  fail "daily_reconciliation $day logs: archived $archived, offsets $offsets; $delivered were delivered"
metrics=$(in_container mariadb -N -e \
  "SELECT COALESCE(SUM(value), 0) FROM logpipe.daily_metrics WHERE day = '$day' AND topic = 'logs' AND metric = 'events_by_level'" || true)
echo "  rollup: $day reconciled: status ok, archived = offsets = $delivered delivered, processor $processed (streamed + late); events_by_level sums to $metrics"
# Its result on the Pushgateway (what Prometheus scrapes as job logpipe-rollup).
pushed=$(in_container curl -s 127.0.0.1:9091/metrics | grep '^logpipe_rollup_success' || true)
grep -qE '^logpipe_rollup_success(\{[^}]*\})? 1$' <<<"$pushed" ||
  fail "Pushgateway: logpipe_rollup_success is '${pushed:-absent}' (want 1)"
echo "  pushgateway: $pushed"
in_container systemctl stop hdfs-standin kafka-standin || true
echo "deploy test: passed"
