-- GET the URL given on wrk's command line, unchanged on every request (a cache may
-- answer it). Usage: wrk -s bench/wrk/get.lua URL
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
