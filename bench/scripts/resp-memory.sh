#!/usr/bin/env bash
# Memory of key-value replicas: loads KEYS keys of 100-byte values into a local 3-replica cluster
# (durable storage) through one RESP endpoint, prints each replica's RSS, then runs a sustained
# SET load over the same keys for SECONDS and prints every 10 s the RSS, the GC's heap and committed
# memory (from INFO memory), the seconds since the load started and the view, op and checkpoint of
# the endpoint (a view change shows as a new view).
# Usage: bench/scripts/resp-memory.sh [KEYS=1000000] [SECONDS=180]   (600 for the 10-minute run)
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=${1:-1000000}
seconds=${2:-180}
source bench/scripts/local-cluster.sh
# INFO memory's field $2 of the replica at port $1, in MiB.
mib() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: -v f="$2" '$1 == f {printf "%d", $2/1048576}'; }
rss() {
  local line="rss MiB:"
  for pid in $pids; do line="$line $(awk '/VmRSS/ {printf "%d", $2/1024}' /proc/$pid/status)"; done
  # What the garbage collector holds: its heap after the last collection and what it has committed.
  line="$line; gc heap/committed MiB:"
  for p in $ports; do line="$line $(mib "$p" gc_heap_size)/$(mib "$p" gc_committed)"; done
  local state
  state=$(redis-cli -p "$port" INFO replication | grep -E 'vr_(view|op|checkpoint):' | tr -d '\r' | paste -sd' ')
  echo "$line (replicas 0..2; ${started:+t=$(( $(date +%s) - started ))s; }$state; load $(cut -d' ' -f1 /proc/loadavg))"
}
echo "loading $keys keys of 100 bytes through 127.0.0.1:$port"
start=$(date +%s)
value=$(printf 'v%.0s' $(seq 100))
awk -v n="$keys" -v v="$value" 'BEGIN { for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%s\r\n", i, v }' \
  | redis-cli -p "$port" --pipe | tail -n 1
echo "loaded in $(( $(date +%s) - start )) s; DBSIZE $(redis-cli -p "$port" DBSIZE)"
rss
echo "sustained SET load over the same keys for $seconds s"
timeout "$seconds" redis-benchmark -p "$port" -t set -r "$keys" -d 100 -c 64 -P 16 -l -q >/dev/null 2>&1 &
load=$!
started=$(date +%s)
for _ in $(seq $(( seconds / 10 ))); do sleep 10; rss; done
wait $load 2>/dev/null || true
# A write after the load says whether the cluster still commits (a stalled op count above may also
# mean redis-benchmark gave up on a connection).
echo "a SET after the load: $(timeout 10 redis-cli -p "$port" SET resp-memory-probe 1 2>&1 || echo 'no reply in 10 s')"
redis-cli -p "$port" INFO replication | grep -E 'vr_(op|commit|checkpoint)' | tr -d '\r' | paste -sd' '
rss
