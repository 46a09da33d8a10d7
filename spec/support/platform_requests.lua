-- What a credentials client sends to the emulator's platform, for each provider: drives the official Node library
-- (@alicloud/credentials, pinned) against an emulator and reduces the journal's platform requests to what two
-- clients of the same provider must agree on, so a spec can put lua-oss's requests beside the Node library's in
-- the same run.
local cjson = require "cjson"
local support = require "spec.support.emulator"

local M = {}

M.VERSION = "2.4.7"
M.PACKAGE = support.ROOT .. "/spec/interop/node_modules/@alicloud/credentials/package.json"
local DRIVER = support.ROOT .. "/spec/interop/drive_credentials.js"

M.PROVIDERS = { "ecs_ram_role", "oidc_role_arn", "ram_role_arn", "credentials_uri" }

-- Values that differ on every call: a shape keeps what they look like, not what they are.
local VARYING = {
  Timestamp = function(value)
    return value:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$") and "<YYYY-MM-DDThh:mm:ssZ>" or value
  end,
  SignatureNonce = function(value) return value ~= "" and "<nonce>" or value end,
  Signature = function(value) return value:match("^[%w+/]+=*$") and "<base64>" or value end,
  SecurityToken = function(value) return value ~= "" and "<security token>" or value end,
  AccessKeyId = function(value) return value:match("^STS%.") and "<issued STS key>" or value end,
  ["x-aliyun-ecs-metadata-token"] = function(value) return value ~= "" and "<metadata token>" or value end,
}

-- The headers that change what the platform answers; Host, User-Agent, Connection and lengths do not.
M.HEADERS = {
  "content-type", "x-aliyun-ecs-metadata-token-ttl-seconds", "x-aliyun-ecs-metadata-token",
  "x-acs-credentials-provider",
}

local function shaped_map(pairs_list)
  local map = {}
  for _, pair in ipairs(pairs_list or {}) do
    local name, value = pair[1], pair[2]
    map[name] = VARYING[name] and VARYING[name](value) or value
  end
  return map
end

local function shaped_headers(list)
  local wanted, map = {}, {}
  for _, name in ipairs(M.HEADERS) do wanted[name] = true end
  for _, pair in ipairs(list or {}) do
    local name, value = pair[1], pair[2]
    if wanted[name] then
      map[name] = VARYING[name] and VARYING[name](value) or value
    end
  end
  return map
end

--- shape(journal entries) -> the platform requests among them, oldest first, each
-- { platform, method, path, query = { name = value }, form = { name = value }, headers = { name = value } }
-- with varying values (Timestamp, nonces, signatures, tokens, issued key ids) replaced by what they look like.
function M.shape(entries)
  local list = {}
  for _, entry in ipairs(entries) do
    if entry.platform then
      list[#list + 1] = {
        platform = entry.platform, method = entry.method, path = entry.path,
        query = shaped_map(entry.query), form = shaped_map(entry.form), headers = shaped_headers(entry.headers),
      }
    end
  end
  return list
end

--- The Node library's configuration for `provider` pointed at `emu`. settings: role_arn, role_name,
-- disable_imdsv1, oidc_provider_arn, oidc_token_file, access_key = { id, secret, token }, session_name, duration.
function M.node_credential(emu, provider, settings)
  local sts_endpoint = "127.0.0.1:" .. emu.port
  local key = settings.access_key or {}
  local configs = {
    ecs_ram_role = { type = "ecs_ram_role", roleName = settings.role_name, disableIMDSv1 = settings.disable_imdsv1 },
    credentials_uri = { type = "credentials_uri",
      credentialsURI = "http://127.0.0.1:" .. emu.port .. "/-/platform/credentials" },
    ram_role_arn = { type = "ram_role_arn", accessKeyId = key.id, accessKeySecret = key.secret,
      securityToken = key.token, roleArn = settings.role_arn, roleSessionName = settings.session_name,
      roleSessionExpiration = settings.duration, stsEndpoint = sts_endpoint },
    oidc_role_arn = { type = "oidc_role_arn", oidcProviderArn = settings.oidc_provider_arn,
      oidcTokenFilePath = settings.oidc_token_file, roleArn = settings.role_arn,
      roleSessionName = settings.session_name, roleSessionExpiration = settings.duration,
      stsEndpoint = sts_endpoint },
  }
  return assert(configs[provider], "unknown provider " .. tostring(provider))
end

-- The library calls STS over https only (and takes no scheme in its endpoint), so the emulator serves TLS and
-- node trusts its certificate through NODE_EXTRA_CA_CERTS.
local function node_command(emu, config)
  local environment = ""
  if emu.options.tls then
    environment = "NODE_EXTRA_CA_CERTS=" .. support.shell_quote(emu.options.tls.cert) .. " "
  end
  return environment .. "node " .. support.shell_quote(DRIVER) .. " " .. support.shell_quote(cjson.encode(config))
    .. " 2>&1"
end

--- node(emu, provider, settings [, times]) -> the library's results (one per getCredential call:
-- { ok, accessKeyId, accessKeySecret, securityToken, providerName } or { ok = false, message }) and the shape of
-- the platform requests it sent. Clears the emulator's journal first.
function M.node(emu, provider, settings, times)
  local manifest = support.read_all(M.PACKAGE)
  assert(manifest, "@alicloud/credentials is not installed in spec/interop/node_modules: run tools/install-ali-oss")
  assert(cjson.decode(manifest).version == M.VERSION, "@alicloud/credentials is not " .. M.VERSION)
  emu:admin("DELETE", "requests")
  local config = {
    credential = M.node_credential(emu, provider, settings),
    metadataPort = provider == "ecs_ram_role" and emu.port or nil,
    times = times or 1,
  }
  local pipe = assert(io.popen(node_command(emu, config)))
  local output = pipe:read("*a")
  pipe:close()
  local ok, results = pcall(cjson.decode, output)
  assert(ok and type(results) == "table", "drive_credentials.js produced no results: " .. output)
  return results, M.shape(emu:requests())
end

--- A self-signed certificate for 127.0.0.1 in `directory`: -> { cert, key } for support.start's tls option.
function M.tls_files(directory)
  local cert, key = directory .. "/cert.pem", directory .. "/key.pem"
  os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
    .. " -addext subjectAltName=IP:127.0.0.1 -keyout " .. support.shell_quote(key) .. " -out "
    .. support.shell_quote(cert) .. " >/dev/null 2>&1")
  assert(support.read_all(cert) and support.read_all(key), "openssl could not make a certificate in " .. directory)
  return { cert = cert, key = key }
end

return M
