"""A V2 infer request, checked field by field, as the points and outputs it asks for.

The protocol's request object (`id`, `parameters`, `inputs`, `outputs`) is validated
here against the model that will answer: one input `points` of shape [N, n_features],
its values in JSON `data` (flat or nested) or in the binary section with
`parameters.binary_data_size`. Every size is checked against the bytes that arrived
before an array is built from them.
"""

import json
from dataclasses import dataclass
from itertools import chain

import numpy as np
import orjson

from service.errors import ApiError, bad_request
from service.runtime import ServedModel
from service.v2.framing import Framed
from service.v2.metadata import INPUT, INPUT_DTYPES, OUTPUTS
from service.validation import repeated_keys

# model_name and model_version: KServe's client repeats the URL's in the body
_REQUEST_FIELDS = (
    "id",
    "parameters",
    "inputs",
    "outputs",
    "model_name",
    "model_version",
)
_INPUT_FIELDS = ("name", "shape", "datatype", "parameters", "data")
_OUTPUT_FIELDS = ("name", "parameters")
# Triton's parameters this server has no use for: refused, never silently ignored
_UNSUPPORTED = {
    "shared_memory_region": "the shared-memory extension is not supported; send "
    "the tensor in the body",
    "classification": "the classification extension is not supported; ask for "
    "the 'labels' output",
}
_SMALL = 64  # values below which the data is checked in Python
_EXAMPLE = (
    '{"inputs": [{"name": "points", "datatype": "FP64", "shape": [1, 2], '
    '"data": [0.5, 0.5]}]}'
)


@dataclass(frozen=True)
class InferRequest:
    """What to compute and how to send it back.

    X : (n_samples, n_features) float64, finite, within the feature bound
    outputs : (name, binary) in the order the response lists them
    """

    id: str | None
    X: np.ndarray
    outputs: tuple[tuple[str, bool], ...]


def parse_infer(
    framed: Framed, model: ServedModel, max_points: int, max_abs: float
) -> InferRequest:
    doc = _object(framed.doc, "the inference request", _REQUEST_FIELDS, _EXAMPLE)
    require_unique_keys(doc, framed.header)
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise bad_request("invalid_request", "id must be a string")
    if "model_name" in doc or "model_version" in doc:
        _same_model(doc, model)
    parameters = _parameters(doc, "the request")
    binary_default = _flag(parameters, "binary_data_output", "the request")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise bad_request(
            "invalid_inputs",
            f"inputs must be a list of exactly one tensor named {INPUT!r}, like "
            f"{_EXAMPLE}",
        )
    X = _points(inputs[0], framed.binary, model.n_features, max_points, max_abs)
    return InferRequest(request_id, X, _outputs(doc.get("outputs"), binary_default))


def _same_model(doc: dict, model: ServedModel) -> None:
    for field, answering in (("model_name", model.name), ("model_version", None)):
        value = doc.get(field)
        if value is None:
            continue
        if field == "model_version" and value == model.version_text:
            continue
        if value != answering:
            raise bad_request(
                "invalid_request",
                f"the body's {field} {_shown(value)} is not the model the URL names "
                f"({model.name!r} version {model.version}); name it in the URL, "
                "/v2/models/{name}/versions/{version}/infer",
            )


def require_unique_keys(doc: dict, header: bytes) -> None:
    """400 when an object of the header gives a key twice (orjson keeps the last).

    Proof by counting, as service.validation does for /predict: with no `\\u`
    escape in the header, every quote in it opens or closes a string or is written
    `\\"`, as orjson writes them too. So the header has exactly the quotes of `doc`
    written out with its tensor data left out (a number in its place) only if no key
    was dropped as a repeat and no string hides in the data. Any other header is
    parsed again to find the repeat.
    """
    if b"\\u" not in header and header.count(b'"') == _quotes_without_data(doc):
        return
    repeated = repeated_keys(header)
    if repeated:
        raise bad_request(
            "duplicate_field",
            f"{repeated[0]!r} is given twice in one object; send each field once",
        )


def _quotes_without_data(doc: dict) -> int:
    inputs = doc.get("inputs")
    if isinstance(inputs, list):
        stripped = [
            {k: 0 if k == "data" else v for k, v in tensor.items()}
            if isinstance(tensor, dict)
            else tensor
            for tensor in inputs
        ]
        doc = {**doc, "inputs": stripped}
    return orjson.dumps(doc).count(b'"')


def _points(
    tensor: object,
    binary: memoryview | None,
    n_features: int,
    max_points: int,
    max_abs: float,
) -> np.ndarray:
    tensor = _object(tensor, "inputs[0]", _INPUT_FIELDS, _EXAMPLE)
    if tensor.get("name") != INPUT:
        raise bad_request(
            "invalid_inputs",
            f"the input must be named {INPUT!r}, got {_shown(tensor.get('name'))}",
        )
    datatype = tensor.get("datatype")
    if datatype not in INPUT_DTYPES:
        raise bad_request(
            "invalid_datatype",
            f"input {INPUT!r} has datatype {_shown(datatype)}; send one of "
            f"{', '.join(INPUT_DTYPES)}",
        )
    n_samples = _shape(tensor.get("shape"), n_features, max_points)
    parameters = _parameters(tensor, f"input {INPUT!r}")
    size = parameters.get("binary_data_size")
    dtype = INPUT_DTYPES[datatype]
    if size is None:
        if binary is not None and len(binary):
            raise bad_request(
                "invalid_binary",
                f"the body has {len(binary)} bytes after the inference header but no "
                "input declares parameters.binary_data_size",
            )
        return _from_json(tensor, datatype, n_samples, n_features, max_abs)
    if "data" in tensor:
        raise bad_request(
            "invalid_binary",
            f"input {INPUT!r} has both data and parameters.binary_data_size; send "
            "its values one way",
        )
    X = _from_binary(size, binary, dtype, datatype, n_samples, n_features)
    _check_bounds(X, max_abs)
    return X


def _shape(shape: object, n_features: int, max_points: int) -> int:
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or type(shape[0]) is not int  # bool is an int subclass: refused here
        or type(shape[1]) is not int
    ):
        raise bad_request(
            "invalid_shape",
            f"input {INPUT!r} needs shape [n_points, {n_features}], got "
            f"{_shown(shape)}",
        )
    n_samples, width = shape
    if width != n_features:
        raise bad_request(
            "invalid_shape",
            f"each point needs {n_features} features; the shape [{n_samples}, "
            f"{width}] gives {width}",
        )
    if n_samples < 1:
        raise bad_request(
            "invalid_shape", f"shape [{n_samples}, {width}]: send at least one point"
        )
    if n_samples > max_points:
        raise ApiError(
            413,
            "too_many_points",
            f"{n_samples} points sent; the limit is {max_points} per request",
        )
    return n_samples


def _from_binary(
    size: object,
    binary: memoryview | None,
    dtype: np.dtype,
    datatype: str,
    n_samples: int,
    n_features: int,
) -> np.ndarray:
    if binary is None:
        raise bad_request(
            "invalid_binary",
            "parameters.binary_data_size needs the binary tensor extension: send "
            "the Inference-Header-Content-Length header",
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise bad_request(
            "invalid_binary",
            f"parameters.binary_data_size must be a byte count, got {_shown(size)}",
        )
    expected = n_samples * n_features * dtype.itemsize
    if size != expected:
        raise bad_request(
            "invalid_binary",
            f"binary_data_size is {size}, but shape [{n_samples}, {n_features}] of "
            f"{datatype} takes {expected} bytes",
        )
    if len(binary) != size:
        raise bad_request(
            "invalid_binary",
            f"the body has {len(binary)} bytes after the inference header; input "
            f"{INPUT!r} declares {size}",
        )
    values = np.frombuffer(binary, dtype=dtype).reshape(n_samples, n_features)
    return values.astype(np.float64, copy=False)


def _from_json(
    tensor: dict, datatype: str, n_samples: int, n_features: int, max_abs: float
) -> np.ndarray:
    data = tensor.get("data")
    if not isinstance(data, list):
        raise bad_request(
            "invalid_data",
            f"input {INPUT!r} needs data (a list of numbers) or "
            "parameters.binary_data_size",
        )
    if data and isinstance(data[0], list):
        # nested as rows, as the protocol allows: n_samples lists of n_features
        if (
            len(data) != n_samples
            or set(map(type, data)) != {list}
            or set(map(len, data)) != {n_features}
        ):
            raise bad_request(
                "invalid_data",
                f"data nested in rows must be {n_samples} lists of {n_features} "
                f"numbers, as the shape [{n_samples}, {n_features}] says",
            )
        values = chain.from_iterable
    elif len(data) != n_samples * n_features:
        raise bad_request(
            "invalid_data",
            f"data has {len(data)} values; the shape [{n_samples}, {n_features}] "
            f"needs {n_samples * n_features}",
        )
    else:
        values = iter
    allowed = {int} if datatype.startswith("INT") else {int, float}
    if not set(map(type, values(data))) <= allowed:
        kind = "integers" if datatype.startswith("INT") else "numbers"
        raise bad_request(
            "invalid_data",
            f"input {INPUT!r} is {datatype}: its data must be {kind} only (no "
            "strings, booleans or nulls)",
        )
    n_values = n_samples * n_features
    if n_values <= _SMALL and datatype != "FP32":
        # a few values: checked in Python, cheaper than numpy's set-up (as /predict)
        flat = list(values(data))
        if datatype == "INT32" and not -(2**31) <= min(flat) <= max(flat) < 2**31:
            raise _int32_range()
        if max(map(abs, flat)) > max_abs:
            _check_bounds(np.array(flat).reshape(n_samples, n_features), max_abs)
        return np.array(flat, dtype=np.float64).reshape(n_samples, n_features)
    X = np.fromiter(values(data), dtype=np.float64, count=n_values)
    X = X.reshape(n_samples, n_features)
    if datatype == "FP32":
        # the values the client declared: rounded to float32, as binary FP32 would be
        with np.errstate(over="ignore"):
            X = X.astype(np.float32).astype(np.float64)
    elif datatype == "INT32" and not -(2**31) <= X.min() <= X.max() < 2**31:
        raise _int32_range()
    _check_bounds(X, max_abs)
    return X


def _int32_range() -> ApiError:
    return bad_request(
        "invalid_data", f"input {INPUT!r} is INT32: a value is out of its range"
    )


def _check_bounds(X: np.ndarray, max_abs: float) -> None:
    # one pass that also refuses nan and inf (a comparison with nan is False)
    if np.abs(X).max() <= max_abs:
        return
    flat = np.flatnonzero(~(np.abs(X) <= max_abs).ravel())[0]
    i, j = divmod(int(flat), X.shape[1])
    raise bad_request(
        "invalid_points",
        f"point {i} feature {j} is {X[i, j]!r}; numbers must be finite, within "
        f"±{max_abs:g}",
    )


def _outputs(outputs: object, binary_default: bool) -> tuple[tuple[str, bool], ...]:
    if outputs is None:
        return tuple((name, binary_default) for name in OUTPUTS)
    if not isinstance(outputs, list) or not outputs:
        raise bad_request(
            "invalid_outputs",
            f"outputs must be a non-empty list of {{'name': ...}} with names from "
            f"{', '.join(OUTPUTS)}; leave it out for both",
        )
    chosen: dict[str, bool] = {}
    for i, output in enumerate(outputs):
        output = _object(output, f"outputs[{i}]", _OUTPUT_FIELDS, '{"name": "labels"}')
        name = output.get("name")
        if name not in OUTPUTS:
            raise bad_request(
                "invalid_outputs",
                f"outputs[{i}] names {_shown(name)}; outputs are {', '.join(OUTPUTS)}",
            )
        if name in chosen:
            raise bad_request("invalid_outputs", f"output {name!r} is asked twice")
        parameters = _parameters(output, f"output {name!r}")
        binary = _flag(parameters, "binary_data", f"output {name!r}")
        chosen[name] = binary if "binary_data" in parameters else binary_default
    return tuple(chosen.items())


def _parameters(owner: dict, where: str) -> dict:
    parameters = owner.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise bad_request(
            "invalid_parameters", f"{where}: parameters must be an object"
        )
    for name, reason in _UNSUPPORTED.items():
        if name in parameters:
            raise bad_request("unsupported_parameter", f"{where}: {reason}")
    return parameters


def _flag(parameters: dict, name: str, where: str) -> bool:
    value = parameters.get(name, False)
    if not isinstance(value, bool):
        raise bad_request(
            "invalid_parameters", f"{where}: parameters.{name} must be true or false"
        )
    return value


def _object(value: object, where: str, fields: tuple[str, ...], example: str) -> dict:
    if not isinstance(value, dict):
        raise bad_request(
            "invalid_request", f"{where} must be a JSON object like {example}"
        )
    if value.keys() <= set(fields):
        return value
    unknown = sorted(key for key in value if key not in fields)
    if unknown:
        raise bad_request(
            "unknown_field",
            f"{where} has unknown field(s) {', '.join(map(_shown, unknown))}; it "
            f"takes {', '.join(fields)}",
        )
    return value


def _shown(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 64 else text[:61] + "..."
