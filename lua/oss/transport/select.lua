-- Picks the transport for where the code runs: libcurl in plain Lua, cosockets inside nginx where they may be used.

local curl = require "oss.transport.curl"

local select_transport = {}

-- The phases in which ngx_lua lets a request handler use cosockets (ngx.get_phase() names).
local COSOCKET_PHASES = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}
-- Before the workers exist nothing else is waiting on the process, so blocking on libcurl there is harmless.
local BLOCKING_PHASES = { init = true }

local CURL_OPTIONS = { "connect_timeout", "timeout", "ssl_verify", "ca_file", "proxy", "no_proxy", "max_response_size" }
-- no_proxy only narrows a proxy, which cosockets refuse anyway.
local COSOCKET_OPTIONS = { "connect_timeout", "timeout", "ssl_verify", "ca_file", "proxy", "max_response_size" }

local function pick(options, names)
  local chosen = {}
  for _, name in ipairs(names) do chosen[name] = options[name] end
  return chosen
end

--- True inside nginx's Lua module, where a blocking call would stall every request of the worker.
function select_transport.inside_nginx()
  return type(ngx) == "table" and type(ngx.get_phase) == "function" and type(ngx.socket) == "table"
end

--- new(client_options) -> send(request) -> response | nil, err; or nil, err for options the transport cannot honour
--- Outside nginx: the libcurl transport. Inside: cosockets in rewrite, access, content, timer and the ssl_*
--- phases, libcurl in init, and an error raised in any other phase (init_worker, set, log, header and body
--- filters, balancer), where neither yielding nor blocking is acceptable.
function select_transport.new(options)
  if not select_transport.inside_nginx() then
    return curl.new(pick(options, CURL_OPTIONS))
  end
  local send_cosocket, err = require("oss.transport.cosocket").new(pick(options, COSOCKET_OPTIONS))
  if not send_cosocket then return nil, err end
  local send_curl
  return function(request)
    local phase = ngx.get_phase()
    if COSOCKET_PHASES[phase] then return send_cosocket(request) end
    if BLOCKING_PHASES[phase] then
      if not send_curl then
        local err
        send_curl, err = curl.new(pick(options, CURL_OPTIONS))
        if not send_curl then return nil, err end
      end
      return send_curl(request)
    end
    error(("oss: cannot send a request in nginx's %s phase: cosockets are not available there and blocking "
      .. "would stall the worker; send from rewrite, access, content or a timer (ngx.timer.at(0, handler))")
      :format(tostring(phase)), 2)
  end
end

return select_transport
