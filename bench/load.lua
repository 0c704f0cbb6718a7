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

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
