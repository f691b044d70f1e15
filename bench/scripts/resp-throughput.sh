#!/usr/bin/env bash
# redis-benchmark against one RESP endpoint of a local 3-replica cluster (durable storage, fsync
# before every acknowledgement). Usage: bench/scripts/resp-throughput.sh [redis-benchmark args...]
# Default: -t set,get -c 64 -P 16 -d 100 -n 400000. Prints the machine's load before and after, and
# the CPU time the three replica processes used: on a shared machine, CPU per request is the figure
# that varies least between runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/scripts/local-cluster.sh
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-t set,get -c 64 -P 16 -d 100 -n 400000)
echo "endpoint 127.0.0.1:$port; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cpu() { local t=0; for p in $pids; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
ticks=$(getconf CLK_TCK)
before=$(cpu)
redis-benchmark -p "$port" -q "${args[@]}" 2>&1 | tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$'
echo "replica CPU: $(awk -v t=$(( $(cpu) - before )) -v hz="$ticks" 'BEGIN{printf "%.2f", t/hz}') s (user+system, all three processes)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
