-- POST the JSON body read from a file, the same body on every request.
-- Usage: wrk -s bench/wrk/post.lua URL -- BODY_FILE
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

function init(args)
   local file = assert(io.open(args[1], "rb"))
   wrk.method = "POST"
   wrk.body = file:read("*a")
   wrk.headers["Content-Type"] = "application/json"
   file:close()
   -- no request() here: wrk formats this request once, after init, and sends the
   -- same buffer every time instead of calling Lua per request
end
