-- lua-oss: Alibaba Cloud OSS bucket inventory rules from Lua, LuaJIT and OpenResty.

local Client = require "oss.client"
require "oss.inventory" -- adds the inventory operations to Client
require "oss.replace" -- adds replace_bucket_inventory, which never loses a rule

return {
  VERSION = Client.VERSION,
  new = Client.new,
  errors = require "oss.errors",
}
