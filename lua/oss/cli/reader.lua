-- Reads the rules every bucket of a desired state has now: in this process, or in up to --jobs worker processes at
-- once. The answers come back in the buckets' order whatever order the workers finish in.

local documents = require "oss.cli.documents"
local workers = require "oss.cli.workers"

local reader = {}

-- A read failure as the caller prints it: its text, and what diagnosis needs (code and the answer's Endpoint).
local function failure_of(err)
  local details = type(err) == "table" and type(err.details) == "table" and err.details or {}
  return { text = tostring(err), code = type(err) == "table" and err.code or nil, endpoint = details.Endpoint }
end

--- Every rule of one bucket, all pages. -> rules | nil, failure { text, code, endpoint }
function reader.rules(client, bucket)
  local rules = {}
  for rule, err in client:each_bucket_inventory(bucket) do
    if not rule then return nil, failure_of(err) end
    rules[#rules + 1] = rule
  end
  return rules
end

-- The rules go to a file of their own, named by the parent: a line longer than the pipe's atomic write (PIPE_BUF)
-- could interleave with another worker's.
local function write_rules(path, rules)
  local file = assert(io.open(path, "wb"))
  assert(file:write(documents.write("json", "rules", rules)))
  assert(file:close())
end

--- Worker side: reads the given buckets; for each, writes its rules as JSON to the file the parent named and prints
--- "rules", bucket; or prints "failed", bucket, text, code, endpoint. -> exit code
function reader.worker(file_name, buckets, client_for)
  local document = workers.load(file_name)
  local failed = false
  for _, bucket in ipairs(buckets) do
    local client, err = client_for(document.settings[bucket])
    local rules, failure
    if client then rules, failure = reader.rules(client, bucket) else failure = failure_of(err) end
    if rules then
      write_rules(document.answers[bucket], rules)
      workers.write_line(io.stdout, { "rules", bucket })
    else
      failed = true
      workers.write_line(io.stdout, { "failed", bucket, workers.field(failure.text), failure.code or "",
        failure.endpoint or "" })
    end
  end
  return failed and workers.REPORTED_FAILURE or 0
end

local function read_answer(path)
  local file, problem = io.open(path, "rb")
  if not file then return nil, problem end
  local text = file:read("*a")
  file:close()
  os.remove(path)
  return documents.parse(text, "rules.json")
end

local function blank_to_nil(text)
  if text == "" then return nil end
  return text
end

local function read_in_workers(entries, options)
  local base = os.tmpname()
  local settings, answers, buckets, results = {}, {}, {}, {}
  for index, entry in ipairs(entries) do
    settings[entry.bucket] = entry.settings
    answers[entry.bucket] = ("%s.%d.json"):format(base, index)
    buckets[#buckets + 1] = entry.bucket
  end
  local crashed = workers.run(options.program, "_read-worker", options.jobs, { settings = settings, answers = answers },
    buckets, function(fields)
      if fields[1] == "rules" then
        local document, problem = read_answer(answers[fields[2]])
        results[fields[2]] = document and { rules = document.value }
          or { failure = { text = "unreadable answer from a reader process: " .. tostring(problem) } }
      elseif fields[1] == "failed" then
        results[fields[2]] = { failure = { text = fields[3], code = blank_to_nil(fields[4]),
          endpoint = blank_to_nil(fields[5]) } }
      end
    end)
  os.remove(base)
  local out = {}
  for index, entry in ipairs(entries) do
    if not results[entry.bucket] then os.remove(answers[entry.bucket]) end
    out[index] = results[entry.bucket] or { failure = {
      text = ("the reader process stopped without answering (%d stopped)"):format(crashed) } }
  end
  return out
end

--- The current rules of each entry ({ bucket, settings }), in the entries' order: { { rules } | { failure } }.
--- options = { jobs, program (to start workers from; nil reads in this process), client_for(settings) }
function reader.read_all(entries, options)
  if options.jobs > 1 and #entries > 1 and options.program then return read_in_workers(entries, options) end
  local out = {}
  for index, entry in ipairs(entries) do
    local rules, failure = reader.rules(assert(options.client_for(entry.settings)), entry.bucket)
    out[index] = rules and { rules = rules } or { failure = failure }
  end
  return out
end

return reader
