-- Credentials named by a profile: the Alibaba Cloud CLI's config.json (~/.aliyun/config.json) or the shared
-- credentials file (~/.alibabacloud/credentials, INI), each profile building one of the other providers.

local cjson = require "cjson.safe"
local failure = require "oss.credentials.failure"
local file = require "oss.file"
local provider = require "oss.credentials.provider"
local shared = require "oss.credentials.shared"
local static_key = require "oss.credentials.static"

local profiles = {}

profiles.CLI_NAME, profiles.FILE_NAME = "cli_profile", "profile"

local function present(text) return type(text) == "string" and text ~= "" end

-- The options every built provider passes on: where to reach the services, the time, the environment.
local function passed_on(options, extra)
  local built = {
    clock = options.clock, getenv = options.getenv, metadata_endpoint = options.metadata_endpoint,
    sts_endpoint = options.sts_endpoint,
  }
  for name, setting in pairs(extra) do built[name] = setting end
  return built
end

local function static(origin, id, secret, token)
  return static_key.new(id, secret, token, origin)
end

-- A number of seconds from a file: absent or 0 (what the CLI writes when unset) is the provider's default.
local function seconds(setting)
  setting = tonumber(setting)
  if setting == 0 then return nil end
  return setting
end

-- The profile's provider, answering as supplied by "<kind>/<inner's name>"; one per inner provider.
local function named(kind, inner)
  return shared.provider(kind, { inner = inner }, function() return provider.renamed(kind, inner) end)
end

local function credentials_module(name) return require("oss.credentials." .. name) end

-- config.json's profiles by mode, as the CLI writes them.
local CLI_MODES = {}

function CLI_MODES.AK(p, _, origin)
  return static(origin, p.access_key_id, p.access_key_secret)
end

function CLI_MODES.StsToken(p, _, origin)
  return static(origin, p.access_key_id, p.access_key_secret, p.sts_token)
end

function CLI_MODES.RamRoleArn(p, options, origin)
  local source, err = static(origin, p.access_key_id, p.access_key_secret)
  if not source then return nil, err end
  return credentials_module("ram_role_arn").new(passed_on(options, {
    source = source, role_arn = p.ram_role_arn, role_session_name = p.ram_session_name,
    duration_seconds = seconds(p.expired_seconds), sts_region = p.sts_region,
    sts_endpoint = options.sts_endpoint or p.sts_endpoint, enable_vpc = p.enable_vpc,
  }))
end

function CLI_MODES.EcsRamRole(p, options)
  return credentials_module("ecs_ram_role").new(passed_on(options, { role_name = p.ram_role_name }))
end

function CLI_MODES.OIDC(p, options)
  return credentials_module("oidc_role_arn").new(passed_on(options, {
    oidc_token_file = p.oidc_token_file, oidc_provider_arn = p.oidc_provider_arn, role_arn = p.ram_role_arn,
    role_session_name = p.ram_session_name, duration_seconds = seconds(p.duration_seconds),
    sts_region = p.sts_region, enable_vpc = p.enable_vpc,
  }))
end

-- ChainableRamRoleArn is built by cli_provider, which knows the other profiles.

local function find_profile(configuration, wanted)
  for _, p in ipairs(type(configuration.profiles) == "table" and configuration.profiles or {}) do
    if type(p) == "table" and p.name == wanted then return p end
  end
  return nil
end

local function cli_provider(configuration, profile_name, options, path, seen)
  local p = find_profile(configuration, profile_name)
  local origin = ("profile %s in %s"):format(profile_name, path)
  if not p then return nil, failure.setting(profiles.CLI_NAME, "no " .. origin) end
  if p.mode == "ChainableRamRoleArn" then
    if seen[profile_name] then
      return nil, failure.setting(profiles.CLI_NAME, origin .. ": source_profile makes a loop")
    end
    seen[profile_name] = true
    if not present(p.source_profile) then
      return nil, failure.setting(profiles.CLI_NAME, origin .. ": source_profile: missing")
    end
    local source, err = cli_provider(configuration, p.source_profile, options, path, seen)
    if not source then return nil, err end
    return credentials_module("ram_role_arn").new(passed_on(options, {
      source = source, role_arn = p.ram_role_arn, role_session_name = p.ram_session_name,
      duration_seconds = seconds(p.expired_seconds), sts_region = p.sts_region,
    }))
  end
  local build = CLI_MODES[p.mode]
  if not build then
    return nil, failure.setting(profiles.CLI_NAME, ("%s: mode %s is not supported (AK, StsToken, RamRoleArn, "
      .. "EcsRamRole, OIDC, ChainableRamRoleArn)"):format(origin, tostring(p.mode)))
  end
  return build(p, options, origin)
end

local function home_file(options, getenv, variable, relative)
  local path = getenv(variable)
  if present(path) then return path end
  local home = options.home or getenv("HOME")
  if not present(home) then return nil end
  return home .. "/" .. relative
end

--- cli([options]) -> provider | nil, err, applies
--- The CLI's config.json (ALIBABA_CLOUD_CONFIG_FILE, else ~/.aliyun/config.json), the profile `options.profile`,
--- else ALIBABA_CLOUD_PROFILE, else the file's `current`. `applies` is false when there is no such file or
--- profile, or ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true: the default chain then moves on.
function profiles.cli(options)
  options = options or {}
  local getenv = options.getenv or os.getenv
  if (getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") or ""):lower() == "true" then
    return nil, failure.setting(profiles.CLI_NAME, "disabled by ALIBABA_CLOUD_CLI_PROFILE_DISABLED"), false
  end
  local path = home_file(options, getenv, "ALIBABA_CLOUD_CONFIG_FILE", ".aliyun/config.json")
  local text = path and file.read(path)
  if not text then
    return nil, failure.setting(profiles.CLI_NAME, "no file " .. tostring(path or "~/.aliyun/config.json")), false
  end
  local configuration = cjson.decode(text)
  if type(configuration) ~= "table" then
    return nil, failure.setting(profiles.CLI_NAME, path .. " is not a JSON object"), true
  end
  local wanted = options.profile or getenv("ALIBABA_CLOUD_PROFILE") or configuration.current
  if not present(wanted) then
    return nil, failure.setting(profiles.CLI_NAME, path .. " names no current profile"), false
  end
  if not find_profile(configuration, wanted) then
    return nil, failure.setting(profiles.CLI_NAME, ("no profile %s in %s"):format(wanted, path)), false
  end
  local inner, err = cli_provider(configuration, wanted, options, path, {})
  if not inner then return nil, err, true end
  return named(profiles.CLI_NAME, inner), nil, true
end

-- The INI file: [section] lines, key = value lines, ; and # comments.
local function parse_ini(text, path)
  local sections, current = {}, nil
  local number = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    number = number + 1
    line = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
    local comment = line == "" or line:find("^[;#]") ~= nil
    if not comment and line:find("^%[") then
      local name = line:match("^%[%s*([^%]]-)%s*%]$")
      if not name then return nil, ("%s:%d: a section is [name]"):format(path, number) end
      current = sections[name] or {}
      sections[name] = current
    elseif not comment then
      local key, setting = line:match("^([^=]-)%s*=%s*(.*)$")
      if not key or key == "" or not current then
        return nil, ("%s:%d: expected key = value inside a [section]"):format(path, number)
      end
      current[key] = setting
    end
  end
  return sections
end

local FILE_TYPES = {}

function FILE_TYPES.access_key(s, _, origin)
  return static(origin, s.access_key_id, s.access_key_secret)
end

function FILE_TYPES.ecs_ram_role(s, options)
  return credentials_module("ecs_ram_role").new(passed_on(options, { role_name = s.role_name }))
end

function FILE_TYPES.ram_role_arn(s, options, origin)
  local source, err = static(origin, s.access_key_id, s.access_key_secret)
  if not source then return nil, err end
  return credentials_module("ram_role_arn").new(passed_on(options, {
    source = source, role_arn = s.role_arn, role_session_name = s.role_session_name, policy = s.policy,
  }))
end

function FILE_TYPES.oidc_role_arn(s, options)
  return credentials_module("oidc_role_arn").new(passed_on(options, {
    role_arn = s.role_arn, oidc_provider_arn = s.oidc_provider_arn, oidc_token_file = s.oidc_token_file_path,
    role_session_name = s.role_session_name, policy = s.policy,
  }))
end

--- file([options]) -> provider | nil, err, applies
--- The INI credentials file (ALIBABA_CLOUD_CREDENTIALS_FILE, else ~/.alibabacloud/credentials), the section
--- `options.profile`, else ALIBABA_CLOUD_PROFILE, else "default"; types access_key, ecs_ram_role, ram_role_arn,
--- oidc_role_arn. `applies` is false when there is no such file or section.
function profiles.file(options)
  options = options or {}
  local getenv = options.getenv or os.getenv
  local path = home_file(options, getenv, "ALIBABA_CLOUD_CREDENTIALS_FILE", ".alibabacloud/credentials")
  local text = path and file.read(path)
  if not text then
    return nil, failure.setting(profiles.FILE_NAME, "no file " .. tostring(path or "~/.alibabacloud/credentials")),
      false
  end
  local sections, problem = parse_ini(text, path)
  if not sections then return nil, failure.setting(profiles.FILE_NAME, problem), true end
  local wanted = options.profile or getenv("ALIBABA_CLOUD_PROFILE") or "default"
  local section = sections[wanted]
  local origin = ("profile %s in %s"):format(wanted, path)
  if not section then return nil, failure.setting(profiles.FILE_NAME, "no " .. origin), false end
  local build = FILE_TYPES[section.type]
  if not build then
    return nil, failure.setting(profiles.FILE_NAME, ("%s: type %s is not supported (access_key, ecs_ram_role, "
      .. "ram_role_arn, oidc_role_arn)"):format(origin, tostring(section.type))), true
  end
  local inner, err = build(section, options, origin)
  if not inner then return nil, err, true end
  return named(profiles.FILE_NAME, inner), nil, true
end

return profiles
