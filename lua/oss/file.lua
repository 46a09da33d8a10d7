-- Reading a whole file, the one way every module does it.

local file = {}

--- read(path) -> the file's bytes | nil, message (the system's, naming the path)
function file.read(path)
  local handle, message = io.open(path, "rb")
  if not handle then return nil, message end
  local bytes, read_message = handle:read("*a")
  handle:close()
  if not bytes then return nil, path .. ": " .. tostring(read_message) end
  return bytes
end

return file
