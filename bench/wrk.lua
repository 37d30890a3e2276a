-- wrk script for `make bench` (bench/run.py): prints one JSON line of results, and for the
-- submission benchmarks builds each request with a unique one-time form token or
-- Idempotency-Key, so that every request registers a new observation.
--   BENCH_KIND   get (default) | form | api
--   BENCH_CSRF   the CSRF token of the logged-in session (form)
--   BENCH_RUN    a prefix making the tokens unique across runs
local kind = os.getenv("BENCH_KIND") or "get"
local csrf = os.getenv("BENCH_CSRF") or ""
local run = os.getenv("BENCH_RUN") or "run"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

if kind ~= "get" then
  local counter = 0
  function request()
    counter = counter + 1
    local unique = run .. "-" .. tid .. "-" .. counter
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    local body
    if kind == "form" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      body = "csrf_token=" .. csrf .. "&form_token=" .. unique ..
        "&kind=observation&title=Osservazione+" .. unique ..
        "&body=Testo+dell%27osservazione+inviata+dal+banco+di+prova.&action=submit"
    else
      headers["Content-Type"] = "application/json"
      headers["Idempotency-Key"] = unique
      body = '{"title": "Osservazione ' .. unique ..
        '", "text": "<p>Testo inviato dal protocollo.</p>"}'
    end
    return wrk.format("POST", nil, headers, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
