-- wrk script: replays the signed PutBucketInventory request the bench fixtures wrote (the throughput limit).

-- The fixtures directory comes from BENCH_FIXTURES: body.xml and request_headers.txt ("Name: value" lines).

-- luacheck: globals wrk (the table wrk gives its scripts)

local directory = assert(os.getenv("BENCH_FIXTURES"), "set BENCH_FIXTURES to the bench fixtures directory")

local function read_all(path)
  local file = assert(io.open(path, "rb"))
  local bytes = file:read("*a")
  file:close()
  return bytes
end

wrk.method = "PUT"
wrk.body = read_all(directory .. "/body.xml")
for line in read_all(directory .. "/request_headers.txt"):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+): (.*)$")
  wrk.headers[name] = value
end
