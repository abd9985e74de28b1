#!/usr/bin/env bash
# Writes link/hot-functions.txt: the functions of the release server that starting and serving
# requests run, hottest first. build.rs hands the list to the linker (lld's
# --symbol-ordering-file), which places these functions together at the start of the code, so
# the server maps in a few MiB of code instead of most of the binary. Run it after large changes
# to the request path (a missing or renamed function only costs locality, never correctness).
# Needs: perf (as root or with perf_event_paranoid <= 1), python3, curl. Takes about 30 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=4789
server=target/release/codepipeline-local

# Functions on the sampled stacks of a recording, most often seen first.
functions() {
    perf script -i "$1" --no-demangle -F ip,sym,dso 2>/dev/null |
        awk '/codepipeline-local\)$/ && $2 != "[unknown]" {print $2}' |
        sort | uniq -c | sort -rn | awk '{print $2}'
}

cargo build --release
nm -S "$server" > "$work/release.nm"

# Serving: a mix of requests (scripts/request-mix.py), sampled every 5 µs of CPU.
perf record -q -e cpu-clock -c 5000 --call-graph dwarf,2048 -o "$work/serve.data" -- \
    "$server" --listen "127.0.0.1:$port" --log-level warn >/dev/null 2>&1 &
recorder=$!
sleep 1
python3 scripts/request-mix.py "$port" 600
pkill -INT -f "codepipeline-local --listen 127.0.0.1:$port" || true
wait "$recorder" || true
functions "$work/serve.data" > "$work/hot.txt"

# Starting: 25 starts, each answering one request (the first one parses the service model).
for i in $(seq 1 25); do
    perf record -q -e cpu-clock -c 2000 --call-graph dwarf,4096 -o "$work/start-$i.data" -- \
        "$server" --listen "127.0.0.1:$port" --log-level warn >/dev/null 2>&1 &
    recorder=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.01; done
    curl -fs -o /dev/null -H 'X-Amz-Target: CodePipeline_20150709.ListPipelines' \
        -H 'Content-Type: application/x-amz-json-1.1' -d '{}' "http://127.0.0.1:$port/"
    pkill -INT -f "codepipeline-local --listen 127.0.0.1:$port" || true
    wait "$recorder" || true
done
for i in $(seq 1 25); do functions "$work/start-$i.data"; done | awk '!seen[$0]++' >> "$work/hot.txt"

# The benchmark's build of the server has other symbol hashes: list its names too.
cargo bench --bench compare --no-run
nm -S "$server" > "$work/bench.nm"
python3 scripts/resolve-hot-functions.py "$work/hot.txt" "$work/release.nm" "$work/bench.nm" \
    > link/hot-functions.txt
wc -l link/hot-functions.txt
