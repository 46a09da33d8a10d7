-- Two nginx processes for the throughput benches: a sink answering 200 to every PUT, and a driver putting to it.

-- The driver runs lua-oss inside nginx (the cosocket transport); both start through the specs' nginx support.

local nginx = require "spec.support.nginx"
local support = require "spec.support.emulator"

local sink = {}

local SINK_CONFIG = [[
daemon off;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  # Every client keeps one connection for the whole bench.
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:%d;
    location / { return 200; }
  }
}
]]

-- GET /drive?count=N makes N sequential puts to the sink and answers "N seconds".
local DRIVER_CONFIG = [[
%sdaemon off;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  %s
  init_by_lua_block {
    local oss = require "oss"
    local fixtures = require "bench.fixtures"
    package.loaded.bench_client = assert(oss.new {
      region = fixtures.REGION, endpoint = "%s", path_style = true, max_attempts = 1,
      access_key_id = fixtures.CREDENTIALS.access_key_id,
      access_key_secret = fixtures.CREDENTIALS.access_key_secret,
    })
  }
  server {
    listen 127.0.0.1:%d;
    location = /drive {
      content_by_lua_block {
        local fixtures = require "bench.fixtures"
        local client = package.loaded.bench_client
        local count = tonumber(ngx.var.arg_count) or 1
        ngx.update_time()
        local started = ngx.now()
        for _ = 1, count do
          local ok, err = client:put_bucket_inventory(fixtures.BUCKET, fixtures.RULE)
          if not ok then
            ngx.status = 500
            ngx.say(tostring(err))
            return
          end
        end
        ngx.update_time()
        ngx.say(count, " ", ngx.now() - started)
      }
    }
  }
}
]]

--- start() -> { endpoint, driver_pid (its master process), drive(count) -> requests, seconds, stop() }
function sink.start()
  local sink_port, driver_port = nginx.free_port(), nginx.free_port()
  local endpoint = "http://127.0.0.1:" .. sink_port
  local sink_nginx = nginx.start(SINK_CONFIG:format(sink_port), { port = sink_port })
  local driver_config = DRIVER_CONFIG:format(nginx.module_lines(), nginx.package_paths(), endpoint, driver_port)
  local ok, driver = pcall(nginx.start, driver_config, { port = driver_port })
  if not ok then
    sink_nginx:stop()
    error(driver, 0)
  end
  local handle = { endpoint = endpoint, driver_pid = driver.pid }
  function handle.drive(count)
    local status, body = support.http("GET", ("http://127.0.0.1:%d/drive?count=%d"):format(driver_port, count))
    local requests, seconds = tostring(body):match("^(%d+) ([%d.e%-]+)")
    if status ~= 200 or not requests then
      error(("the nginx driver failed (%s): %s %s"):format(tostring(status), tostring(body), driver:error_log()))
    end
    -- ngx.now() counts milliseconds: a smoke run's few puts can fit in one.
    return tonumber(requests), math.max(tonumber(seconds), 0.001)
  end
  function handle.stop()
    driver:stop()
    sink_nginx:stop()
  end
  return handle
end

return sink
