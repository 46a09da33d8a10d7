-- Asking before apply changes anything: on a terminal the operator types yes; a script says so with --auto-approve.

local confirm = {}

--- True when standard input is a terminal (asked of the shell: plain Lua has no isatty).
function confirm.stdin_is_terminal()
  local result = os.execute("test -t 0")
  return result == true or result == 0
end

--- Asks on `output` and reads one line from `input`; only "yes" approves.
function confirm.ask(input, output)
  output:write("\nDo you want to apply these changes? Only 'yes' is accepted: ")
  output:flush()
  local answer = input:read("*l")
  return answer ~= nil and answer:match("^%s*(.-)%s*$") == "yes"
end

return confirm
