-- A credentials URI (ALIBABA_CLOUD_CREDENTIALS_URI): a local endpoint that answers temporary credentials as JSON.
local cjson = require "cjson"
local utc = require "oss.utc"

local M = {}

M.PATH = "/-/platform/credentials"

local Uri = {}
Uri.__index = Uri

-- context: { issued }
function M.new(context)
  return setmetatable({ name = "credentials_uri", issued = context.issued }, Uri)
end

function Uri:matches(request)
  return request.path == M.PATH
end

function Uri:refusal(status, code, message)
  return {
    status = status, body = cjson.encode { Code = code or "Error", Message = message or code or "Error" },
    content_type = "application/json",
  }
end

function Uri:handle(request)
  if request.method ~= "GET" then
    return self:refusal(405, "MethodNotAllowed", request.method .. " is not allowed on " .. M.PATH)
  end
  local credential = self.issued:current("credentials-uri")
  return {
    status = 200,
    content_type = "application/json",
    body = cjson.encode {
      Code = "Success",
      AccessKeyId = credential.id,
      AccessKeySecret = credential.secret,
      SecurityToken = credential.token,
      Expiration = utc.iso8601(credential.expires),
    },
  }
end

function Uri:reset() end

return M
