"""The V2 routes in the OpenAPI document: paths, bodies and the protocol's errors.

Built from the route table (service.v2.routes) and the same Settings the request
checks enforce, so the document lists exactly the routes served and says the limits.
The binary tensor extension is described in words: JSON Schema cannot state a body
that is a JSON header followed by raw tensors.
"""

import copy

from service.settings import Settings
from service.v2.metadata import EXTENSIONS, INPUT, INPUT_DTYPES, OUTPUTS
from service.v2.routes import templates

_ERROR_TEXT = {
    "400": "Malformed or invalid request; the message says what was wrong.",
    "401": "No bearer token, or one that is not listed (SCRATCHNET_API_TOKENS_FILE).",
    "404": "Unknown model, version or alias.",
    "413": "Too many points or body bytes.",
    "415": "A compressed body (Content-Encoding).",
    "503": "No verified version of the model is loaded yet, or shutting down.",
}
_BINARY = (
    "With the binary tensor extension the body is the JSON inference header followed "
    "by the raw little-endian tensors; the header `Inference-Header-Content-Length` "
    "gives the length of the JSON part, and an input carries "
    "`parameters.binary_data_size` instead of `data`. Every size is checked against "
    "the body: a mismatch is a 400."
)


def v2_paths(settings: Settings, version_schema: dict) -> dict:
    """The OpenAPI path items of every V2 route."""
    name = _path_parameter("name", {"type": "string", "minLength": 1})
    version = _path_parameter("version", version_schema)
    operations = {
        "": _get("Server metadata: name, version, extensions.", "V2Server"),
        "/health/live": _get("Liveness: 200 while the process serves.", "V2Live"),
        "/health/ready": _get(
            "Readiness: 200 once the default model is loaded.", "V2Ready", "503"
        ),
        "/models/{name}": _get(
            "Model metadata of the served version: its tensors and versions.",
            "V2Model",
            "400",
            "404",
            "503",
        ),
        "/models/{name}/ready": _get(
            "Whether the model can answer now.", "V2ModelReady", "400", "404", "503"
        ),
        "/models/{name}/infer": _infer(settings),
    }
    paths = {}
    for template, methods in templates().items():
        tail = template.removeprefix("/v2")
        unversioned = tail.replace("/versions/{version}", "")
        operation = operations[unversioned]
        parameters = []
        if "{name}" in tail:
            parameters.append(name)
        if "{version}" in tail:
            parameters.append(version)
        item = {}
        for method in methods:
            copied = copy.deepcopy(operation)
            if parameters:
                copied["parameters"] = parameters
            item[method.lower()] = copied
        paths[template] = item
    return paths


def v2_errors(*statuses: str) -> dict:
    return {
        status: {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": _ref("V2Error")}},
        }
        for status in statuses
    }


def v2_schemas(settings: Settings, number: dict) -> dict:
    """Component schemas of the V2 bodies; `number` is one feature value, bounded."""
    tensor_shape = {"type": "array", "items": {"type": "integer"}}
    metadata_tensor = {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": tensor_shape,
        },
    }
    flag = {"type": "boolean"}
    return {
        "V2Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "V2Server": {
            "type": "object",
            "required": ["name", "version", "extensions"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(EXTENSIONS)},
                },
            },
        },
        "V2Live": _flag_object("live"),
        "V2Ready": _flag_object("ready"),
        "V2ModelReady": {
            "type": "object",
            "required": ["name", "version", "ready"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "ready": {"type": "boolean"},
            },
        },
        "V2Model": {
            "type": "object",
            "required": ["name", "versions", "platform", "inputs", "outputs"],
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": metadata_tensor},
                "outputs": {"type": "array", "items": metadata_tensor},
            },
        },
        "V2InferRequest": {
            "type": "object",
            "required": ["inputs"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string"},
                "model_name": {
                    "type": "string",
                    "description": "If given, the model the URL names.",
                },
                "model_version": {
                    "type": "string",
                    "description": "If given, the version that answers.",
                },
                "parameters": {
                    "type": "object",
                    "properties": {"binary_data_output": flag},
                },
                "inputs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": _input_schema(settings, number),
                },
                "outputs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": len(OUTPUTS),
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "enum": list(OUTPUTS)},
                            "parameters": {
                                "type": "object",
                                "properties": {"binary_data": flag},
                            },
                        },
                    },
                },
            },
        },
        "V2InferResponse": {
            "type": "object",
            "required": ["model_name", "model_version", "outputs"],
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "outputs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "datatype", "shape", "data"],
                        "properties": {
                            "name": {"type": "string", "enum": list(OUTPUTS)},
                            "datatype": {
                                "type": "string",
                                "enum": ["FP64", "INT64", "BYTES"],
                            },
                            "shape": tensor_shape,
                            "data": {
                                "type": "array",
                                "items": {
                                    "oneOf": [
                                        {"type": "number"},
                                        {"type": "string"},
                                    ]
                                },
                            },
                        },
                    },
                },
            },
        },
    }


def _input_schema(settings: Settings, number: dict) -> dict:
    count = {"type": "integer", "minimum": 1, "maximum": settings.max_points}
    return {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "additionalProperties": False,
        "description": "Shape [n_points, n_features]; n_features is the model's "
        "(GET /v2/models/{name}: inputs[0].shape[1]), n_points at most "
        f"{settings.max_points} (SCRATCHNET_MAX_POINTS, else a 413). `data` holds "
        "n_points * n_features values, flat in row-major order or nested as rows; "
        "INT32 and INT64 values are converted to FP64, FP32 ones widened exactly.",
        "properties": {
            "name": {"type": "string", "enum": [INPUT]},
            "datatype": {"type": "string", "enum": list(INPUT_DTYPES)},
            "shape": {"type": "array", "minItems": 2, "maxItems": 2, "items": count},
            "parameters": {
                "type": "object",
                "properties": {
                    "binary_data_size": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Bytes of this tensor in the binary section.",
                    }
                },
            },
            "data": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "anyOf": [
                        number,
                        {"type": "array", "minItems": 1, "items": number},
                    ]
                },
            },
        },
    }


def _infer(settings: Settings) -> dict:
    return {
        "summary": "Classify a batch of points (Open Inference Protocol infer).",
        "description": _BINARY
        + f" Bodies are limited to {settings.max_body_bytes} bytes.",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": _ref("V2InferRequest"),
                    "example": {
                        "id": "1",
                        "inputs": [
                            {
                                "name": INPUT,
                                "datatype": "FP64",
                                "shape": [2, 2],
                                "data": [0.5, 0.25, -1.0, 1.5],
                            }
                        ],
                    },
                }
            },
        },
        "responses": {
            "200": {
                "description": "The outputs asked for (both by default): JSON, or "
                "with any output in binary the JSON header and the raw tensors "
                "(`Inference-Header-Content-Length` gives the header's length).",
                "content": {
                    "application/json": {"schema": _ref("V2InferResponse")},
                    "application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            },
            **v2_errors("400", "404", "413", "415", "503"),
        },
    }


def _get(summary: str, schema: str, *errors: str) -> dict:
    return {
        "summary": summary,
        "responses": {
            "200": {
                "description": summary,
                "content": {"application/json": {"schema": _ref(schema)}},
            },
            **v2_errors(*errors),
        },
    }


def _flag_object(name: str) -> dict:
    return {
        "type": "object",
        "required": [name],
        "properties": {name: {"type": "boolean"}},
    }


def _path_parameter(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}
