-- A one-line progress display on a terminal's stderr, rewritten in place; silent when stderr is not a terminal.

local progress = {}
progress.__index = progress

--- True when file descriptor 2 is a terminal (asked of the shell: plain Lua has no isatty).
function progress.stderr_is_terminal()
  local result = os.execute("test -t 2")
  return result == true or result == 0
end

--- A progress line for `total` steps; `enabled` false makes every call a no-op.
function progress.new(total, enabled, output)
  return setmetatable({ total = total, done = 0, failed = 0, enabled = enabled, output = output or io.stderr },
    progress)
end

function progress:step(failed, label)
  self.done = self.done + 1
  if failed then self.failed = self.failed + 1 end
  if not self.enabled then return end
  local text = ("apply: %d/%d%s  %s"):format(self.done, self.total,
    self.failed > 0 and (" (%d failed)"):format(self.failed) or "", label)
  -- \r returns to the line start and ESC[K clears what a longer previous line left.
  self.output:write("\r\27[K", text)
  self.output:flush()
end

--- Clears the line, so that other output starts at the beginning of a clean one; step() draws it again.
function progress:clear()
  if self.enabled and self.done > 0 then
    self.output:write("\r\27[K")
    self.output:flush()
  end
end

progress.finish = progress.clear

return progress
