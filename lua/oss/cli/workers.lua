-- Worker processes of the same program, each given a file and a group of buckets, reporting on one shared pipe with
-- a line per event (tab-separated fields). Processes, not coroutines: the libcurl transport blocks, so only separate
-- processes overlap requests.

local data_chunk = require "oss.data_chunk"
local text_writer = require "oss.cli.text_writer"

local workers = {
  -- A worker's exit status when it reported its failures itself; any other non-zero status means it crashed.
  REPORTED_FAILURE = 5,
}

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

--- A text as one protocol field: no tab or line break.
function workers.field(text)
  return (tostring(text):gsub("[%c]", " "))
end

--- Writes one event line on `output` and flushes it, so the parent sees it at once.
function workers.write_line(output, fields)
  output:write(table.concat(fields, "\t"), "\n")
  output:flush()
end

local function parse_line(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = field end
  return fields
end

-- Buckets dealt round-robin over at most `jobs` groups.
local function groups_of(buckets, jobs)
  local groups = {}
  for index, bucket in ipairs(buckets) do
    local slot = (index - 1) % jobs + 1
    groups[slot] = groups[slot] or {}
    table.insert(groups[slot], bucket)
  end
  return groups
end

local function command(program, subcommand, file, groups)
  local parts = {}
  for _, group in ipairs(groups) do
    local words = {}
    for _, word in ipairs(program) do words[#words + 1] = shell_quote(word) end
    words[#words + 1], words[#words + 2] = subcommand, shell_quote(file)
    for _, bucket in ipairs(group) do words[#words + 1] = shell_quote(bucket) end
    parts[#parts + 1] = "( " .. table.concat(words, " ") .. '; echo "exit\t$?" ) &'
  end
  return table.concat(parts, " ") .. " wait"
end

--- Runs `program subcommand FILE bucket...` (program: the words that start this CLI) in up to `jobs` processes,
--- FILE holding `document` as Lua; calls on_line(fields) for each line they print. -> number of processes that died without reporting
function workers.run(program, subcommand, jobs, document, buckets, on_line)
  local file_name = os.tmpname()
  local file = assert(io.open(file_name, "wb"))
  file:write(text_writer.write("lua", nil, document))
  file:close()
  local pipe = assert(io.popen(command(program, subcommand, file_name, groups_of(buckets, jobs)), "r"))
  local crashed = 0
  for line in pipe:lines() do
    local fields = parse_line(line)
    if fields[1] == "exit" then
      if fields[2] ~= "0" and fields[2] ~= tostring(workers.REPORTED_FAILURE) then crashed = crashed + 1 end
    else
      on_line(fields)
    end
  end
  pipe:close()
  os.remove(file_name)
  return crashed
end

--- Worker side: the document the parent wrote (data only: loaded with an empty environment).
function workers.load(file_name)
  local chunk = assert(data_chunk.load_file(file_name))
  return chunk()
end

return workers
