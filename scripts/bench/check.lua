-- wrk script for scripts/bench.ts: POST $WRK_BODY with the MCP headers and a
-- Bearer key, and count every answer that is not 200 or whose body lacks
-- $WRK_EXPECT as wrong. Counters live per thread; done() sums them.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
local key = os.getenv("WRK_KEY") or ""
if key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
local expect = os.getenv("WRK_EXPECT") or ""

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

wrong = 0
sample = ""
response = function(status, headers, body)
  if status ~= 200 or (expect ~= "" and not string.find(body, expect, 1, true)) then
    wrong = wrong + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 200) end
  end
end

done = function(summary, latency, requests)
  local total, first = 0, ""
  for _, t in ipairs(threads) do
    total = total + t:get("wrong")
    if first == "" then first = t:get("sample") end
  end
  io.write(string.format("RESULT %d %.1f %.3f %.3f %d %s\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, total, first))
end
