-- lua-oss: the library (oss, oss.core) and the oss-inventory command; the emulator is the lua-oss-emulator rock.
rockspec_format = "3.0"
package = "lua-oss"
version = "0.1.0-1"
source = {
  url = "git+https://github.com/lua-oss/lua-oss.git",
  tag = "v0.1.0",
}
description = {
  summary = "Alibaba Cloud OSS bucket inventory rules from Lua, LuaJIT and OpenResty",
  detailed = [[
Put, Get, List and Delete bucket inventory rules as plain Lua tables, validated against the service's schema
before anything is sent, signed with V4 or V1, over keep-alive libcurl or OpenResty cosockets. The
oss-inventory command plans and applies desired-state files.]],
  homepage = "https://github.com/lua-oss/lua-oss",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "argparse >= 0.6",
  "lua-cjson >= 2.1",
}
external_dependencies = {
  -- Debian keeps curl.h in a multiarch folder the compiler searches but luarocks does not: check the library.
  CURL = { library = "curl" },
  EXPAT = { header = "expat.h", library = "expat" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
}
build = {
  type = "builtin",
  modules = {
    ["oss.core"] = {
      sources = {
        "src/bucket_name.c", "src/buffer.c", "src/compat.c", "src/crypto.c", "src/date.c", "src/http.c",
        "src/http_failure.c", "src/http_transfer.c", "src/oss_core.c", "src/reentry.c", "src/schema.c", "src/sign.c",
        "src/sign_canonical.c", "src/sign_crypto.c", "src/uri_encode.c", "src/xml_parse.c", "src/xml_read.c",
        "src/xml_text.c", "src/xml_write.c",
      },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl", "expat", "crypto" },
      incdirs = { "$(CURL_INCDIR)", "$(EXPAT_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(EXPAT_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    },
    ["oss"] = "lua/oss/init.lua",
    ["oss.cli.apply"] = "lua/oss/cli/apply.lua",
    ["oss.cli.clients"] = "lua/oss/cli/clients.lua",
    ["oss.cli.confirm"] = "lua/oss/cli/confirm.lua",
    ["oss.cli.connection"] = "lua/oss/cli/connection.lua",
    ["oss.cli.desired"] = "lua/oss/cli/desired.lua",
    ["oss.cli.diagnosis"] = "lua/oss/cli/diagnosis.lua",
    ["oss.cli.documents"] = "lua/oss/cli/documents.lua",
    ["oss.cli.main"] = "lua/oss/cli/main.lua",
    ["oss.cli.plan"] = "lua/oss/cli/plan.lua",
    ["oss.cli.plan_json"] = "lua/oss/cli/plan_json.lua",
    ["oss.cli.problems"] = "lua/oss/cli/problems.lua",
    ["oss.cli.progress"] = "lua/oss/cli/progress.lua",
    ["oss.cli.reader"] = "lua/oss/cli/reader.lua",
    ["oss.cli.recovery"] = "lua/oss/cli/recovery.lua",
    ["oss.cli.saved_plan"] = "lua/oss/cli/saved_plan.lua",
    ["oss.cli.shape"] = "lua/oss/cli/shape.lua",
    ["oss.cli.tally"] = "lua/oss/cli/tally.lua",
    ["oss.cli.text_writer"] = "lua/oss/cli/text_writer.lua",
    ["oss.cli.workers"] = "lua/oss/cli/workers.lua",
    ["oss.client"] = "lua/oss/client.lua",
    ["oss.credentials"] = "lua/oss/credentials/init.lua",
    ["oss.credentials.default"] = "lua/oss/credentials/default.lua",
    ["oss.credentials.ecs_ram_role"] = "lua/oss/credentials/ecs_ram_role.lua",
    ["oss.credentials.environment"] = "lua/oss/credentials/environment.lua",
    ["oss.credentials.failure"] = "lua/oss/credentials/failure.lua",
    ["oss.credentials.http"] = "lua/oss/credentials/http.lua",
    ["oss.credentials.issued"] = "lua/oss/credentials/issued.lua",
    ["oss.credentials.oidc_role_arn"] = "lua/oss/credentials/oidc_role_arn.lua",
    ["oss.credentials.profiles"] = "lua/oss/credentials/profiles.lua",
    ["oss.credentials.provider"] = "lua/oss/credentials/provider.lua",
    ["oss.credentials.ram_role_arn"] = "lua/oss/credentials/ram_role_arn.lua",
    ["oss.credentials.refreshing"] = "lua/oss/credentials/refreshing.lua",
    ["oss.credentials.role_session"] = "lua/oss/credentials/role_session.lua",
    ["oss.credentials.shared"] = "lua/oss/credentials/shared.lua",
    ["oss.credentials.rpc_signature"] = "lua/oss/credentials/rpc_signature.lua",
    ["oss.credentials.static"] = "lua/oss/credentials/static.lua",
    ["oss.credentials.sts"] = "lua/oss/credentials/sts.lua",
    ["oss.credentials.sts_endpoint"] = "lua/oss/credentials/sts_endpoint.lua",
    ["oss.credentials.uri"] = "lua/oss/credentials/uri.lua",
    ["oss.credentials.value"] = "lua/oss/credentials/value.lua",
    ["oss.data_chunk"] = "lua/oss/data_chunk.lua",
    ["oss.endpoint"] = "lua/oss/endpoint.lua",
    ["oss.errors"] = "lua/oss/errors.lua",
    ["oss.file"] = "lua/oss/file.lua",
    ["oss.inventory"] = "lua/oss/inventory.lua",
    ["oss.replace"] = "lua/oss/replace.lua",
    ["oss.response"] = "lua/oss/response.lua",
    ["oss.retry"] = "lua/oss/retry.lua",
    ["oss.utc"] = "lua/oss/utc.lua",
    ["oss.schema.error"] = "lua/oss/schema/error.lua",
    ["oss.schema.inventory"] = "lua/oss/schema/inventory.lua",
    ["oss.stored_form"] = "lua/oss/stored_form.lua",
    ["oss.transport.cosocket"] = "lua/oss/transport/cosocket.lua",
    ["oss.transport.cosocket_connection"] = "lua/oss/transport/cosocket_connection.lua",
    ["oss.transport.cosocket_response"] = "lua/oss/transport/cosocket_response.lua",
    ["oss.transport.curl"] = "lua/oss/transport/curl.lua",
    ["oss.transport.select"] = "lua/oss/transport/select.lua",
    ["oss.version"] = "lua/oss/version.lua",
  },
  install = {
    bin = {
      ["oss-inventory"] = "bin/oss-inventory",
    },
  },
}
