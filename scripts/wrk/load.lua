-- wrk script for scripts/load.ts: POSTs $WRK_BODY with a Bearer key and the MCP
-- Accept header, checks EVERY response body for the substring $WRK_EXPECT, and
-- prints one JSON line (prefix "LOAD ") with the counts and latency percentiles.
-- Counters live in each thread's own Lua state: done() reads them through the
-- thread objects setup() kept (a plain global would always read 0 there).
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WRK_KEY") or "")
-- $WRK_HEADERS: more headers, one "Name: value" a line (a 2026-07-28 request's
-- MCP-Protocol-Version, Mcp-Method and Mcp-Name).
for line in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local expect = os.getenv("WRK_EXPECT") or ""
non2xx = 0
wrong = 0
sample = nil

-- WRK_SESSION=1: what an MCP client session sends, one message per request
-- in turn: initialize, the initialized notification, tools/list, and
-- $WRK_BODY. A thread's connections interleave, so a reply cannot be matched
-- to its message; each must be a right answer to one of the four (202 with
-- no body, the initialize result, the tool list, or $WRK_EXPECT), and done()
-- adds one wrong for each kind that came back in fewer than a fifth of replies.
local session = (os.getenv("WRK_SESSION") or "") ~= ""
kinds = { 0, 0, 0, 0 }
if session then
  local messages = {
    '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
      .. '"capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}',
    '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    wrk.body,
  }
  local requests, sent = {}, 0
  function init()
    for i, m in ipairs(messages) do requests[i] = wrk.format(nil, nil, nil, m) end
  end
  function request()
    sent = sent % #requests + 1
    return requests[sent]
  end
end

local function kind(status, body)
  if status == 202 and body == "" then return 2 end
  if status ~= 200 then return nil end
  if string.find(body, '"protocolVersion"', 1, true) then return 1 end
  if string.find(body, '"tools":[', 1, true) then return 3 end
  if string.find(body, expect, 1, true) then return 4 end
  return nil
end

function response(status, headers, body)
  body = body or ""
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if sample == nil then sample = status .. " " .. string.sub(body, 1, 300) end
  elseif session then
    local k = kind(status, body)
    if k then
      kinds[k] = kinds[k] + 1
    else
      wrong = wrong + 1
      if sample == nil then sample = status .. " " .. string.sub(body, 1, 300) end
    end
  elseif not string.find(body, expect, 1, true) then
    wrong = wrong + 1
    if sample == nil then sample = status .. " " .. string.sub(body, 1, 300) end
  end
end

local function quote(s)
  s = string.gsub(string.gsub(string.gsub(s, "%c", " "), "\\", "\\\\"), '"', '\\"')
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local n2, w, first = 0, 0, nil
  local counted = { 0, 0, 0, 0 }
  for _, t in ipairs(threads) do
    n2 = n2 + t:get("non2xx")
    w = w + t:get("wrong")
    first = first or t:get("sample")
    local k = t:get("kinds")
    for i = 1, 4 do counted[i] = counted[i] + k[i] end
  end
  if session then
    for i = 1, 4 do
      if counted[i] < summary.requests / 5 then
        w = w + 1
        first = first or ("message " .. i .. " of the session answered " .. counted[i] .. " times")
      end
    end
  end
  local e = summary.errors
  io.write(string.format(
    'LOAD {"requests":%d,"duration_us":%d,"non2xx":%d,"wrong":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"sample":%s}\n',
    summary.requests, summary.duration, n2, w,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, first and quote(first) or "null"))
end
