-- wrk script: what an MCP client session sends, one message per request in
-- turn on each connection: initialize, notifications/initialized, tools/list,
-- tools/call of the tool in $WRK_TOOL (default "noop") with $WRK_ARGS (default
-- {}), with the bench key; prints how many replies were 200, 202 and other.
-- Light on wrk's own CPU, for cpu_per_request.sh; bench.ts's session workload
-- (wrk/load.lua with WRK_SESSION=1) sends the same and checks every reply body.
--   scripts/bench/cpu_per_request.sh PORT /mcp 4 scripts/bench/session.lua
local key = os.getenv("WRK_KEY") or "bench-key-0123456789abcdef"
local tool = os.getenv("WRK_TOOL") or "noop"
local args = os.getenv("WRK_ARGS") or "{}"
local headers = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json, text/event-stream",
  ["Authorization"] = "Bearer " .. key,
}
local messages = {
  '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    .. '"capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}',
  '{"jsonrpc":"2.0","method":"notifications/initialized"}',
  '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"' .. tool
    .. '","arguments":' .. args .. '}}',
}

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local requests = {}
local sent = 0
ok, accepted, other = 0, 0, 0
function init()
  for i, m in ipairs(messages) do requests[i] = wrk.format("POST", nil, headers, m) end
end
function request()
  sent = sent % #requests + 1
  return requests[sent]
end
-- A thread's connections interleave, so a reply cannot be matched to its
-- message here; the counts show it instead: a quarter 202 (the notification),
-- the rest 200, none other.
function response(status)
  if status == 200 then ok = ok + 1 elseif status == 202 then accepted = accepted + 1 else other = other + 1 end
end
function done()
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do a = a + t:get("ok"); b = b + t:get("accepted"); c = c + t:get("other") end
  io.write(string.format("200: %d, 202: %d, other: %d\n", a, b, c))
end
