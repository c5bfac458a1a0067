#!/bin/sh
# `make serve`: make sure the default model exists, then run the service under gunicorn.
# Trains and promotes the default model only when the registry has none, so restarting
# never retrains. Settings come from the environment (see docs/operations.md).
set -eu
cd "$(dirname "$0")/.."

REGISTRY=${SCRATCHNET_REGISTRY:-models}
MODEL=${SCRATCHNET_DEFAULT_MODEL:-moons}
export SCRATCHNET_REGISTRY="$REGISTRY" SCRATCHNET_DEFAULT_MODEL="$MODEL"

if ! .venv/bin/python -m trainer show --registry "$REGISTRY" --name "$MODEL" >/dev/null 2>&1; then
    echo "serve.sh: no '$MODEL' model in $REGISTRY yet; training one" >&2
    .venv/bin/python -m trainer train --registry "$REGISTRY" --name "$MODEL" --promote
fi

echo "serve.sh: serving '$MODEL' from the registry $REGISTRY on http://${SCRATCHNET_BIND:-127.0.0.1:8000}" >&2
echo "serve.sh: Ctrl-C stops it (requests in flight finish first)" >&2
exec .venv/bin/gunicorn -c deploy/gunicorn.conf.py 'service:create_app()'
