-- docs/reference.md against the code, both ways: the generated rule table, oss.new's options, the network codes
-- the transports produce, every rule element and allowed value, the CLI's commands and flags, the emulator's
-- flags and admin paths. A name in the code that the page lacks fails, and so does a name the page has that the
-- code lacks.

local SPEC_DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local ROOT = SPEC_DIR .. "/.."

local function read(path)
  local file = assert(io.open(ROOT .. "/" .. path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local function list_dir(path, suffix)
  local names = {}
  local pipe = assert(io.popen(("ls -1 '%s/%s'"):format(ROOT, path)))
  for name in pipe:lines() do
    if name:sub(-#suffix) == suffix then names[#names + 1] = path .. "/" .. name end
  end
  pipe:close()
  return names
end

local REFERENCE = read("docs/reference.md")

-- The page's text from the heading `heading` (a whole line) to the next heading of the same or a higher level.
local function section(heading)
  local level = #heading:match("^(#+)")
  local start = REFERENCE:find("\n" .. heading .. "\n", 1, true)
  assert(start, "docs/reference.md has no heading " .. heading)
  local rest = REFERENCE:sub(start + #heading + 2)
  local position = 1
  while true do
    local line_start, line_end, hashes = rest:find("\n(#+) [^\n]*", position)
    if not line_start then return rest end
    if #hashes <= level then return rest:sub(1, line_start) end
    position = line_end + 1
  end
end

-- The rows of every Markdown table in `text` (header and rule lines excluded), as lists of cells.
local function table_rows(text)
  local rows = {}
  local header_seen = false
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:find("^|") then
      if line:find("^|%-") then
        header_seen = true
      elseif header_seen then
        local cells = {}
        for cell in line:sub(2):gmatch("([^|]*)|") do cells[#cells + 1] = cell end
        rows[#rows + 1] = cells
      end
    else
      header_seen = false
    end
  end
  return rows
end

local function backticked(cell)
  local names = {}
  for name in cell:gmatch("`([^`]+)`") do names[#names + 1] = name end
  return names
end

local function set_of(list)
  local set = {}
  for _, value in ipairs(list) do set[value] = true end
  return set
end

local function sorted_keys(set)
  local keys = {}
  for key in pairs(set) do keys[#keys + 1] = key end
  table.sort(keys)
  return keys
end

-- Both ways: what the code has and the page lacks, and what the page has that the code lacks.
local function assert_same(code_set, page_set, what)
  local missing, extra = {}, {}
  for name in pairs(code_set) do if not page_set[name] then missing[#missing + 1] = name end end
  for name in pairs(page_set) do if not code_set[name] then extra[#extra + 1] = name end end
  table.sort(missing)
  table.sort(extra)
  assert.are.same({ missing = {}, extra = {} }, { missing = missing, extra = extra },
    what .. ": missing = in the code, not in docs/reference.md; extra = in docs/reference.md, not in the code")
  assert.is_true(next(code_set) ~= nil, what .. ": found none in the code")
end

-- The flags of an argparse parser, from its help text: each option line's names (`-h`, `--help`, ...).
local function help_flags(parser)
  local flags = {}
  local in_options = false
  for line in (parser:get_help() .. "\n"):gmatch("([^\n]*)\n") do
    if line:find("^%S") then
      in_options = line == "Options:"
    elseif in_options then
      local rest = line:match("^%s+(%-.*)$")
      while rest do
        local name, after = rest:match("^(%-%-?[%w][%w%-]*)(.*)$")
        if not name then break end
        flags[name] = true
        after = after:gsub("^ <[^>]*>", ""):gsub("^ %[<[^>]*>%]", "")
        rest = after:match("^, (%-.*)$")
      end
    end
  end
  return flags
end

describe("docs/reference.md", function()
  it("links from the README", function()
    assert.truthy(read("README.md"):find("(docs/reference.md)", 1, true))
  end)

  describe("the rule", function()
    local generator = assert(loadfile(ROOT .. "/tools/reference-schema.lua"))()
    local schema = require "oss.schema.inventory"

    it("holds exactly what tools/reference-schema.lua writes now (make docs)", function()
      local first = REFERENCE:find(generator.BEGIN, 1, true)
      local last = REFERENCE:find(generator.END, 1, true)
      assert.truthy(first and last, "the schema markers")
      local current = REFERENCE:sub(first + #generator.BEGIN, last - 1)
      assert.are.equal("\n" .. generator.render() .. "\n", current)
    end)

    it("lists every element of the schema, and no other", function()
      local code, page = {}, {}
      local function walk(element, path)
        code[path] = true
        for _, child in ipairs(element.children or {}) do walk(child, path .. "." .. child.name) end
      end
      walk(schema.InventoryConfiguration, "InventoryConfiguration")
      for _, child in ipairs(schema.ListInventoryConfigurationsResult.children) do
        if child.name ~= "InventoryConfiguration" then
          code["ListInventoryConfigurationsResult." .. child.name] = true
        end
      end
      for _, row in ipairs(table_rows(section("## The rule"))) do
        local names = backticked(row[1])
        if names[1] then page[names[1]] = true end
      end
      assert_same(code, page, "rule elements")
    end)

    it("gives each element its type, whether required, and every allowed value and bound", function()
      local rows = {}
      for _, row in ipairs(table_rows(section("## The rule"))) do
        rows[backticked(row[1])[1] or ""] = row
      end
      local checked = 0
      local function walk(element, path)
        local row = assert(rows[path], path)
        assert.truthy(row[2]:find(element.type or "container", 1, true), path .. ": type")
        if path ~= "InventoryConfiguration" then
          assert.are.equal(element.required and "yes" or "no", row[3]:match("^%s*(.-)%s*$"), path .. ": required")
        end
        local allowed = set_of(backticked(row[4]))
        for _, value in ipairs(element.enum or {}) do
          assert.is_true(allowed[value] == true, path .. ": allowed value " .. value)
        end
        for _, bound in ipairs { "min", "max", "min_length", "max_length" } do
          if element[bound] then
            assert.truthy(row[4]:find(("%.0f"):format(element[bound]), 1, true), path .. ": " .. bound)
          end
        end
        checked = checked + 1
        for _, child in ipairs(element.children or {}) do walk(child, path .. "." .. child.name) end
      end
      walk(schema.InventoryConfiguration, "InventoryConfiguration")
      assert.is_true(checked > 30)
    end)
  end)

  it("lists every option oss.new reads, and no other", function()
    local client = require "oss.client"
    local code = set_of(client._option_names())
    local page = {}
    for _, row in ipairs(table_rows(section("## Options of `oss.new`"))) do
      page[backticked(row[1])[1]] = true
    end
    assert_same(code, page, "options of oss.new")
    -- The option names read where they are used are among them.
    for _, path in ipairs { "lua/oss/retry.lua", "lua/oss/credentials/init.lua" } do
      local source = read(path)
      for name in source:gmatch("options%.([%a_][%w_]*)") do
        assert.is_true(code[name] == true, path .. " reads option " .. name)
      end
      for name in source:gmatch("options, \"([%a_][%w_]*)\"") do
        assert.is_true(code[name] == true, path .. " reads option " .. name)
      end
    end
  end)

  it("lists every network code the transports produce, and no other", function()
    local code = {}
    local patterns = {
      ':fail%("([%w_]+)"', 'stage_failed%(self, "([%w_]+)"', 'network_error%("([%w_]+)"',
      'errors%.network%("([%w_]+)"', 'fields%.code or "([%w_]+)"',
    }
    local lua_files = list_dir("lua/oss/transport", ".lua")
    lua_files[#lua_files + 1] = "lua/oss/client.lua"
    for _, path in ipairs(lua_files) do
      local source = read(path)
      for _, pattern in ipairs(patterns) do
        for name in source:gmatch(pattern) do code[name] = true end
      end
    end
    -- The cosocket connection reports a failure at a stage with the stage's name as its code.
    local cosocket = read("lua/oss/transport/cosocket_connection.lua")
    assert.truthy(cosocket:find("return self:fail(stage,", 1, true))
    local failure = read("src/http_failure.c")
    for name in failure:gmatch('return "([%w_]+)";') do code[name] = true end
    for name in failure:gmatch('code = "([%w_]+)";') do code[name] = true end
    local page = {}
    for _, row in ipairs(table_rows(section("### Network codes"))) do page[backticked(row[1])[1]] = true end
    assert_same(code, page, "network codes")
    -- What the retry policy calls transient is among them, and the page says so.
    local retry_source = read("lua/oss/retry.lua")
    local transient = retry_source:match("TRANSIENT_NETWORK = (%b{})")
    for _, row in ipairs(table_rows(section("### Network codes"))) do
      local name = backticked(row[1])[1]
      local retried = transient:find("[%s{]" .. name .. " = true") ~= nil
      assert.are.equal(retried and "yes" or "no", row[3]:match("^%s*(.-)%s*$"), "retried: " .. name)
    end
  end)

  it("lists every error kind", function()
    local code = {}
    for name in read("lua/oss/errors.lua"):gmatch('kind = "(%a+)"') do code[name] = true end
    code.service = true -- errors.service sets fields.kind = "service"
    local page = {}
    for _, row in ipairs(table_rows(section("## Errors"))) do
      local name = backticked(row[1])[1]
      if name and name:find("^%a+$") and row[2] and row[2]:find("`", 1, true)
        and not name:find("^errors") then
        page[name] = true
      end
    end
    for name in pairs(code) do assert.is_true(page[name] == true, "error kind " .. name) end
  end)

  describe("oss-inventory", function()
    local main = require "oss.cli.main"
    local parser = main._build_parser()
    local page_section = section("## Command line: `oss-inventory`")

    it("lists every subcommand, and no other", function()
      local code = {}
      for _, command in ipairs(parser._commands) do code[command._name] = true end
      local page = {}
      for _, row in ipairs(table_rows(page_section)) do
        local names = backticked(row[1])
        if #names == 1 and row[1]:match("^%s*`[%a]+`%s*$") and row[2] and not row[2]:find("^%s*%(") then
          if not names[1]:find("^%-") and not names[1]:find("^OSS_") and #row == 3 then page[names[1]] = true end
        end
      end
      assert_same(code, page, "oss-inventory subcommands")
    end)

    it("lists every flag of the program and of each subcommand, and no other", function()
      local code = {}
      for flag in pairs(help_flags(parser)) do code["(program) " .. flag] = true end
      for _, command in ipairs(parser._commands) do
        for flag in pairs(help_flags(command)) do code[command._name .. " " .. flag] = true end
      end
      local page = {}
      for _, row in ipairs(table_rows(page_section)) do
        local flags = backticked(row[1])
        if flags[1] and flags[1]:find("^%-") then
          local commands = backticked(row[2])
          if row[2]:find("(program)", 1, true) then commands[#commands + 1] = "(program)" end
          for _, flag in ipairs(flags) do
            for _, command in ipairs(commands) do page[command .. " " .. flag] = true end
          end
        end
      end
      assert_same(code, page, "oss-inventory flags (command flag)")
    end)

    it("lists every environment variable the CLI reads", function()
      local code = {}
      for _, path in ipairs { "lua/oss/cli/connection.lua", "lua/oss/cli/main.lua" } do
        for name in read(path):gmatch('getenv%("(OSS_[%w_]+)"%)') do code[name] = true end
      end
      for name in read("lua/oss/credentials/environment.lua"):gmatch('"(OSS_[%w_]+)"') do code[name] = true end
      local page = {}
      for _, row in ipairs(table_rows(page_section)) do
        for _, name in ipairs(backticked(row[1])) do
          if name:find("^OSS_") then page[name] = true end
        end
      end
      assert_same(code, page, "oss-inventory environment variables")
    end)

    it("lists the exit codes the CLI uses", function()
      local exits = read("lua/oss/cli/main.lua"):match("local EXIT = (%b{})")
      local code, page = {}, {}
      for number in exits:gmatch("= (%d+)") do code[number] = true end
      for _, row in ipairs(table_rows(page_section)) do
        local number = row[1]:match("^%s*(%d+)%s*$")
        if number then page[number] = true end
      end
      assert_same(code, page, "oss-inventory exit codes")
    end)
  end)

  describe("oss-emulator", function()
    local page_section = section("## Emulator: `oss-emulator`")

    it("lists every flag, and no other", function()
      -- The parser alone: the emulator itself (lua-http) is not needed to read its flags, and is missing on 5.4.
      local saved_loaded, saved_preload = package.loaded["oss.emulator"], package.preload["oss.emulator"]
      local saved_cli = package.loaded["oss.emulator.cli"]
      package.loaded["oss.emulator.cli"] = nil
      package.loaded["oss.emulator"] = nil
      package.preload["oss.emulator"] = function() return {} end
      local ok, cli = pcall(require, "oss.emulator.cli")
      package.loaded["oss.emulator.cli"] = saved_cli
      package.loaded["oss.emulator"] = saved_loaded
      package.preload["oss.emulator"] = saved_preload
      assert(ok, cli)
      local code = help_flags(cli._parser())
      local page = {}
      for _, row in ipairs(table_rows(page_section)) do
        for _, flag in ipairs(backticked(row[1])) do
          if flag:find("^%-") then page[flag] = true end
        end
      end
      assert_same(code, page, "oss-emulator flags")
    end)

    it("lists every admin path and method, and no other", function()
      local routes = read("lua/oss/emulator/admin.lua"):match("local ROUTES = (%b{})")
      local code = {}
      -- Each route is `name = {` at two spaces, its methods `METHOD = function` at four.
      local current
      for line in (routes .. "\n"):gmatch("([^\n]*)\n") do
        local name = line:match("^  ([%a_]+) = {")
        if name then current = name end
        local method = line:match("^    (%u+) = function")
        if method then code["/-/emulator/" .. current .. " " .. method] = true end
      end
      local page = {}
      for _, row in ipairs(table_rows(section("### Admin paths"))) do
        local path = backticked(row[1])[1]
        for method in row[2]:gmatch("%u+") do page[path .. " " .. method] = true end
      end
      assert_same(code, page, "emulator admin paths")
    end)
  end)
end)
