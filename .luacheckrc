-- luacheck settings: Lua 5.1 to 5.4 and LuaJIT; OpenResty's ngx where the cosocket transport reads it.
std = "max"
max_line_length = 120
read_globals = { "ngx" }
files["spec"] = { std = "+busted", max_line_length = false } -- table-driven cases read best one per line
