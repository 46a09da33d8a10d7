-- One client per region and endpoint, made on first use: buckets of the same region share a client (and so its
-- connections), buckets elsewhere get their own.

local connection = require "oss.cli.connection"

local clients = {}

--- A function settings -> client | nil, err that makes each client once; `make` defaults to connection.client.
function clients.pool(make)
  make = make or connection.client
  local made = {}
  return function(settings)
    local key = connection.key(settings)
    local entry = made[key]
    if not entry then
      local client, err = make(settings)
      entry = { client = client, err = err }
      made[key] = entry
    end
    return entry.client, entry.err
  end
end

return clients
