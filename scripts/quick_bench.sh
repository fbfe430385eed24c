#!/usr/bin/env bash
# A quick throughput check of both doors (not the benchmark of record: that
# is issue #12's). Needs wrk. On the embedded default, or on PostgreSQL with
# DB_URL set to a database holding the demo data (deno task seed <url>).
# Usage: [DB_URL=...] scripts/quick_bench.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-50}
port=${PORT:-18080}
export WRK_KEY=bench-key-0123456789abcdef
# The rate limit would otherwise answer most of the run with 429.
API_KEY_PRIMARY=$WRK_KEY PORT=$port LOG_LEVEL=warning RATE_LIMIT_RPM=1000000 MAX_CONCURRENT_CALLS_PER_KEY=100000 deno run --allow-net --allow-env main.ts >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done

run() {
  echo "== $1"
  WRK_BODY=$3 wrk -t1 -c"$conns" -d"${secs}s" --latency -s scripts/wrk/post.lua "http://127.0.0.1:$port$2" |
    grep -E "Requests/sec|99%|50%|non-200|Non-2xx"
}
run "REST get_top_customers" /v1/mcp/get_top_customers '{"limit":10}'
run "MCP  get_top_customers" /mcp '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_top_customers","arguments":{"limit":10}}}'
run "REST lookup_customer" /v1/mcp/lookup_customer '{"id":42}'
run "MCP  lookup_customer" /mcp '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup_customer","arguments":{"id":42}}}'
run "REST get_customer (upstream)" /v1/mcp/get_customer '{"customer_id":42}'
run "MCP  get_customer (upstream)" /mcp '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_customer","arguments":{"customer_id":42}}}'
run "MCP  tools/list" /mcp '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
