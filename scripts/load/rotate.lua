-- wrk: every request carries the session cookie of the next organisation
-- (tokens.txt, one per line, from seed.sql's md5('load-session-' || n)),
-- and goes to the path in $LOAD_PATH. Each thread starts at its own offset
-- so 200 connections spread over all 1,000 organisations. The summary adds
-- the latency percentiles and the non-2xx count in a form the script greps.
local tokens = {}
local path = os.getenv("LOAD_PATH") or "/api/v1/messages"
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("LOAD_TOKENS") or "tokens.txt") do
    if #line == 32 then table.insert(tokens, line) end
  end
  counter = id * 97
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  return wrk.format("GET", path, { ["Cookie"] = "sentra_session=" .. token })
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT path=%s requests=%d non2xx=%d socket_errors=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f rps=%.0f\n",
    path, summary.requests, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests / (summary.duration / 1e6)))
end
