-- The default chain, in the official credentials libraries' order: environment, OIDC role, the CLI's
-- config.json, the shared credentials file, the ECS instance's RAM role, a credentials URI. The first that
-- applies supplies every later request.

local environment = require "oss.credentials.environment"
local ecs_ram_role = require "oss.credentials.ecs_ram_role"
local errors = require "oss.errors"
local oidc_role_arn = require "oss.credentials.oidc_role_arn"
local profiles = require "oss.credentials.profiles"
local provider = require "oss.credentials.provider"
local shared = require "oss.credentials.shared"
local uri = require "oss.credentials.uri"

local default = {}

default.NAME = "default"

local function present(text) return text ~= nil and text ~= "" end

-- Each link: its name, and make(options, getenv) -> provider | nil, why it does not apply, applies (true when
-- the provider is configured but its settings are wrong: that is an error, not a reason to move on).
local LINKS = {
  { name = environment.NAME, make = function(options, getenv)
    for _, name in ipairs { "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_ID",
      "ALIBABA_CLOUD_ACCESS_KEY_SECRET" } do
      if present(getenv(name)) then
        local made, err = environment.new(getenv)
        return made, err, true
      end
    end
    return nil, "neither OSS_ACCESS_KEY_ID nor ALIBABA_CLOUD_ACCESS_KEY_ID is set", false
  end },
  { name = oidc_role_arn.NAME, make = function(options, getenv)
    if not (present(getenv("ALIBABA_CLOUD_ROLE_ARN")) and present(getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"))
        and present(getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE"))) then
      return nil, "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE are "
        .. "not all set", false
    end
    local made, err = oidc_role_arn.new(options)
    return made, err, true
  end },
  { name = profiles.CLI_NAME, make = function(options) return profiles.cli(options) end },
  { name = profiles.FILE_NAME, make = function(options) return profiles.file(options) end },
  { name = ecs_ram_role.NAME, make = function(options, getenv)
    if (getenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED") or ""):lower() == "true" then
      return nil, "disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED", false
    end
    local made, err = ecs_ram_role.new(options)
    return made, err, true
  end },
  { name = uri.NAME, make = function(options, getenv)
    if not present(getenv("ALIBABA_CLOUD_CREDENTIALS_URI")) then
      return nil, "ALIBABA_CLOUD_CREDENTIALS_URI is not set", false
    end
    local made, err = uri.new(options)
    return made, err, true
  end },
}

local function reason_text(reason)
  if type(reason) == "table" then return reason.reason or reason.message or tostring(reason) end
  return tostring(reason)
end

local function position(name)
  for index, link in ipairs(LINKS) do
    if link.name == name then return index end
  end
  return #LINKS + 1
end

local function none_applies(reasons)
  local lines = {}
  for index, reason in ipairs(reasons) do lines[index] = reason.name .. ": " .. reason_text(reason.why) end
  return errors.validation("no credentials found; tried " .. table.concat(lines, "; "), "credentials")
end

-- The chain over the links that apply: the first to answer credentials supplies every later request.
local function chain(candidates, reasons, role_named)
  local chosen
  return provider.new(default.NAME, function()
    if chosen then return chosen:get() end
    local tried = {}
    for _, reason in ipairs(reasons) do tried[#tried + 1] = reason end
    for _, candidate in ipairs(candidates) do
      local credentials, err = candidate.provider:get()
      if credentials then
        chosen = provider.renamed(default.NAME, candidate.provider)
        return chosen:get()
      end
      -- No metadata service reached while looking for the role: not an ECS instance, so not this link.
      local unreachable = candidate.name == ecs_ram_role.NAME and err.kind == "network" and not role_named
      if not unreachable then return nil, err end
      tried[#tried + 1] = { name = candidate.name, why = "no metadata service answered (" .. err.message .. ")" }
    end
    table.sort(tried, function(a, b) return position(a.name) < position(b.name) end)
    return nil, none_applies(tried)
  end)
end

--- new([options]) -> provider | nil, err
--- options: getenv, clock, home (for the profile files), profile, metadata_endpoint, sts_endpoint, passed to
--- every link. The links are made now from the environment and the files; the first that applies is then asked
--- at the first request. The instance's RAM role applies where a metadata service answers: when none is reached
--- (and ALIBABA_CLOUD_ECS_METADATA names no role) the chain moves on to the credentials URI.
function default.new(options)
  options = options or {}
  local getenv = options.getenv or os.getenv
  local candidates, reasons = {}, {}
  for _, link in ipairs(LINKS) do
    local made, why, applies = link.make(options, getenv)
    if made then
      candidates[#candidates + 1] = { name = link.name, provider = made }
    elseif applies then
      return nil, why
    else
      reasons[#reasons + 1] = { name = link.name, why = why }
    end
  end
  if #candidates == 0 then return nil, none_applies(reasons) end
  -- A role named in the environment means an ECS instance even when its metadata service is not reached.
  local role_named = present(getenv("ALIBABA_CLOUD_ECS_METADATA"))

  -- The same links (each itself shared) and the same reasons make the same chain.
  local settings = { role_named = role_named }
  for index, candidate in ipairs(candidates) do settings["link" .. index] = candidate.provider end
  for index, reason in ipairs(reasons) do
    settings["skipped" .. index] = reason.name .. ": " .. reason_text(reason.why)
  end
  return shared.provider(default.NAME, settings, function() return chain(candidates, reasons, role_named) end)
end

return default
