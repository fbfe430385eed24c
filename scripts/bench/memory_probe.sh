#!/usr/bin/env bash
# Where a server's memory goes: starts scripts/bench/app_server.ts on the
# benchmark database, prints its RSS and /proc/<pid>/smaps by kind of mapping
# idle, right after 6 s of wrk -c50 on one primary-key lookup over /mcp, and
# 10 s later. (V8's heap pages are the "rw-p anon<1MB" mappings; other
# threads' malloc arenas are the "rw-p anon1-60MB" ones.)
# Usage: scripts/bench/memory_probe.sh [V8FLAGS] [tools-file|code]
#   default: the compile task's --v8-flags, with the benchmark's tools file.
#   Needs the database mcp_bench (scripts/bench.ts creates it) and wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
v8=${1:-$(grep -o '"compile": "deno compile [^ ]*' deno.json | grep -o -- '--v8-flags=[^ "]*')}
mode=${2:-tools-file}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
extra=()
tool=lookup_customer
if [ "$mode" = tools-file ]; then
  extra=(TOOLS_FILE=scripts/bench/tools.yaml)
  tool=file_lookup_customer
fi
env API_KEY_PRIMARY=bench-key-0123456789abcdef PORT="$port" LOG_LEVEL=error \
  DB_URL="${DB_URL:-postgres://postgres@127.0.0.1:5432/mcp_bench}" \
  RATE_LIMIT_RPM=1000000 RATE_LIMIT_WINDOW_SECONDS=1 MAX_CONCURRENT_CALLS_PER_KEY=100000 \
  "${extra[@]}" deno run -A "$v8" scripts/bench/app_server.ts >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 150); do grep -q listening "$log" && break; sleep 0.1; done
grep -q listening "$log" || { cat "$log" >&2; exit 1; }
report() {
  echo "$1: $(grep -E '^(VmRSS|RssAnon|RssFile)' "/proc/$server/status" | awk '{printf "%s %d MB  ", $1, $2 / 1024}')"
  python3 - "$server" <<'PY'
import re, sys
agg, key = {}, ""
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if m:
        size = (int(m.group(2), 16) - int(m.group(1), 16)) >> 20
        name = m.group(4) or ("anon>=60MB" if size >= 60 else "anon1-60MB" if size >= 1 else "anon<1MB")
        key = f"{m.group(3)} {name.split('/')[-1]}"
        continue
    r = re.match(r"^Rss:\s+(\d+)", line)
    if r:
        agg[key] = agg.get(key, 0) + int(r.group(1))
print("  " + " | ".join(f"{v // 1024} MB {k}" for k, v in sorted(agg.items(), key=lambda x: -x[1]) if v > 2048))
PY
}
report idle
body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$tool\",\"arguments\":{\"id\":42}}}"
WRK_BODY="$body" WRK_EXPECT='"id":42' WRK_KEY=bench-key-0123456789abcdef WRK_SESSION="" WRK_HEADERS="" \
  wrk -t1 -c50 -d6s -s scripts/wrk/load.lua "http://127.0.0.1:$port/mcp" | grep '^LOAD'
report "after the load"
sleep 10
report "10 s later"
