#!/usr/bin/env bash
# redis-benchmark against one RESP endpoint of a local 3-replica cluster (durable storage, fsync
# before every acknowledgement). Usage: bench/scripts/resp-throughput.sh [redis-benchmark args...]
# Default: -t set,get -c 64 -P 16 -d 100 -n 400000. Prints the machine's load before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
vsr=src/Viewstamped.Cli/bin/Release/net10.0/vsr.dll
[ -f "$vsr" ] || dotnet build src/Viewstamped.Cli -c Release >/dev/null
dir=$(mktemp -d)
out="$dir/cluster.out"
fifo="$dir/stdin"
mkfifo "$fifo"
dotnet "$vsr" cluster --data "$dir/data" <"$fifo" >"$out" 2>"$dir/cluster.err" &
cluster=$!
exec 3>"$fifo" # the cluster stops when this closes
trap 'exec 3>&-; wait $cluster 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q '^ready' "$out" && break; sleep 0.2; done
port=$(grep -m1 -o 'redis-cli -p [0-9]*' "$out" | awk '{print $3}')
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-t set,get -c 64 -P 16 -d 100 -n 400000)
echo "endpoint 127.0.0.1:$port; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
redis-benchmark -p "$port" -q "${args[@]}" 2>&1 | tr '\r' '\n' | grep -v 'rps=' | grep -v '^$'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
