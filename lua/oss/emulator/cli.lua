-- The oss-emulator command: parses flags and a config file, starts the emulator, reports readiness, serves.
local argparse = require "argparse"
local atomic_file = require "oss.emulator.atomic_file"
local emulator = require "oss.emulator"

local M = {}

local function parser()
  local p = argparse("oss-emulator", "A local OSS-compatible server for the bucket inventory API.")
  p:flag("--version", "Print the version and exit."):action(function()
    io.stdout:write("oss-emulator ", require "oss.version", "\n")
    os.exit(0)
  end)
  p:option("--port", "Port to listen on; 0 picks a free one.", "0"):convert(tonumber)
  p:option("--host", "Address to listen on.", "127.0.0.1")
  p:option("--tls-cert", "PEM certificate: serve HTTPS (plain HTTP keeps working on the same port).")
  p:option("--tls-key", "PEM private key of --tls-cert.")
  p:option("--data", "State file: rules survive restarts; it is replaced atomically on every change.")
  p:option("--config", "Lua file returning a configuration table (buckets, keys, accounts, ...).")
  p:option("--bucket", "Declare a bucket: name[:region[:owner]] (repeatable).")
    :count("*")
  p:option("--access-key", "Accept an AccessKey: ID:SECRET[:STS_TOKEN] (repeatable).")
    :count("*")
  p:option("--port-file", "Write the port to this file (atomically) once listening.")
  p:option("--watch-pid", "Exit when the process with this id is gone.")
    :convert(tonumber)
  p:option("--request-timeout", "Seconds a request's head and body may take to arrive (default 10).")
    :convert(tonumber)
  p:option("--journal-size", "How many received requests the admin path keeps.")
    :convert(tonumber)
  p:option("--ecs-role", "Serve ECS instance metadata with this RAM role and credentials for it.")
  p:flag("--imdsv2-only", "Refuse instance metadata reads without a session token (IMDSv2 alone).")
  p:option("--oidc-provider-arn", "The OIDC provider AssumeRoleWithOIDC accepts.")
  p:option("--oidc-token-file", "File holding the OIDC token AssumeRoleWithOIDC accepts (read on every call).")
  p:option("--credentials-lifetime", "Seconds the credentials the platform issues live (default 3600).")
    :convert(tonumber)
  return p
end

-- Internal: the argparse parser main uses (spec/reference_spec.lua reads its flags).
M._parser = parser

local function settings_from(arguments)
  local settings = {}
  if arguments.config then
    local loaded, message = emulator.load_config_file(arguments.config)
    if not loaded then
      return nil, message
    end
    settings = loaded
  end
  settings.buckets = settings.buckets or {}
  settings.keys = settings.keys or {}
  for _, bucket in ipairs(arguments.bucket) do
    settings.buckets[#settings.buckets + 1] = bucket
  end
  for _, key in ipairs(arguments.access_key) do
    settings.keys[#settings.keys + 1] = key
  end
  if arguments.port ~= 0 or settings.port == nil then
    settings.port = arguments.port
  end
  if arguments.host ~= "127.0.0.1" or settings.host == nil then
    settings.host = arguments.host
  end
  if arguments.tls_cert or arguments.tls_key then
    if not (arguments.tls_cert and arguments.tls_key) then
      return nil, "--tls-cert and --tls-key go together"
    end
    settings.tls = { cert = arguments.tls_cert, key = arguments.tls_key }
  end
  settings.data = arguments.data or settings.data
  settings.journal_size = arguments.journal_size or settings.journal_size
  settings.request_timeout = arguments.request_timeout or settings.request_timeout
  settings.ecs_role = arguments.ecs_role or settings.ecs_role
  settings.imdsv2_only = arguments.imdsv2_only or settings.imdsv2_only
  settings.oidc_provider_arn = arguments.oidc_provider_arn or settings.oidc_provider_arn
  settings.oidc_token_file = arguments.oidc_token_file or settings.oidc_token_file
  settings.credentials_lifetime = arguments.credentials_lifetime or settings.credentials_lifetime
  return settings
end

local function process_alive(pid)
  local file = io.open("/proc/" .. pid .. "/stat", "r")
  if file then
    file:close()
    return true
  end
  return false
end

local function fail(message)
  io.stderr:write("oss-emulator: ", message, "\n")
  os.exit(1)
end

function M.main(argv)
  local arguments = parser():parse(argv)
  local settings, message = settings_from(arguments)
  if not settings then
    fail(message)
  end
  local ok, instance = pcall(emulator.new, settings)
  if not ok then
    fail(instance)
  end
  instance.on_error = function(operation, err)
    io.stderr:write("oss-emulator: ", tostring(operation), ": ", tostring(err), "\n")
  end
  local port, start_message = instance:start()
  if not port then
    fail(start_message)
  end
  if arguments.port_file then
    local written, write_message = atomic_file.write(arguments.port_file, tostring(port) .. "\n")
    if not written then
      fail("cannot write " .. arguments.port_file .. ": " .. tostring(write_message))
    end
  end
  io.stdout:write("oss-emulator listening on ", instance.endpoint, "\n")
  io.stdout:flush()
  while true do
    local stepped, step_message = instance:step(1)
    if not stepped then
      io.stderr:write("oss-emulator: ", tostring(step_message), "\n")
    end
    if arguments.watch_pid and not process_alive(arguments.watch_pid) then
      instance:stop()
      return
    end
  end
end

return M
