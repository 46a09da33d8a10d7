-- STS (2015-04-01) on the emulator: AssumeRole signed with the RPC signature, AssumeRoleWithOIDC against a token
-- file, answered and refused in the service's JSON.
local cjson = require "cjson"
local file = require "oss.file"
local rpc_signature = require "oss.credentials.rpc_signature"
local utc = require "oss.utc"

local M = {}

local VERSION = "2015-04-01"
local HOST_ID = "sts.aliyuncs.com"
-- RPC requests are refused when their Timestamp is further than this from the service's clock, and a nonce
-- is remembered for as long, which is what makes a replay detectable.
local MAX_SKEW_SECONDS = 900
local MIN_DURATION, MAX_DURATION = 900, 3600

local SIGNATURE_MISMATCH = "Specified signature is not matched with our calculation. server string to sign is:"

-- code -> { HTTP status, message }: the service's own statuses and wording.
local KNOWN = {
  InvalidVersion = { 400, "Specified parameter Version is not valid." },
  MissingParameter = { 400, "A required parameter is not supplied." },
  IncompleteSignature = { 400, "The request signature does not conform to Aliyun standards." },
  SignatureDoesNotMatch = { 400, SIGNATURE_MISMATCH },
  ["InvalidTimeStamp.Format"] = { 400, "Specified time stamp or date value is not well formatted." },
  ["InvalidTimeStamp.Expired"] = { 400, "Specified time stamp or date value is expired." },
  SignatureNonceUsed = { 400, "Specified signature nonce was used already." },
  ["InvalidAccessKeyId.NotFound"] = { 404, "Specified access key is not found." },
  MissingSecurityToken = { 400, "SecurityToken is mandatory for this action." },
  ["InvalidSecurityToken.MismatchWithAccessKey"] = { 400, "Specified SecurityToken mismatch with the AccessKey." },
  ["InvalidSecurityToken.Expired"] = { 400, "Specified SecurityToken is expired." },
  MissingRoleArn = { 400, "RoleArn is mandatory for this action." },
  MissingRoleSessionName = { 400, "RoleSessionName is mandatory for this action." },
  MissingOIDCProviderArn = { 400, "OIDCProviderArn is mandatory for this action." },
  ["InvalidParameter.RoleArn"] = { 400, "The parameter RoleArn is wrongly formed." },
  ["InvalidParameter.RoleSessionName"] = { 400, "The parameter RoleSessionName is wrongly formed." },
  ["InvalidParameter.DurationSeconds"] = { 400, "The Min/Max value of DurationSeconds is 15min/1hr." },
  ["AuthenticationFail.NoPermission"] = { 401, "No such OIDC Provider registered." },
  ["AuthenticationFail.OIDCToken.Invalid"] = { 401, "The Jwt content is invalid that cannot be recognized." },
  InternalError = { 500, "The request processing has failed due to some unknown error." },
}

local Sts = {}
Sts.__index = Sts

-- context: { find_key = function(id) -> { secret, token, expires } | nil, issued, clock, oidc_provider_arn,
--            oidc_token_file }
function M.new(context)
  return setmetatable({
    name = "sts",
    find_key = context.find_key, issued = context.issued, clock = context.clock,
    oidc_provider_arn = context.oidc_provider_arn, oidc_token_file = context.oidc_token_file,
    nonces = {},
  }, Sts)
end

local ACTIONS = { AssumeRole = "assume_role", AssumeRoleWithOIDC = "assume_role_with_oidc" }

-- STS is called at "/" with its Action in the query or the form.
function Sts:matches(request)
  return request.path == "/" and ACTIONS[request.params.Action] ~= nil
end

local function json(status, value, request_id)
  return {
    status = status, body = cjson.encode(value), content_type = "application/json;charset=utf-8",
    headers = { { "x-acs-request-id", request_id } },
  }
end

function Sts:refusal(status, code, message, request_id)
  local known = KNOWN[code]
  return json(status or (known and known[1]) or 400, {
    RequestId = request_id, HostId = HOST_ID, Code = code or "InternalError",
    Message = message or (known and known[2]) or code,
  }, request_id)
end

local function refuse(code, message)
  return { code = code, message = message }
end

local function missing(name)
  return refuse("MissingParameter",
    ('The input parameter "%s" that is mandatory for processing this request is not supplied.'):format(name))
end

function Sts:forget_old_nonces(now)
  for nonce, seen in pairs(self.nonces) do
    if now - seen > MAX_SKEW_SECONDS then
      self.nonces[nonce] = nil
    end
  end
end

-- The common RPC checks of a signed request, in the order the gateway makes them; -> the caller's key or nil, why.
function Sts:authenticate(request)
  local params = request.params
  for _, name in ipairs { "AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "Timestamp" } do
    if params[name] == nil or params[name] == "" then
      return nil, missing(name)
    end
  end
  if params.SignatureMethod ~= "HMAC-SHA1" or (params.SignatureVersion or "1.0") ~= "1.0" then
    return nil, refuse("IncompleteSignature")
  end
  local request_time = utc.parse_iso8601(params.Timestamp)
  if not request_time then
    return nil, refuse("InvalidTimeStamp.Format")
  end
  local now = self.clock:now()
  if math.abs(now - request_time) > MAX_SKEW_SECONDS then
    return nil, refuse("InvalidTimeStamp.Expired")
  end
  local key = self.find_key(params.AccessKeyId)
  if not key then
    return nil, refuse("InvalidAccessKeyId.NotFound")
  end
  if key.token and params.SecurityToken == nil then
    return nil, refuse("MissingSecurityToken")
  end
  if params.SecurityToken ~= nil and params.SecurityToken ~= key.token then
    return nil, refuse("InvalidSecurityToken.MismatchWithAccessKey")
  end
  if key.expires and now >= key.expires then
    return nil, refuse("InvalidSecurityToken.Expired")
  end
  local signed = {}
  for name, value in pairs(params) do
    if name ~= "Signature" then
      signed[name] = value
    end
  end
  local string_to_sign = rpc_signature.string_to_sign(request.method, signed)
  if rpc_signature.sign(request.method, signed, key.secret) ~= params.Signature then
    return nil, refuse("SignatureDoesNotMatch", SIGNATURE_MISMATCH .. string_to_sign)
  end
  -- Recorded only once the signature holds, so that a forged request cannot use up someone's nonce.
  self:forget_old_nonces(now)
  local nonce_key = params.AccessKeyId .. "\0" .. params.SignatureNonce
  if self.nonces[nonce_key] then
    return nil, refuse("SignatureNonceUsed")
  end
  self.nonces[nonce_key] = now
  return key
end

-- The role parameters both actions share; -> { account, role, session, duration } or nil, why.
local function role_parameters(params)
  if params.RoleArn == nil or params.RoleArn == "" then
    return nil, refuse("MissingRoleArn")
  end
  local account, role = params.RoleArn:match("^acs:ram::(%d+):role/([%w%.@_%-]+)$")
  if not account then
    return nil, refuse("InvalidParameter.RoleArn")
  end
  local session = params.RoleSessionName
  if session == nil or session == "" then
    return nil, refuse("MissingRoleSessionName")
  end
  if #session < 2 or #session > 64 or not session:match("^[%w%.@_%-]+$") then
    return nil, refuse("InvalidParameter.RoleSessionName")
  end
  local duration = MAX_DURATION
  if params.DurationSeconds ~= nil then
    duration = params.DurationSeconds:match("^%d+$") and tonumber(params.DurationSeconds)
    if not duration or duration < MIN_DURATION or duration > MAX_DURATION then
      return nil, refuse("InvalidParameter.DurationSeconds")
    end
  end
  return { account = account, role = role, session = session, duration = duration }
end

-- A stable id per role, shaped like the service's numeric ones.
local function role_id(account, role)
  local sum = 0
  for index = 1, #role do
    sum = (sum * 31 + role:byte(index)) % 1000000000
  end
  return account:sub(1, 6) .. string.format("%09d", sum) .. "0"
end

function Sts:grant(role, request_id)
  local credential = self.issued:issue(role.duration)
  return json(200, {
    RequestId = request_id,
    AssumedRoleUser = {
      AssumedRoleId = role_id(role.account, role.role) .. ":" .. role.session,
      Arn = ("acs:ram::%s:role/%s/%s"):format(role.account, role.role:lower(), role.session),
    },
    Credentials = {
      AccessKeyId = credential.id,
      AccessKeySecret = credential.secret,
      SecurityToken = credential.token,
      Expiration = utc.iso8601(credential.expires),
    },
  }, request_id)
end

function Sts:assume_role(request)
  local _, refused = self:authenticate(request)
  if refused then
    return nil, refused
  end
  return role_parameters(request.params)
end


function Sts:assume_role_with_oidc(request)
  local params = request.params
  if params.OIDCProviderArn == nil or params.OIDCProviderArn == "" then
    return nil, refuse("MissingOIDCProviderArn")
  end
  if self.oidc_provider_arn == nil or params.OIDCProviderArn ~= self.oidc_provider_arn then
    return nil, refuse("AuthenticationFail.NoPermission")
  end
  if params.OIDCToken == nil or params.OIDCToken == "" then
    return nil, refuse("AuthenticationFail.OIDCToken.Invalid", "The OIDCToken can not empty.")
  end
  -- Read on every call, so a spec can rotate the token as a cluster rotates a projected service account token.
  local expected = self.oidc_token_file and file.read(self.oidc_token_file)
  if not expected then
    return nil, refuse("InternalError", "The emulator cannot read its OIDC token file.")
  end
  if params.OIDCToken ~= expected then
    return nil, refuse("AuthenticationFail.OIDCToken.Invalid")
  end
  return role_parameters(params)
end

function Sts:handle(request)
  local params = request.params
  if params.Version ~= VERSION then
    return self:refusal(nil, "InvalidVersion", nil, request.request_id)
  end
  local role, refused = self[ACTIONS[params.Action]](self, request)
  if not role then
    return self:refusal(nil, refused.code, refused.message, request.request_id)
  end
  return self:grant(role, request.request_id)
end

function Sts:reset()
  self.nonces = {}
end

return M
