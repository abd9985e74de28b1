#!/usr/bin/env bash
# Writes link/hot-functions.txt: the functions of the release server that serving requests
# runs, hottest first. build.rs hands the list to the linker (lld's --symbol-ordering-file),
# which places these functions together at the start of the code, so the server maps in a
# few MiB of code instead of most of the binary. Run it after large changes to the request
# path (a missing or renamed function only costs locality, never correctness).
# Needs: perf (run as root or with perf_event_paranoid <= 1), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
port=4789
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
perf record -e cpu-clock -c 5000 --call-graph dwarf,2048 -o "$work/perf.data" -- \
    target/release/codepipeline-local --listen "127.0.0.1:$port" --log-level warn >/dev/null 2>&1 &
recorder=$!
sleep 1
python3 scripts/request-mix.py "$port" 600
pkill -INT -f "codepipeline-local --listen 127.0.0.1:$port" || true
wait "$recorder" || true
perf script -i "$work/perf.data" --no-demangle -F ip,sym,dso 2>/dev/null |
    awk '/codepipeline-local\)$/ && $2 != "[unknown]" {print $2}' |
    sort | uniq -c | sort -rn | awk '{print $2}' > link/hot-functions.txt
wc -l link/hot-functions.txt
