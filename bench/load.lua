-- wrk script: every request goes out with a random logged-in resident's session cookie, to the
-- page named by the PAGE environment variable (dashboard, inbox or letter).
local sessions = {}
local page = os.getenv("PAGE") or "dashboard"
for line in io.lines(os.getenv("SESSIONS")) do
  local cookie, letter = line:match("([^\t]+)\t(.+)")
  sessions[#sessions + 1] = { cookie = cookie, letter = letter }
end
math.randomseed(os.time())

request = function()
  local s = sessions[math.random(#sessions)]
  local path = "/min-side"
  if page == "inbox" then path = "/min-side/meldinger" elseif page == "letter" then path = s.letter end
  return wrk.format("GET", path, { ["Cookie"] = s.cookie })
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50=%.3f p90=%.3f p99=%.3f max=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
