-- The last N requests the emulator received, exactly as they arrived, for specs that check what a client sent.
local Journal = {}
Journal.__index = Journal

local M = {}

function M.new(capacity)
  return setmetatable({ capacity = capacity, entries = {}, first = 1, count = 0 }, Journal)
end

function Journal:add(entry)
  local slot = (self.first + self.count - 1) % self.capacity + 1
  self.entries[slot] = entry
  if self.count < self.capacity then
    self.count = self.count + 1
  else
    self.first = self.first % self.capacity + 1
  end
end

-- Oldest first; at most `limit` of the newest when a limit is given.
function Journal:list(limit)
  local skip = (limit and limit < self.count) and (self.count - limit) or 0
  local list = {}
  for index = skip, self.count - 1 do
    list[#list + 1] = self.entries[(self.first + index - 1) % self.capacity + 1]
  end
  return list
end

function Journal:clear()
  self.entries, self.first, self.count = {}, 1, 0
end

return M
