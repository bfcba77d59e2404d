-- wrk script of bench/profile_page.py: POSTs prepared JSON bodies (one per line of the file
-- given after `--`), rotating over them, each thread from its own offset; prints one
-- machine-readable result line at the end. Latencies are in microseconds.
local bodies_file = nil
local requests = {}
local index = 0
local thread_count = 0

function setup(thread)
  thread:set("thread_number", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  bodies_file = args[1]
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(bodies_file) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", wrk.path, headers, line)
    end
  end
  index = ((thread_number or 0) * 7919) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, _requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d " ..
    "status=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
