-- lua-oss-emulator: a local OSS for the bucket inventory API, for demos, specs and CI (lua-http: LuaJIT, Lua 5.1-5.3).
rockspec_format = "3.0"
package = "lua-oss-emulator"
version = "scm-1"
source = {
  url = "git+https://github.com/lua-oss/lua-oss.git",
  branch = "main",
}
description = {
  summary = "A local Alibaba Cloud OSS emulator for the bucket inventory API",
  detailed = [[
Answers PutBucketInventory, GetBucketInventory, ListBucketInventory and DeleteBucketInventory as the service
does, verifies V1 and V4 signatures, keeps its state in a file if asked, and takes scripted faults on an admin
path, so that clients can be tested with no cloud account.]],
  homepage = "https://github.com/lua-oss/lua-oss",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1, < 5.4",
  "lua-oss = scm",
  "http >= 0.3",
  "argparse >= 0.6",
}
build = {
  type = "builtin",
  modules = {
    ["oss.emulator"] = "lua/oss/emulator/init.lua",
    ["oss.emulator.addressing"] = "lua/oss/emulator/addressing.lua",
    ["oss.emulator.admin"] = "lua/oss/emulator/admin.lua",
    ["oss.emulator.atomic_file"] = "lua/oss/emulator/atomic_file.lua",
    ["oss.emulator.auth"] = "lua/oss/emulator/auth.lua",
    ["oss.emulator.cli"] = "lua/oss/emulator/cli.lua",
    ["oss.emulator.clock"] = "lua/oss/emulator/clock.lua",
    ["oss.emulator.config"] = "lua/oss/emulator/config.lua",
    ["oss.emulator.errors"] = "lua/oss/emulator/errors.lua",
    ["oss.emulator.faults"] = "lua/oss/emulator/faults.lua",
    ["oss.emulator.form"] = "lua/oss/emulator/form.lua",
    ["oss.emulator.http_server"] = "lua/oss/emulator/http_server.lua",
    ["oss.emulator.inventory"] = "lua/oss/emulator/inventory.lua",
    ["oss.emulator.issued_credentials"] = "lua/oss/emulator/issued_credentials.lua",
    ["oss.emulator.journal"] = "lua/oss/emulator/journal.lua",
    ["oss.emulator.platform_metadata"] = "lua/oss/emulator/platform_metadata.lua",
    ["oss.emulator.platform_sts"] = "lua/oss/emulator/platform_sts.lua",
    ["oss.emulator.platform_uri"] = "lua/oss/emulator/platform_uri.lua",
    ["oss.emulator.region"] = "lua/oss/emulator/region.lua",
    ["oss.emulator.service"] = "lua/oss/emulator/service.lua",
    ["oss.emulator.store"] = "lua/oss/emulator/store.lua",
    ["oss.emulator.uri"] = "lua/oss/emulator/uri.lua",
    ["oss.emulator.verify_v1"] = "lua/oss/emulator/verify_v1.lua",
    ["oss.emulator.verify_v4"] = "lua/oss/emulator/verify_v4.lua",
  },
  install = {
    bin = {
      ["oss-emulator"] = "bin/oss-emulator",
    },
  },
}
