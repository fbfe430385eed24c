-- wrk script: POST $WRK_BODY to the given URL with a Bearer key and the MCP
-- Accept header; counts answers that are not 200 as errors. The counter lives
-- in each thread's Lua state, so done() sums it through the thread objects.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WRK_KEY") or "")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

non200 = 0
response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("non200") end
  io.write(string.format("non-200: %d\n", total))
end
