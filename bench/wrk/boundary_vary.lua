-- GET a boundary grid whose bounds move by a few nanounits on every request, so no
-- response cache can answer it while the work per request stays the same.
-- Usage: wrk -s bench/wrk/boundary_vary.lua URL -- X_MIN X_MAX Y_MIN Y_MAX
-- where URL carries every other query parameter (nx, ny, format, model).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local next_thread_id = 0

-- runs in wrk's main Lua state, once per thread, before the threads start
function setup(thread)
   thread:set("thread_id", next_thread_id)
   next_thread_id = next_thread_id + 1
end

local counter = 0

function init(args)
   x_min, x_max = tonumber(args[1]), tonumber(args[2])
   y_min, y_max = tonumber(args[3]), tonumber(args[4])
   separator = wrk.path:find("?", 1, true) and "&" or "?"
end

function request()
   counter = counter + 1
   -- distinct across threads too: each thread owns its own block of offsets
   local eps = (thread_id * 1e7 + counter) * 1e-9
   local path = string.format(
      "%s%sx_min=%.12g&x_max=%.12g&y_min=%.12g&y_max=%.12g",
      wrk.path, separator, x_min - eps, x_max + eps, y_min - eps, y_max + eps)
   return wrk.format(nil, path)
end
