# Sourced by the scripts beside it: starts `vsr cluster` (3 replica processes, durable storage in
# a temporary directory) and sets $port (replica 0's RESP port), $ports (every replica's, in index
# order) and $pids (the replica processes).
# The cluster stops and the directory goes when the sourcing script exits.
vsr=src/Viewstamped.Cli/bin/Release/net10.0/vsr.dll
[ -f "$vsr" ] || dotnet build src/Viewstamped.Cli -c Release >/dev/null
dir=$(mktemp -d)
out="$dir/cluster.out"
mkfifo "$dir/stdin"
dotnet "$vsr" cluster --data "$dir/data" <"$dir/stdin" >"$out" 2>"$dir/cluster.err" &
cluster=$!
exec 3>"$dir/stdin" # the cluster stops when this closes
# With CLUSTER_LOG=FILE, the replicas' logs (checkpoint timings, view changes) are kept in FILE.
trap 'exec 3>&-; wait $cluster 2>/dev/null; if [ -n "${CLUSTER_LOG:-}" ]; then cp "$dir/cluster.err" "$CLUSTER_LOG"; fi; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q '^ready' "$out" && break; sleep 0.2; done
ports=$(grep -o 'redis-cli -p [0-9]*' "$out" | awk '{print $3}' | paste -sd' ')
port=${ports%% *}
pids=$(grep -o 'pid [0-9]*' "$out" | awk '{print $2}')
