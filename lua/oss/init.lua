-- lua-oss: Alibaba Cloud OSS bucket inventory rules from Lua, LuaJIT and OpenResty.

local Client = require "oss.client"
require "oss.inventory" -- adds the inventory operations to Client

return {
  VERSION = Client.VERSION,
  new = Client.new,
  errors = require "oss.errors",
}
