-- Deep comparison for the fuzz scripts: where two values differ (types, integer subtypes, keys, values), or nil.

local function difference(a, b, path)
  if type(a) ~= type(b) then
    return ("%s: %s against %s"):format(path, type(a), type(b))
  end
  if type(a) ~= "table" then
    if math.type(a) ~= math.type(b) or a ~= b then
      return ("%s: %q against %q"):format(path, tostring(a), tostring(b))
    end
    return nil
  end
  for key, value in pairs(a) do
    local found = difference(value, b[key], path .. "." .. tostring(key))
    if found then return found end
  end
  for key in pairs(b) do
    if a[key] == nil then
      return ("%s.%s: only in the second"):format(path, tostring(key))
    end
  end
  return nil
end

return difference
