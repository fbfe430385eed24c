#!/usr/bin/env bash
# CPU time the server listening on PORT spends per request under wrk -c50,
# from /proc/<pid>/stat before and after: steadier than req/s on a shared,
# noisy machine (less affected by who else runs; still about ±10%).
# Usage: scripts/bench/cpu_per_request.sh PORT [PATH] [SECONDS] [LUA]
#   default PATH /mcp, 4 s, an MCP tools/call of "noop" with the bench key.
set -euo pipefail
port=$1
path=${2:-/mcp}
secs=${3:-4}
lua=${4:-}
if [ -z "$lua" ]; then
  lua=$(mktemp --suffix=.lua)
  trap 'rm -f "$lua"' EXIT
  cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"noop","arguments":{}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer bench-key-0123456789abcdef"
LUA
fi
pid=$(ss -ltnp | grep ":$port " | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[ -n "$pid" ] || { echo "nothing listens on port $port" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks)
out=$(wrk -t1 -c50 -d"${secs}s" -s "$lua" "http://127.0.0.1:$port$path")
t1=$(ticks)
n=$(echo "$out" | awk '/requests in/ {print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
hz=$(getconf CLK_TCK)
awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$n" -v rps="$rps" -v bad="${non2xx:-0}" \
  'BEGIN { printf "%s req/s  %.1f µs CPU per request  non-2xx %s\n", rps, t * 1e6 / hz / n, bad }'
