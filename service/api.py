"""The HTTP routes of DESIGN.md's API table, as a Flask blueprint.

A view parses, asks the store for the model, calls the runtime and returns bytes; it
does no math. /predict and /boundary are served before Flask by service.fastpath, from
its HOT_ROUTES; their rules are registered here from that same list, without views, so
that Flask's routing (405 with Allow, OPTIONS, url_map) knows every route. Every model
route names the model and version that answered: in the JSON body, and in X-Model /
X-Model-Version headers always.
"""

from flask import Blueprint, Response, current_app, request

from service import boundary_diff, handlers, metrics
from service.errors import ApiError
from service.fastpath import methods_by_path
from service.handlers import Context, Reply, json_reply, query

bp = Blueprint("api", __name__)
for _path, _methods in methods_by_path().items():
    # no view: service.fastpath answers every method a hot rule matches (HEAD with
    # GET); Flask only ever answers OPTIONS on it, or a 405 for other methods
    bp.add_url_rule(_path, endpoint=_path.strip("/"), methods=_methods)


@bp.route("/boundary/diff", methods=["GET", "POST"])
def diff() -> Response:
    return _response(boundary_diff.boundary_diff(request.environ, _context()))


@bp.get("/models")
def models() -> Response:
    query(request.environ, ())
    store = _context().store
    listing = [
        {
            "name": name,
            "versions": list(state.versions),
            "aliases": state.aliases,
            "served_version": state.served.version if state.served else None,
            "served_reference": _reference_status(state.served),
            "failed_versions": [
                {"version": version, "error": failure.reason}
                for version, failure in sorted(state.failures.items())
            ],
            # what the registry's readers skip: never served, shown so it is seen
            "ignored_entries": [
                {"entry": entry, "reason": reason} for entry, reason in state.ignored
            ],
            "aliases_error": state.aliases_error,
        }
        for name, state in sorted(store.states().items())
    ]
    return _response(
        json_reply({"default_model": store.default_model, "models": listing})
    )


@bp.get("/models/<name>")
def model_manifest(name: str) -> Response:
    return _manifest({"model": name})


@bp.get("/models/<name>/versions/<version>")
def version_manifest(name: str, version: str) -> Response:
    return _manifest({"model": name, "version": version})


def _manifest(fields: dict[str, str]) -> Response:
    query(request.environ, ())
    model = handlers.resolve_model(request.environ, _context(), fields)
    return _response(json_reply(handlers.public_manifest(model.manifest), model))


@bp.get("/healthz")
def healthz() -> Response:
    return _response(json_reply({"status": "ok"}))


@bp.get("/readyz")
def readyz() -> Response:
    draining = _context().settings.draining_file
    if draining is not None and draining.exists():
        # gunicorn got SIGTERM and serves on for the drain period: fail readiness
        # first, so a load balancer stops sending before the socket closes
        raise ApiError(
            503, "draining", "shutting down: finishing the requests in flight"
        )
    # Unavailable (503) until the default model has a verified version loaded
    model = handlers.resolve_model(request.environ, _context(), {})
    ready = {"status": "ready", "model": model.name, "version": model.version}
    return _response(json_reply(ready, model))


@bp.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(
        current_app.extensions["scratchnet.openapi"], content_type="application/json"
    )


def _reference_status(served: object) -> str | None:
    """How the served version's reference predictions fared on load: "verified",
    or "absent" for a schema-1 version that has none; None when nothing is served."""
    if served is None:
        return None
    return "absent" if served.loaded.reference_difference is None else "verified"


def _context() -> Context:
    return current_app.extensions["scratchnet.context"]


def _response(reply: Reply) -> Response:
    headers = [("Content-Type", reply.content_type), *reply.headers]
    return Response(reply.body, status=reply.status, headers=headers)
