-- Loads Lua source that describes data (a rules file, a desired state, a configuration) with an empty
-- environment, so it gets no access to the machine, the same way on Lua 5.1 to 5.4 and LuaJIT.

local file = require "oss.file"

local data_chunk = {}

--- -> function | nil, message. Precompiled chunks are refused: only source text is data one can read.
function data_chunk.load(text, chunk_name)
  if text:byte(1) == 27 then return nil, chunk_name:gsub("^[@=]", "") .. ": precompiled chunks are refused" end
  if setfenv then
    local chunk, message = loadstring(text, chunk_name)
    if not chunk then return nil, message end
    return setfenv(chunk, {})
  end
  return load(text, chunk_name, "t", {})
end

--- -> function | nil, message
function data_chunk.load_file(path)
  local text, message = file.read(path)
  if not text then return nil, message end
  return data_chunk.load(text, "@" .. path)
end

return data_chunk
