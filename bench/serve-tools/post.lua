-- wrk script for bench/serve:  wrk -s post.lua URL -- BODY_FILE CONTENT_TYPE
-- Every request POSTs the same body. At the end, one line for the script to read:
-- "result requests_per_s p50_ms p99_ms errors" (errors: non-2xx answers plus socket errors).
function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.body = f:read("*a")
   f:close()
   wrk.method = "POST"
   wrk.headers["Content-Type"] = args[2]
end

function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format("result %.1f %.3f %.3f %d\n", summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      e.status + e.connect + e.read + e.write + e.timeout))
end
