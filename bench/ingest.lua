-- wrk script: letters through the API, each with a 50 KB PDF, to random residents, each with a
-- sender_ref of its own (BODY_DIR holds pdf.b64, recipients.txt and token.txt).
local dir = os.getenv("BODY_DIR")
local pdf = io.open(dir .. "/pdf.b64"):read("*a")
local token = io.open(dir .. "/token.txt"):read("*l")
local recipients = {}
for line in io.lines(dir .. "/recipients.txt") do recipients[#recipients + 1] = line end
local counter = 0
local thread_id = 0

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

request = function()
  counter = counter + 1
  local to = recipients[math.random(#recipients)]
  local body = string.format(
    '{"sender_ref":"bench-%s-%d-%d","recipient":{"fodselsnummer":"%s"},"title":"Vedtak","sender_unit":"Byggesak",' ..
    '"body":"Vedtaket ligger ved.","documents":[{"filename":"vedtak.pdf","mime_type":"application/pdf","content_base64":"%s"}]}',
    os.getenv("RUN") or "0", tid or 0, counter, to, pdf)
  return wrk.format("POST", "/api/v1/letters",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
