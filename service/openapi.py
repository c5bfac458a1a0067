"""The OpenAPI 3 document of the API, built from the settings so its limits are true.

Kept beside the routes rather than generated from them: the document states what a
client may send (maxItems, minimum, maximum) and every error it can get back, and those
numbers come from the same Settings the validators enforce.
"""

from service.auth import OPEN_PATHS, OPEN_PREFIXES
from service.boundary import MARGIN
from service.grid_fields import DEFAULT_GRID_SIZE, FORMATS, VALUES
from service.openapi_schemas import schemas
from service.settings import Settings
from service.v2.openapi import v2_errors, v2_paths, v2_schemas
from trainer.registry.names import ALIAS_PATTERN, VERSION_PATTERN

_ERROR_TEXT = {
    "400": "Malformed or invalid input; the message says what was wrong.",
    "404": "Unknown model, version or alias.",
    "413": "Too many points, grid cells, body bytes or response bytes.",
    "415": "The body is not declared as JSON.",
    "503": "No verified version of the model is loaded yet.",
    "401": "No bearer token, or one that is not listed (SCRATCHNET_API_TOKENS_FILE).",
}


def document(settings: Settings) -> dict:
    spec = _document(settings)
    if settings.api_tokens_file is not None:
        _require_tokens(spec)
    return spec


def _require_tokens(spec: dict) -> None:
    """Mark every route but the probes and metrics as needing a bearer token."""
    spec["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
    for path, operations in spec["paths"].items():
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            continue
        for operation in operations.values():
            operation["security"] = [{"bearer": []}]
            # each route family refuses in its own error shape (service.auth)
            v2 = path == "/v2" or path.startswith("/v2/")
            operation["responses"] |= v2_errors("401") if v2 else _errors("401")


def _document(settings: Settings) -> dict:
    bound = settings.max_abs_feature
    number = {"type": "number", "minimum": -bound, "maximum": bound}
    size = {
        "type": "integer",
        "minimum": 1,
        "maximum": min(settings.max_grid_side, settings.max_grid_cells),
        "default": DEFAULT_GRID_SIZE,
    }
    size_text = (
        f"at most {settings.max_grid_side} (SCRATCHNET_MAX_GRID_SIDE), and nx * ny "
        f"at most {settings.max_grid_cells} (SCRATCHNET_MAX_GRID_CELLS), else a 413."
    )
    grid_fields = {
        f"{axis}_{side}": {**number, "description": _bound_text(axis, side)}
        for axis in ("x", "y")
        for side in ("min", "max")
    }
    grid_fields |= {
        "nx": {**size, "description": f"Columns: {size_text}"},
        "ny": {**size, "description": f"Rows: {size_text}"},
        "format": {"type": "string", "enum": list(FORMATS), "default": "json"},
        "values": {
            "type": "string",
            "enum": list(VALUES),
            "default": "labels",
            "description": "labels: each cell's class; probabilities: each class's "
            "probability in each cell (format json or npy; with png a 400).",
        },
    }
    # the registry's own rules: a version it could hold or an alias it could set
    version_schema = {
        "type": "string",
        "pattern": f"^({VERSION_PATTERN.pattern}|{ALIAS_PATTERN.pattern})$",
    }
    model_params = [
        _query(
            "model",
            {"type": "string"},
            "Model name; default (also when empty): the default model.",
        ),
        _query(
            "version",
            version_schema,
            "A version number or an alias; default: the served version.",
        ),
    ]
    boundary_ok = {
        "description": "Class labels (or probabilities) of the grid.",
        "headers": _model_headers(),
        "content": {
            "application/json": {
                "schema": {"oneOf": [_ref("Boundary"), _ref("BoundaryProbabilities")]}
            },
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "description": "A .npy file: uint8 class indices into `classes`, "
                "shape (ny, nx); with values=probabilities float32, shape "
                "(ny, nx, n_classes).",
            },
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
    boundary_errors = _errors("400", "404", "413", "503")
    diff_params = [
        model_params[0],
        *(
            {**_query(side, version_schema, f"Version {side}: a number or an alias."),
             "required": True}
            for side in ("a", "b")
        ),
    ]  # fmt: skip
    diff_ok = {
        "description": "Where the two versions' labels differ, cell by cell.",
        "content": {
            "application/json": {"schema": _ref("BoundaryDiff")},
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "description": "A .npy file: uint8, 1 where the label changed, "
                "shape (ny, nx).",
            },
            "image/png": {
                "schema": {"type": "string", "format": "binary"},
                "description": "b's regions, changed cells in red, a's boundary in "
                "black and b's in white.",
            },
        },
    }
    diff_text = (
        " The two versions must take the same features and have the same classes, "
        "else a 400 (incomparable_versions). Bounds default to the union of both "
        f"versions' data extents plus {MARGIN:g}."
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "scratchnet",
            "version": "1",
            "description": (
                "Predictions and decision boundaries of the tutorial's network. Every "
                'error is JSON: {"error": {"status", "code", "message"}}. '
                f"Bodies are limited to {settings.max_body_bytes} bytes. A JSON body "
                "that gives a field twice is a 400 (duplicate_field). In query "
                "strings numbers are spelt as in JSON. Requests the HTTP server "
                "itself cannot parse (a malformed request line or header, a request "
                "line over 4094 bytes: 414, headers over 8190 bytes: 431) are "
                "refused by gunicorn, in the same error shape."
            ),
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Classify a batch of points.",
                    "parameters": model_params,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref("PredictRequest")}
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "A label and a probability row per point.",
                            "headers": _model_headers(),
                            "content": {
                                "application/json": {"schema": _ref("Prediction")}
                            },
                        },
                        **_errors("400", "404", "413", "415", "503"),
                    },
                }
            },
            "/boundary": _grid_operations(
                ("Classify a grid over the two features.", None),
                ("Classify a grid; the grid fields in a JSON body.", None),
                model_params,
                grid_fields,
                boundary_ok,
                boundary_errors,
            ),
            "/boundary/diff": _grid_operations(
                ("Grid cells whose label differs between two versions.", diff_text),
                ("The same diff; the grid fields in a JSON body.", diff_text),
                diff_params,
                grid_fields,
                diff_ok,
                boundary_errors,
            ),
            "/models": {
                "get": {
                    "summary": "Every model: versions, aliases, served version.",
                    "responses": {
                        "200": {
                            "description": "The registry as this worker sees it.",
                            "content": {"application/json": {"schema": _ref("Models")}},
                        },
                        **_errors("400"),
                    },
                }
            },
            "/models/{name}": {
                "get": {
                    "summary": "The served version's manifest.",
                    "parameters": [_path("name", {"type": "string"})],
                    "responses": {
                        "200": _manifest_ok(),
                        **_errors("400", "404", "503"),
                    },
                }
            },
            "/models/{name}/versions/{version}": {
                "get": {
                    "summary": "One version's manifest (a number or an alias).",
                    "parameters": [
                        _path("name", {"type": "string"}),
                        _path("version", version_schema),
                    ],
                    "responses": {
                        "200": _manifest_ok(),
                        **_errors("400", "404", "503"),
                    },
                }
            },
            "/models/{name}/versions/{version}/data": {
                "get": {
                    "summary": "The version's data sample: at most 2,000 of its "
                    "training and validation points, with their labels and split.",
                    "parameters": [
                        _path("name", {"type": "string"}),
                        _path("version", version_schema),
                    ],
                    "responses": {
                        "200": {
                            "description": "Stored with the version, verified "
                            "against its sha256 in the manifest.",
                            "headers": _model_headers(),
                            "content": {
                                "application/json": {"schema": _ref("DataSample")}
                            },
                        },
                        **_errors("400", "404", "503"),
                    },
                }
            },
            "/": {
                "get": {
                    "summary": "The decision-boundary explorer (an HTML page).",
                    "responses": {
                        "200": {
                            "description": "The page; its script and style come "
                            "from /explorer/, under a strict Content-Security-Policy.",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **_errors("400"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness: 200 while the process serves.",
                    "responses": {"200": _plain_ok("The process is alive.")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: 200 once the default model is loaded.",
                    "responses": {"200": _plain_ok("Ready."), **_errors("503")},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics, summed over gunicorn workers.",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document.",
                            "content": {
                                "application/json": {"schema": {"type": "object"}}
                            },
                        }
                    },
                }
            },
            # the Open Inference Protocol (service.v2), with its own error shape
            **v2_paths(settings, version_schema),
        },
        "components": {
            "schemas": schemas(settings, number) | v2_schemas(settings, number)
        },
    }


def _bound_text(axis: str, side: str) -> str:
    feature = "xy".index(axis)
    if side == "min":
        return (
            f"Default: training data's min of feature {feature} - {MARGIN:g}. Must be "
            f"less than {axis}_max (after defaults are filled in), else a 400."
        )
    return (
        f"Default: training data's max of feature {feature} + {MARGIN:g}. Must be "
        f"greater than {axis}_min, else a 400."
    )


def _grid_operations(
    get_text: tuple[str, str | None],
    post_text: tuple[str, str | None],
    params: list,
    grid_fields: dict,
    ok: dict,
    get_errors: dict,
) -> dict:
    """A grid route's GET (grid fields in the query) and POST (in an optional JSON
    body, the query keeping `params`): /boundary and /boundary/diff alike."""

    def described(text: tuple[str, str | None]) -> dict:
        summary, description = text
        return {"summary": summary} | (
            {"description": description.strip()} if description else {}
        )

    return {
        "get": described(get_text)
        | {
            "parameters": params
            + [_query(name, schema, None) for name, schema in grid_fields.items()],
            "responses": {"200": ok, **get_errors},
        },
        "post": described(post_text)
        | {
            "parameters": params,
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": grid_fields,
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {"200": ok, **_errors("400", "404", "413", "415", "503")},
        },
    }


def _query(name: str, schema: dict, description: str | None) -> dict:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _path(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: str) -> dict:
    return {
        status: {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for status in statuses
    }


def _model_headers() -> dict:
    return {
        "X-Model": {
            "schema": {"type": "string"},
            "description": "Model that answered.",
        },
        "X-Model-Version": {
            "schema": {"type": "integer"},
            "description": "Its version.",
        },
    }


def _manifest_ok() -> dict:
    return {
        "description": "The manifest.json of the version, verified.",
        "headers": _model_headers(),
        "content": {"application/json": {"schema": _ref("Manifest")}},
    }


def _plain_ok(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
