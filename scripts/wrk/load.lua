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

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local expect = os.getenv("WRK_EXPECT") or ""
non2xx = 0
wrong = 0
sample = nil

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if sample == nil then sample = status .. " " .. string.sub(body or "", 1, 300) end
  elseif not string.find(body or "", expect, 1, true) then
    wrong = wrong + 1
    if sample == nil then sample = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

local function quote(s)
  s = string.gsub(string.gsub(string.gsub(s, "%c", " "), "\\", "\\\\"), '"', '\\"')
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local n2, w, first = 0, 0, nil
  for _, t in ipairs(threads) do
    n2 = n2 + t:get("non2xx")
    w = w + t:get("wrong")
    first = first or t:get("sample")
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
