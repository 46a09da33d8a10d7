-- oss.transport.cosocket against a scripted stand-in for nginx's socket: how answers split across reads are parsed.

-- spec/nginx_spec.lua drives the transport in a real nginx; here every byte boundary and limit can be reached.

local cosocket_module = "oss.transport.cosocket"

-- A socket serving `chunks` in order, one per network read, recording what the transport does with it. Like
-- nginx's, it holds the unread rest of the last read in a buffer, hands out lines with receiveuntil, and refuses
-- to pool a connection whose buffer still holds bytes.
local function scripted_socket(world, chunks)
  local sock = { sent = {}, timeouts = {}, chunks = chunks, reads = 0, buffer = "", reused = world.reused or 0 }
  function sock:settimeouts(_, _, read) self.timeouts[#self.timeouts + 1] = read end
  function sock:settimeout(milliseconds) self.timeouts[#self.timeouts + 1] = milliseconds end
  function sock:connect(host, port, options)
    self.host, self.port, self.pool = host, port, options.pool
    return true
  end
  function sock:getreusedtimes() return self.reused end
  function sock:sslhandshake(session, name, verify)
    self.handshake = { session = session, name = name, verify = verify }
    return true
  end
  function sock:send(pieces)
    local flat = {}
    for index, piece in ipairs(pieces) do flat[index] = tostring(piece) end
    self.sent[#self.sent + 1] = table.concat(flat)
    return #self.sent[#self.sent]
  end
  -- Makes sure the buffer holds something, reading the next chunk (which takes world.clock_step) when it is empty.
  local function fill(self)
    if self.buffer ~= "" then return true end
    local chunk = self.chunks[self.reads + 1]
    if not chunk then return false end
    self.reads, self.buffer = self.reads + 1, chunk
    if world.clock_step then world.clock = world.clock + world.clock_step end
    return true
  end
  local function take(self, count)
    local piece = self.buffer:sub(1, count)
    self.buffer = self.buffer:sub(count + 1)
    return piece
  end
  function sock:receiveany(most)
    if not fill(self) then return nil, "closed" end
    return take(self, most)
  end
  function sock:receive(count)
    local got, have = {}, 0
    while have < count do
      if not fill(self) then return nil, "closed", table.concat(got) end
      got[#got + 1] = take(self, count - have)
      have = have + #got[#got]
    end
    return table.concat(got)
  end
  -- nginx's reader: with a size, the data before the pattern in pieces of at most that size, then nil.
  function sock:receiveuntil(pattern)
    local reached = false
    return function(size)
      if reached then
        reached = false
        return nil
      end
      local got, have = {}, 0
      while not size or have < size do
        if not fill(self) then return nil, "closed", table.concat(got) end
        local room = size and size - have or #self.buffer
        local at = self.buffer:find(pattern, 1, true)
        if at and at - 1 <= room then
          got[#got + 1] = take(self, at - 1)
          take(self, #pattern)
          reached = true
          break
        end
        got[#got + 1] = take(self, room)
        have = have + #got[#got]
      end
      return table.concat(got)
    end
  end
  function sock:setkeepalive(timeout, size)
    if self.buffer ~= "" then return nil, "unread data in buffer" end
    self.kept = { timeout, size }
    return 1
  end
  function sock:close() self.closed = true return 1 end
  return sock
end

-- Installs a stand-in `ngx` whose sockets serve the given answers, one socket per request.
local function fake_nginx(answers)
  local world = { clock = 1000, sockets = {} }
  _G.ngx = {
    now = function() return world.clock end,
    socket = {
      tcp = function()
        local sock = scripted_socket(world, answers[#world.sockets + 1] or {})
        world.sockets[#world.sockets + 1] = sock
        return sock
      end,
    },
  }
  return world
end

-- Every way of cutting `text` into a few pieces: each single cut, and one byte at a time.
local function splits(text)
  local ways = { { text } }
  for cut = 1, #text - 1 do ways[#ways + 1] = { text:sub(1, cut), text:sub(cut + 1) } end
  local bytes = {}
  for index = 1, #text do bytes[index] = text:sub(index, index) end
  ways[#ways + 1] = bytes
  return ways
end

local ANSWER = "HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Twice: a\r\nx-twice:  b \r\nContent-Length: 5\r\n"
  .. "Connection: keep-alive\r\n\r\nhello"

describe("oss.transport.cosocket, parsing what the socket returns", function()
  local saved_ngx

  before_each(function()
    saved_ngx = rawget(_G, "ngx")
    package.loaded[cosocket_module] = nil
  end)

  after_each(function()
    _G.ngx = saved_ngx
    package.loaded[cosocket_module] = nil
  end)

  local function send_one(chunks, request, options)
    local world = fake_nginx { chunks }
    local send = require(cosocket_module).new(options)
    request = request or {}
    request.method = request.method or "GET"
    request.url = request.url or "http://127.0.0.1:8080/bucket/?inventory"
    local answer, err = send(request)
    return answer, err, world.sockets[1], world
  end

  it("reads the same answer however the bytes are split across reads", function()
    for _, chunks in ipairs(splits(ANSWER)) do
      local answer, err, sock = send_one(chunks)
      assert.is_nil(err)
      assert.are.same({ status = 200, http_version = "1.1", body = "hello", headers = {
        server = "nginx", ["x-twice"] = "a, b", ["content-length"] = "5", connection = "keep-alive",
      } }, answer)
      assert.truthy(sock.kept, #chunks .. " pieces")
      assert.falsy(sock.closed)
    end
  end)

  it("skips interim 1xx answers and accepts bare LF line ends", function()
    local answer = assert(send_one { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\nA: 1\n\n",
      "HTTP/1.0 201 Created\nContent-Length: 2\nConnection: Keep-Alive\n\nok" })
    assert.are.same({ 201, "1.0", "ok", "Keep-Alive" },
      { answer.status, answer.http_version, answer.body, answer.headers.connection })
    assert.is_nil(answer.headers.a)
  end)

  it("feeds a chunked 2xx body to the sink, trailers and all, and keeps the connection", function()
    local body = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "5\r\nhello\r\na; ext=1\r\n, world!!!\r\n0\r\nTrailer: x\r\n\r\n"
    for _, chunks in ipairs(splits(body)) do
      local fed = {}
      local sink = { feed = function(_, piece) fed[#fed + 1] = piece return true end }
      local answer, err, sock = send_one(chunks, { sink = sink })
      assert.is_nil(err)
      assert.are.equal("", answer.body)
      assert.are.equal("hello, world!!!", table.concat(fed))
      assert.truthy(sock.kept)
    end
  end)

  it("reads a body partly in the head's read and the rest from the socket", function()
    local answer, err, sock = send_one { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123", "456789" }
    assert.is_nil(err)
    assert.are.equal("0123456789", answer.body)
    assert.truthy(sock.kept)
  end)

  it("closes instead of pooling after Connection: close, HTTP/1.0, a body to the end, or bytes after the answer",
    function()
      for _, head in ipairs {
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\nto the end",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
      } do
        local answer, err, sock = send_one { head }
        assert.is_nil(err)
        assert.are.equal(200, answer.status)
        assert.truthy(sock.closed, head)
        assert.falsy(sock.kept, head)
      end
    end)

  it("refuses too many header lines, too large a head and a body past max_response_size as too_large", function()
    local many = { "HTTP/1.1 200 OK\r\n" }
    for index = 1, 201 do many[#many + 1] = "X-" .. index .. ": v\r\n" end
    many[#many + 1] = "\r\n"
    local _, err, sock = send_one { table.concat(many) }
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })
    assert.truthy(sock.closed)

    local long = { "HTTP/1.1 200 OK\r\nX-Long: " }
    for index = 2, 70 do long[index] = ("v"):rep(4096) end
    _, err, sock = send_one(long)
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })
    assert.truthy(sock.closed)

    _, err = send_one({ "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd" }, nil, { max_response_size = 3 })
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })
  end)

  it("names the server when the answer is cut short or is not HTTP", function()
    local _, err = send_one { "HTTP/1.1 200 OK\r\nServer: x" }
    assert.are.same({ "network", "receive" }, { err.kind, err.code })
    assert.truthy(err.message:find("closed", 1, true), err.message)
    assert.truthy(err.message:find("(127.0.0.1:8080)", 1, true), err.message)
    _, err = send_one { "SSH-2.0-OpenSSH\r\n" }
    assert.are.same({ "protocol", "not an HTTP response: SSH-2.0-OpenSSH" }, { err.code, err.message:match("^(.-) %(") })
  end)

  it("refuses a Content-Length above max_response_size before reading the body", function()
    local _, err, sock = send_one({ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "abc" }, nil,
      { max_response_size = 1024 })
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })
    assert.truthy(err.message:find("99999999999", 1, true), err.message)
    assert.truthy(sock.closed)
    assert.are.equal(1, sock.reads, "the read that would bring the body never happened")
  end)

  it("refuses a malformed framing as a protocol error, without raising", function()
    for _, head in ipairs {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1g\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nX-Bad: a\0b\r\nContent-Length: 3\r\n\r\nabc",
    } do
      local ok, answer, err = pcall(send_one, { head })
      assert.is_true(ok, answer)
      assert.is_nil(answer, head)
      assert.are.same({ "network", "protocol" }, { err.kind, err.code }, head)
    end
  end)

  it("refuses a bare CR in a header, and a folded line with no header to continue, as a protocol error", function()
    for _, head in ipairs {
      "HTTP/1.1 200 OK\r\nX-Bad: a\rSet-Cookie: b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Bad: a\r\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n folded\r\nContent-Length: 0\r\n\r\n",
    } do
      local _, err, sock = send_one { head }
      assert.are.same({ "network", "protocol" }, { err.kind, err.code }, head)
      assert.truthy(sock.closed)
    end
  end)

  it("cuts a chunked or a close-delimited body at max_response_size without reading past the bound", function()
    local _, err, sock = send_one({ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
      "3\r\n", "def\r\n0\r\n\r\n" }, nil, { max_response_size = 4 })
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })
    assert.truthy(err.message:find("max_response_size (4)", 1, true), err.message)
    assert.are.equal(2, sock.reads, "the chunk past the bound was never read")
    assert.truthy(sock.closed)

    _, err, sock = send_one({ "HTTP/1.1 200 OK\r\n\r\nabc", "def", "ghi" }, nil, { max_response_size = 4 })
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })
    assert.are.equal(2, sock.reads)
    assert.truthy(sock.closed)
  end)

  it("refuses chunk data longer than its size", function()
    local _, err = send_one { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n" }
    assert.are.same({ "network", "protocol" }, { err.kind, err.code })
    assert.truthy(err.message:find("chunk longer than its size", 1, true), err.message)
  end)

  it("reads no body after HEAD, 204 or 304, whatever Content-Length says, and pools the connection", function()
    for _, case in ipairs {
      { "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n" },
      { "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" },
      { "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n" },
    } do
      local answer, err, sock = send_one({ case[2] }, { method = case[1] }, { max_response_size = 10 })
      assert.is_nil(err)
      assert.are.equal("", answer.body)
      assert.truthy(sock.kept, case[2])
    end
  end)

  it("stops feeding a sink that refused a piece, reads the rest past it and keeps the connection", function()
    local fed = {}
    local sink = { feed = function(_, piece) fed[#fed + 1] = piece return false end }
    local answer, err, sock = send_one({ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
      "2\r\ncd\r\n0\r\n\r\n" }, { sink = sink })
    assert.is_nil(err)
    assert.are.same({ "ab" }, fed)
    assert.are.same({ 200, "" }, { answer.status, answer.body })
    assert.truthy(sock.kept)
  end)

  it("bounds the status line and headers together, and the trailers of a chunked body", function()
    local head = { "HTTP/1.1 200 OK\r\n" }
    for index = 1, 130 do head[#head + 1] = "X-" .. index .. ": " .. ("v"):rep(2048) .. "\r\n" end
    head[#head + 1] = "Content-Length: 0\r\n\r\n"
    local _, err = send_one { table.concat(head) }
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })

    local trailers = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" }
    for index = 1, 201 do trailers[#trailers + 1] = "T-" .. index .. ": v\r\n" end
    trailers[#trailers + 1] = "\r\n"
    _, err = send_one { table.concat(trailers) }
    assert.are.same({ "network", "too_large" }, { err.kind, err.code })
  end)

  it("takes repeated equal Content-Length headers and unfolds folded header lines", function()
    local answer = assert(send_one {
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\nX-Folded: first\r\n \t second part\r\n"
        .. "\tthird\r\n\r\nabc" })
    assert.are.equal("abc", answer.body)
    assert.are.equal("first second part third", answer.headers["x-folded"])
  end)

  it("times out against one overall deadline, however many reads it takes", function()
    local world = fake_nginx { { "HTTP/1.1 200 OK\r\n", "A: 1\r\n", "B: 2\r\n", "C: 3\r\n", "\r\n" } }
    world.clock_step = 0.25
    local send = require(cosocket_module).new { timeout = 1 }
    local _, err = send { method = "GET", url = "http://127.0.0.1:8080/" }
    assert.are.same({ "network", "timeout" }, { err.kind, err.code })
    -- Each read was given only what was left of the one second.
    local given = {}
    for _, milliseconds in ipairs(world.sockets[1].timeouts) do
      if given[#given] ~= milliseconds then given[#given + 1] = milliseconds end
    end
    assert.are.same({ 1000, 750, 500, 250 }, given)
  end)

  it("raises for a request that is no table, has no method or no http(s) URL", function()
    fake_nginx {}
    local send = require(cosocket_module).new()
    assert.has_error(function() send "GET /" end, "oss.transport.cosocket: expected a request table, got string")
    assert.has_error(function() send { url = "http://h/" } end,
      "oss.transport.cosocket: expected a request method, got nil")
    assert.has_error(function() send { method = "GET", url = "ftp://h/" } end,
      "oss.transport.cosocket: expected an http(s) URL, got ftp://h/")
  end)

  it("writes the request once: its line, Host, the caller's headers but its own three, and the body", function()
    local _, err, sock = send_one({ "HTTP/1.1 204 No Content\r\n\r\n" }, {
      method = "PUT", url = "http://example.com:8080/bucket/?inventory&inventoryId=a", body = "<x/>",
      headers = { ["X-Probe"] = "1", HOST = "evil", ["content-LENGTH"] = "99", Connection = "close" },
    })
    assert.is_nil(err)
    assert.are.equal(1, #sock.sent)
    assert.are.equal("PUT /bucket/?inventory&inventoryId=a HTTP/1.1\r\nHost: example.com:8080\r\nX-Probe: 1\r\n"
      .. "Content-Length: 4\r\n\r\n<x/>", sock.sent[1])
    _, err, sock = send_one({ "HTTP/1.1 204 No Content\r\n\r\n" }, { method = "DELETE", url = "http://h" })
    assert.is_nil(err)
    assert.are.equal("DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", sock.sent[1])
  end)

  it("keeps TLS, plain and unverified connections in separate pools and shakes hands only on new ones", function()
    local answer = "HTTP/1.1 204 No Content\r\n\r\n"
    local world = fake_nginx { { answer }, { answer }, { answer }, { answer } }
    local verified = require(cosocket_module).new()
    local unverified = require(cosocket_module).new { ssl_verify = false }
    assert(verified { method = "GET", url = "https://[::1]:8443/a" })
    assert(verified { method = "GET", url = "http://[::1]:8443/a" })
    assert(unverified { method = "GET", url = "https://[::1]:8443/b" })
    world.reused = 1
    assert(verified { method = "GET", url = "https://[::1]:8443/c" })
    local sockets = world.sockets
    assert.are.same({ "::1:8443:https:true", "::1:8443:http:true", "::1:8443:https:false", "::1:8443:https:true" },
      { sockets[1].pool, sockets[2].pool, sockets[3].pool, sockets[4].pool })
    assert.are.same({ session = false, name = "::1", verify = true }, sockets[1].handshake)
    assert.is_nil(sockets[2].handshake)
    assert.are.same({ session = false, name = "::1", verify = false }, sockets[3].handshake)
    assert.is_nil(sockets[4].handshake)
  end)
  it("answers each request of one transport as if it were the first, whatever it kept from the ones before", function()
    local same = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n"
    local odd = "HTTP/1.0 404 Not Found\r\nX-Probe  : 1\r\nserver:\t x \t\r\nContent-Length: 0\r\n\r\n"
    local world = fake_nginx { { same }, { same }, { odd }, { same } }
    local send = require(cosocket_module).new()
    local url = "http://a.example:8080/bucket/?inventory"
    local request = { method = "PUT", url = url, body = "<x/>", headers = { ["X-Probe  "] = "1" } }
    local answers = {}
    answers[1] = assert(send(request))
    answers[2] = assert(send(request))
    request.url, request.body = "http://b.example/", "<y/>!"
    answers[3] = assert(send(request))
    request.url, request.body = url, "<x/>"
    answers[4] = assert(send(request))
    local sockets = world.sockets
    assert.are.same({ "a.example", "a.example", "b.example", "a.example" },
      { sockets[1].host, sockets[2].host, sockets[3].host, sockets[4].host })
    assert.are.equal("PUT / HTTP/1.1\r\nHost: b.example\r\nX-Probe  : 1\r\nContent-Length: 5\r\n\r\n<y/>!",
      sockets[3].sent[1])
    assert.are.equal("PUT /bucket/?inventory HTTP/1.1\r\nHost: a.example:8080\r\nX-Probe  : 1\r\n"
      .. "Content-Length: 4\r\n\r\n<x/>", sockets[4].sent[1])
    for _, index in ipairs { 1, 2, 4 } do
      assert.are.same({ 200, "1.1", { server = "nginx", ["content-length"] = "0" } },
        { answers[index].status, answers[index].http_version, answers[index].headers })
      assert.truthy(sockets[index].kept)
    end
    -- A name with a blank is never a header, even once the same spelling went out in a request.
    assert.are.same({ 404, "1.0", { server = "x", ["content-length"] = "0" } },
      { answers[3].status, answers[3].http_version, answers[3].headers })
    assert.truthy(sockets[3].closed)
  end)
end)
