-- Replaces a file atomically and durably: temporary file beside it, fsync, rename over, fsync the directory.
local M = {}

-- LuaJIT's FFI reaches fsync(2), which plain Lua cannot; without it the rename is still atomic, only not durable.
local posix
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    pcall(ffi.cdef, [[
      int open(const char *path, int flags, ...);
      int fsync(int fd);
      int close(int fd);
      int getpid(void);
    ]])
    posix = ffi.C
  end
end

local O_RDONLY = 0

local function sync(path)
  if not posix then
    return true
  end
  local fd = posix.open(path, O_RDONLY)
  if fd < 0 then
    return nil, "cannot open " .. path .. " to sync it"
  end
  local synced = posix.fsync(fd) == 0
  posix.close(fd)
  if not synced then
    return nil, "fsync of " .. path .. " failed"
  end
  return true
end

local function directory_of(path)
  return path:match("^(.*)/[^/]*$") or "."
end

local counter = 0

local function temporary_name(path)
  counter = counter + 1
  local pid = posix and posix.getpid() or math.random(1, 1e9)
  return string.format("%s.tmp-%d-%d", path, pid, counter)
end

function M.write(path, bytes)
  local temporary = temporary_name(path)
  local file, message = io.open(temporary, "wb")
  if not file then
    return nil, message
  end
  local written, write_message = file:write(bytes)
  local closed, close_message = file:close()
  local ok, sync_message = true, nil
  if written and closed then
    ok, sync_message = sync(temporary)
  end
  if not (written and closed and ok) then
    os.remove(temporary)
    return nil, write_message or close_message or sync_message
  end
  local renamed, rename_message = os.rename(temporary, path)
  if not renamed then
    os.remove(temporary)
    return nil, rename_message
  end
  -- The rename is only durable once the directory entry is on disk too.
  return sync(directory_of(path))
end

function M.read(path)
  local file = io.open(path, "rb")
  if not file then
    return nil
  end
  local bytes = file:read("*a")
  file:close()
  return bytes
end

return M
