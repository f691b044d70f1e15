#!/usr/bin/env bash
# redis-benchmark against one RESP endpoint of a local 3-replica cluster (durable storage, fsync
# before every acknowledgement). Usage: bench/scripts/resp-throughput.sh [redis-benchmark args...]
# Default: -t set,get -c 64 -P 16 -d 100 -n 400000. Prints the machine's load before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/scripts/local-cluster.sh
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-t set,get -c 64 -P 16 -d 100 -n 400000)
echo "endpoint 127.0.0.1:$port; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
redis-benchmark -p "$port" -q "${args[@]}" 2>&1 | tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
