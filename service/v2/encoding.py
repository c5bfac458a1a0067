"""The V2 infer response: JSON `data`, or the binary tensor extension's raw bytes.

An output asked for in binary leaves its `data` out of the JSON header and carries
`parameters.binary_data_size`; its bytes follow the header in the order of the
outputs, and `Inference-Header-Content-Length` says where the header ends. With no
binary output the response is plain JSON.
"""

import struct

import numpy as np
import orjson

from service.runtime import ServedModel
from service.v2.metadata import PROBABILITIES, labels_datatype

HEADER_LENGTH = "Inference-Header-Content-Length"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def encode_infer(
    model: ServedModel,
    request_id: str | None,
    outputs: tuple[tuple[str, bool], ...],
    indices: np.ndarray,
    P: np.ndarray,
) -> tuple[str, bytes, tuple[tuple[str, str], ...]]:
    """(content type, body, extra headers) of the answer.

    Parameters
    ----------
    indices : (n_samples,) class indices into `model.classes`
    P : (n_samples, n_classes) float64 probabilities
    """
    header: dict = {"model_name": model.name, "model_version": model.version_text}
    if request_id is not None:
        header["id"] = request_id
    tensors, chunks = [], []
    for name, binary in outputs:
        if name == PROBABILITIES:
            tensor = {"name": name, "datatype": "FP64", "shape": list(P.shape)}
            values = P
        else:
            labels = model.labels(indices)
            tensor = {"name": name, "datatype": labels_datatype(model)}
            tensor["shape"] = [len(indices)]
            values = labels
        if binary:
            raw = _raw(values, tensor["datatype"])
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            tensor["data"] = _flat(values, tensor["datatype"])
        tensors.append(tensor)
    header["outputs"] = tensors
    body = orjson.dumps(header, option=_OPTIONS)
    if not chunks:
        return "application/json", body, ()
    length = ((HEADER_LENGTH, str(len(body))),)
    return "application/octet-stream", b"".join([body, *chunks]), length


def _flat(values: np.ndarray | list, datatype: str) -> np.ndarray | list:
    if datatype == "BYTES":
        return [str(label) for label in values]
    # row-major, as the protocol lays out `data`
    return values if values.ndim == 1 else values.reshape(-1)


def _raw(values: np.ndarray | list, datatype: str) -> bytes:
    if datatype == "FP64":
        return values.astype("<f8", copy=False).tobytes()
    if datatype == "INT64":
        return np.asarray(values).astype("<i8", copy=False).tobytes()
    # BYTES: each element a 4-byte little-endian length, then its UTF-8 bytes
    encoded = [str(label).encode("utf-8") for label in values]
    return b"".join(struct.pack("<I", len(e)) + e for e in encoded)
