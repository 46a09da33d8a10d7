-- The oss-inventory command: subcommands, their options, and exit codes (0 ok, 1 service/network, 2 usage, 3 changes,
-- 4 rules lost: see the recovery file).

local argparse = require "argparse"
local apply = require "oss.cli.apply"
local clients = require "oss.cli.clients"
local confirm = require "oss.cli.confirm"
local connection = require "oss.cli.connection"
local desired = require "oss.cli.desired"
local diagnosis = require "oss.cli.diagnosis"
local documents = require "oss.cli.documents"
local plan = require "oss.cli.plan"
local plan_json = require "oss.cli.plan_json"
local problems = require "oss.cli.problems"
local progress = require "oss.cli.progress"
local reader = require "oss.cli.reader"
local saved_plan = require "oss.cli.saved_plan"
local tallies = require "oss.cli.tally"
local recovery = require "oss.cli.recovery"
local text_writer = require "oss.cli.text_writer"
local utc = require "oss.utc"

local VERSION = require "oss.version"
local EXIT = { ok = 0, failure = 1, usage = 2, changes = 3, lost = 4 }
local PROGRAM = "oss-inventory"

local function say(text) io.stdout:write(text) end

local function complain(text)
  io.stderr:write(PROGRAM, ": ", text, "\n")
end

-- Validation problems are the caller's to fix (2); anything the service or network did, or an internal failure, is 1.
local function failed(err)
  complain(tostring(err))
  return (type(err) == "table" and err.kind == "validation") and EXIT.usage or EXIT.failure
end

local function report_problems(file, list)
  for _, problem in ipairs(list) do
    complain(("%s: %s: %s"):format(file, problem.path ~= "" and problem.path or "(document)", problem.reason))
  end
end

local function new_client(args)
  local client, err = connection.client(connection.settings(args))
  if not client then return nil, failed(err) end
  return client
end

-- Reads a document; prints why it cannot be read. -> document | nil, exit code
local function read_document(file, format)
  local document, reason = documents.read(file, format)
  if not document then
    complain(("%s: %s"):format(file, reason))
    return nil, EXIT.usage
  end
  return document
end

-- Every problem of a document of any kind, with element paths.
local function document_problems(document)
  if document.kind == "rule" then return problems.of_rule(document.value) end
  if document.kind == "rules" then return desired.rules_problems(document.value, "") end
  return desired.problems(document.value)
end

local function print_document(format, kind, value)
  local text, reason = documents.write(format, kind, value)
  if not text then
    complain("cannot print as " .. format .. ": " .. reason)
    return EXIT.failure
  end
  say(text)
  return EXIT.ok
end

local commands = {}

function commands.put(args)
  local document, code = read_document(args.file, args.format)
  if not document then return code end
  if document.kind == "state" then
    complain(args.file .. ": a desired state goes to plan or apply; put takes a rule or a list of rules")
    return EXIT.usage
  end
  local list = document_problems(document)
  if #list > 0 then
    report_problems(args.file, list)
    return EXIT.usage
  end
  local client, client_code = new_client(args)
  if not client then return client_code end
  local rules = document.kind == "rule" and { document.value } or document.value
  for _, rule in ipairs(rules) do
    local ok, err = client:put_bucket_inventory(args.bucket, rule)
    if not ok then return failed(err) end
  end
  return EXIT.ok
end

function commands.get(args)
  local client, code = new_client(args)
  if not client then return code end
  local rule, err = client:get_bucket_inventory(args.bucket, args.id)
  if not rule then return failed(err) end
  return print_document(args.output, "rule", rule)
end

local function current_rules(client, bucket)
  local rules = {}
  for rule, err in client:each_bucket_inventory(bucket) do
    if not rule then return nil, err end
    rules[#rules + 1] = rule
  end
  return rules
end

function commands.list(args)
  local client, code = new_client(args)
  if not client then return code end
  local rules, err = current_rules(client, args.bucket)
  if not rules then return failed(err) end
  return print_document(args.output, "rules", rules)
end

function commands.delete(args)
  local client, code = new_client(args)
  if not client then return code end
  for _, id in ipairs(args.id) do
    local ok, err = client:delete_bucket_inventory(args.bucket, id)
    if not ok then return failed(err) end
  end
  return EXIT.ok
end

function commands.validate(args)
  local result = EXIT.ok
  for _, file in ipairs(args.file) do
    local document, code = read_document(file, args.format)
    if not document then
      result = code
    else
      local list = document_problems(document)
      if #list > 0 then
        report_problems(file, list)
        result = EXIT.usage
      else
        local count = document.kind == "rule" and 1 or #document.value
        if document.kind == "state" then
          count = 0
          for _, entry in ipairs(desired.entries(document.value)) do count = count + #entry.rules end
        end
        say(("%s: ok (%d %s)\n"):format(file, count, count == 1 and "rule" or "rules"))
      end
    end
  end
  return result
end

-- Reads the desired state and each bucket's rules now, each through the client of its region and endpoint. A
-- bucket that cannot be read is named on stderr and left out; the others are still planned.
-- -> client_for, plans, document, unread (buckets that failed) | nil, exit code
local function make_plans(args, program)
  local document, code = read_document(args.file, args.format)
  if not document then return nil, code end
  if document.kind ~= "state" then
    complain(args.file .. ": expected a desired state { buckets = { [bucket] = { rules } } }")
    return nil, EXIT.usage
  end
  local list = desired.problems(document.value)
  if #list > 0 then
    report_problems(args.file, list)
    return nil, EXIT.usage
  end
  -- Every client is made before any bucket is read: wrong connection settings are a usage error, nothing sent.
  local base, client_for = connection.settings(args), clients.pool()
  local entries = desired.entries(document.value)
  for _, entry in ipairs(entries) do
    entry.settings = connection.located(base, entry.region, entry.endpoint)
    local client, err = client_for(entry.settings)
    if not client then
      if entry.region or entry.endpoint then err.message = ("buckets.%s: %s"):format(entry.bucket, err.message) end
      return nil, failed(err)
    end
  end
  if #entries == 0 then
    local _, err = client_for(base)
    if err then return nil, failed(err) end
  end
  local plans, unread = {}, {}
  local answers = reader.read_all(entries, { jobs = args.jobs, program = program, client_for = client_for })
  for index, entry in ipairs(entries) do
    local answer = answers[index]
    if answer.rules then
      local bucket_plan = plan.for_bucket(entry.bucket, entry.rules, answer.rules, args.prune)
      bucket_plan.settings, bucket_plan.digest = entry.settings, saved_plan.digest(answer.rules)
      bucket_plan.region, bucket_plan.endpoint = entry.region, entry.endpoint
      plans[#plans + 1] = bucket_plan
    else
      complain(diagnosis.read_failure(entry.bucket, answer.failure, document.format))
      unread[#unread + 1] = entry.bucket
    end
  end
  return client_for, plans, document, unread
end

-- After the plan: which buckets it leaves out, so the last line of a failed run says so.
local function report_unread(unread)
  if #unread == 0 then return end
  complain(("%d bucket(s) not planned, their rules could not be read: %s"):format(#unread,
    table.concat(unread, ", ")))
end

function commands.plan(args, program)
  local client_for, plans, document, unread = make_plans(args, program)
  if not client_for then return plans end
  say(args.output == "json" and plan_json.write(plans, unread) or plan.render(plans))
  io.stdout:flush()
  report_unread(unread)
  if #unread > 0 then
    if args.out then complain(("plan not saved to %s: some buckets could not be read"):format(args.out)) end
    return EXIT.failure
  end
  if args.out then
    local ok, reason = saved_plan.write(args.out, args.file, document.format, plans)
    if not ok then
      complain(("cannot save the plan to %s: %s"):format(args.out, reason))
      return EXIT.failure
    end
    -- On stderr: stdout stays the plan alone (JSON with -o json).
    complain(("saved the plan to %s; `oss-inventory apply %s` applies exactly it"):format(args.out, args.out))
  end
  if args.detailed_exitcode and plan.count(plans).changes > 0 then return EXIT.changes end
  return EXIT.ok
end

-- The lost rules go to a recovery file in the input's format; applying it puts them back. -> exit code
local function save_lost(args, input_format, plans, tally)
  local format = input_format == "json" and "json" or "lua"
  local buckets = tally:lost_buckets(plans)
  local path, reason = recovery.write(args.file, format, buckets)
  if path then
    complain(("%d rule(s) removed and not put back; they are saved in %s: apply that file to restore them")
      :format(tally.lost, path))
  else
    complain(("%d rule(s) removed and not put back, and the recovery file cannot be written (%s): they follow")
      :format(tally.lost, reason))
    io.stderr:write(text_writer.write(format, nil, { buckets = buckets }))
  end
  return EXIT.lost
end

-- A plan made now is carried out only once approved: --auto-approve, or "yes" typed on a terminal. A saved plan was
-- approved when it was reviewed (as Terraform treats one). -> true, or nil, exit code
local function approved(args, saved)
  if saved or args.auto_approve then return true end
  if not confirm.stdin_is_terminal() then
    complain("apply needs --auto-approve when its input is not a terminal (nothing was changed); "
      .. "or save the plan with plan --out FILE and apply FILE")
    return nil, EXIT.usage
  end
  if confirm.ask(io.stdin, io.stdout) then return true end
  complain("apply cancelled: nothing was changed")
  return nil, EXIT.failure
end

-- Applies plans (made now or saved): prints them, carries them out, counts and reports. -> exit code
local function carry_out(args, program, client_for, plans, format, unread, saved)
  say(plan.render(plans))
  local counts = plan.count(plans)
  if counts.changes == 0 then
    io.stdout:flush()
    report_unread(unread)
    return #unread > 0 and EXIT.failure or EXIT.ok
  end
  io.stdout:flush()
  local ok, code = approved(args, saved)
  if not ok then return code end
  local shown = progress.new(counts.changes, not args.no_progress and progress.stderr_is_terminal())
  local tally = tallies.new()
  local crashed = apply.run({
    jobs = args.jobs, program = program, client_for = client_for,
    on_event = function(event, bucket, action, id, err)
      shown:clear()
      local stream, line = tally:record(event, bucket, action, id, err)
      if stream == "stdout" then
        say(line .. "\n")
        io.stdout:flush()
      else
        complain(line)
      end
      shown:step(event ~= "done", bucket .. " " .. action .. " " .. id)
    end,
  }, plans)
  shown:finish()
  if crashed > 0 then complain(("%d worker process(es) stopped without reporting"):format(crashed)) end
  report_unread(unread)
  if tally.failures > 0 or crashed > 0 or #unread > 0 then
    complain(("apply stopped part way: %s; run it again to finish"):format(tally:line()))
    if tally.lost > 0 then return save_lost(args, format, plans, tally) end
    return EXIT.failure
  end
  say(("Apply complete: %s.\n"):format(tally:line()))
  return EXIT.ok
end

-- A saved plan is applied only while every bucket still has the rules it was made from. -> exit code
local function apply_saved(args, program, saved)
  local client_for = clients.pool()
  for _, bucket_plan in ipairs(saved.buckets) do
    local client, err = client_for(bucket_plan.settings)
    if not client then return failed(err) end
  end
  local answers = reader.read_all(saved.buckets, { jobs = args.jobs, program = program, client_for = client_for })
  local stale = 0
  for index, bucket_plan in ipairs(saved.buckets) do
    local answer = answers[index]
    if answer.failure then
      complain(diagnosis.read_failure(bucket_plan.bucket, answer.failure, saved.format))
      stale = stale + 1
    elseif saved_plan.digest(answer.rules) ~= bucket_plan.digest then
      complain(("%s: its rules changed since the plan was made"):format(bucket_plan.bucket))
      stale = stale + 1
    end
  end
  if stale > 0 then
    complain(("%s: the saved plan no longer matches %d bucket(s); nothing was changed: run plan again")
      :format(args.file, stale))
    return EXIT.failure
  end
  return carry_out(args, program, client_for, saved.buckets, saved.format, {}, true)
end

function commands.apply(args, program)
  local saved, reason = saved_plan.read(args.file)
  if reason then
    complain(("%s: %s"):format(args.file, reason))
    return EXIT.usage
  end
  if saved then return apply_saved(args, program, saved) end
  local client_for, plans, document, unread = make_plans(args, program)
  if not client_for then return plans end
  return carry_out(args, program, client_for, plans, document.format, unread)
end

-- Which provider supplies the credentials, their key id and when they expire; never the secret or the token. Asks
-- the provider itself rather than a client, so that it needs no region or endpoint. -> exit code
function commands.credentials(args)
  local provider, err = connection.credentials_provider(connection.settings(args))
  if not provider then return failed(err) end
  local value, get_err = provider:get()
  if not value then return failed(get_err) end
  local expiration = value.expiration and utc.iso8601(value.expiration) or "never"
  say(("provider: %s\naccess_key_id: %s\nexpiration: %s\n"):format(value.provider, value.access_key_id, expiration))
  return EXIT.ok
end

local function format_option(command)
  command:option("--format", "Input format: lua, json or xml (default: by file extension).")
    :choices(documents.FORMATS)
end

local function output_option(command)
  command:option("--output -o", "Output format: lua, json or xml.", "json"):choices(documents.FORMATS)
end

local function positive_integer(text)
  local number = tonumber(text)
  if not number or number < 1 or number % 1 ~= 0 then return nil, "--jobs expects a positive integer" end
  return math.floor(number)
end

local function build_parser()
  local parser = argparse(PROGRAM, "Manage OSS bucket inventory rules from scripts and pipelines.")
    :epilog("Exit codes: 0 success, 1 service, network or internal failure, 2 usage or validation error, "
      .. "3 plan has changes (with --detailed-exitcode), 4 apply removed rules it could not put back "
      .. "(they are in the recovery file it names).")
  parser:flag("--version", "Print the version and exit."):action(function()
    say(PROGRAM .. " " .. VERSION .. "\n")
    os.exit(EXIT.ok)
  end)
  parser:command_target("command")
  parser:require_command(true)
  -- argparse exits 1 on a usage error; 1 is reserved here for the service and the network.
  parser.error = function(current, message)
    io.stderr:write(("%s\n\nError: %s\n"):format(current:get_usage(), message))
    os.exit(EXIT.usage)
  end

  local put = parser:command("put", "Put the rule (or every rule of a list) in FILE on BUCKET; - reads stdin.")
  put:argument("bucket")
  put:argument("file")
  format_option(put)

  local get = parser:command("get", "Print one rule, in a form put accepts unchanged.")
  get:argument("bucket")
  get:argument("id")
  output_option(get)

  local list = parser:command("list", "Print every rule of a bucket (all pages).")
  list:argument("bucket")
  output_option(list)

  local delete = parser:command("delete", "Delete rules by Id.")
  delete:argument("bucket")
  delete:argument("id"):args("+")

  local validate = parser:command("validate", "Check rule and desired-state files offline; print every problem.")
  validate:argument("file"):args("+")
  format_option(validate)

  local plan_command = parser:command("plan", "Show what apply would change to reach the desired state in FILE.")
  local apply_command = parser:command("apply", "Change the buckets to the desired state in FILE.")
  for _, command in ipairs { plan_command, apply_command } do
    command:argument("file", "Desired state: { buckets = { [bucket] = { rule, ... } } } in Lua or JSON "
      .. "(for apply, also a plan saved by plan --out).")
    command:flag("--prune", "Also delete rules the file does not name.")
    format_option(command)
  end
  plan_command:flag("--detailed-exitcode", "Exit 3 when there are changes (0 when none).")
  plan_command:option("--out", "Also save the plan to FILE, for `apply FILE` to apply exactly that plan.")
    :argname("<file>")
  plan_command:option("--output -o", "text (default), or json: the plan as one document for scripts.", "text")
    :choices { "text", "json" }
  plan_command:option("--jobs -j", "Buckets read at once, each group in its own process.", "4")
    :convert(positive_integer)
  apply_command:option("--jobs -j", "Buckets read and applied at once, each group in its own process.", "4")
    :convert(positive_integer)
  apply_command:flag("--auto-approve", "Apply without asking; required when the input is not a terminal.")
  apply_command:flag("--no-progress", "No progress line, even on a terminal.")

  for _, command in ipairs { put, get, list, delete, plan_command, apply_command } do
    connection.add_options(command)
  end
  local credentials_command = parser:command("credentials",
    "Print which provider supplies the credentials, their key id and expiration (never the secret or token).")
  connection.add_credentials_options(credentials_command)
  return parser
end

local main = {}

-- Internal: the argparse parser run builds (spec/reference_spec.lua reads its flags).
main._build_parser = build_parser

-- args[first], args[first + 1], ... as a list (table.unpack is not in Lua 5.1).
local function words_from(args, first)
  local words = {}
  for index = first, #args do words[#words + 1] = args[index] end
  return words
end

--- Runs the command line `args` (without the program name); `program` is the list of words that started this
--- program (interpreter, its options, script), which apply's workers are started with.
--- -> exit code
function main.run(args, program)
  if args[1] == "_apply-worker" then
    -- Internal: one of apply's worker processes (see oss.cli.apply).
    return apply.worker(args[2], words_from(args, 3), clients.pool())
  elseif args[1] == "_read-worker" then
    -- Internal: one of the processes plan and apply read buckets with (see oss.cli.reader).
    return reader.worker(args[2], words_from(args, 3), clients.pool())
  end
  local parsed = build_parser():parse(args)
  return commands[parsed.command](parsed, program)
end

return main
