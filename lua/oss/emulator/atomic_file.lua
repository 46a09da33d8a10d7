-- Replaces a file atomically and durably: temporary file beside it, fsync, rename over, fsync the directory.
local core = require "oss.core"
local files = require "oss.file"

local M = {}

-- LuaJIT's FFI reaches open(2) with O_EXCL and fsync(2), which plain Lua cannot; without it the temporary file's
-- name is still unguessable and the rename atomic, only not durable.
local posix, ffi_int
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    pcall(ffi.cdef, [[
      int open(const char *path, int flags, ...);
      int fsync(int fd);
      int close(int fd);
    ]])
    posix = ffi.C
    -- A Lua number passed to a variadic C function arrives as a double; open(2) reads its mode as an int.
    ffi_int = function(number) return ffi.new("int", number) end
  end
end

local O_RDONLY, O_WRONLY, O_CREAT, O_EXCL = 0, 1, 64, 128 -- Linux's values
local PRIVATE_MODE = 384 -- 0600

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

-- A name beside `path` no one can guess ahead of time, so nobody can plant a symlink there for the write to follow.
local function temporary_name(path)
  return path .. ".tmp-" .. core.hex(core.random_bytes(12))
end

-- Creates the temporary file, refusing one that exists already (O_EXCL, where the FFI reaches open(2)).
local function create(temporary)
  if posix then
    local fd = posix.open(temporary, O_WRONLY + O_CREAT + O_EXCL, ffi_int(PRIVATE_MODE))
    if fd < 0 then
      return nil, "cannot create " .. temporary .. " (it exists, or the folder is not writable)"
    end
    posix.close(fd)
  end
  return io.open(temporary, "wb")
end

function M.write(path, bytes)
  local temporary = temporary_name(path)
  local file, message = create(temporary)
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

M.read = files.read

return M
