-- POST a V2 infer body read from a file, the same body on every request; with a
-- second argument, the binary tensor extension's Inference-Header-Content-Length.
-- Usage: wrk -s bench/wrk/post_v2.lua URL -- BODY_FILE [JSON_HEADER_LENGTH]
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

function init(args)
   local file = assert(io.open(args[1], "rb"))
   wrk.method = "POST"
   wrk.body = file:read("*a")
   file:close()
   if args[2] then
      wrk.headers["Content-Type"] = "application/octet-stream"
      wrk.headers["Inference-Header-Content-Length"] = args[2]
   else
      wrk.headers["Content-Type"] = "application/json"
   end
end
