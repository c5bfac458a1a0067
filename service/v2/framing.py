"""An infer request body split into its JSON header and its binary section.

Triton's binary tensor extension sends `Inference-Header-Content-Length: N`: the first
N bytes are the JSON inference header, the rest the raw tensors. Kept apart from the
tensor checks because this is where a lie about a length is caught: every size is
compared with the bytes that arrived, and nothing is read past them.
"""

from dataclasses import dataclass

from service.errors import bad_request
from service.validation import parse_json

HEADER_LENGTH_KEY = "HTTP_INFERENCE_HEADER_CONTENT_LENGTH"


@dataclass(frozen=True)
class Framed:
    """The parsed JSON header, its raw bytes, and the binary section (None: none)."""

    doc: object
    header: bytes
    binary: memoryview | None


def split_body(body: bytes, header_length: str | None) -> Framed:
    """Split `body` as its Inference-Header-Content-Length (None: all JSON) says."""
    if header_length is None:
        return Framed(_parse(body), body, None)
    text = header_length.strip()
    if not (text.isascii() and text.isdigit()):
        raise bad_request(
            "invalid_header",
            "Inference-Header-Content-Length must be a byte count (digits only), got "
            f"{_short(header_length)}",
        )
    n_bytes = int(text)
    if n_bytes > len(body):
        raise bad_request(
            "invalid_header",
            f"Inference-Header-Content-Length is {n_bytes} but the body has only "
            f"{len(body)} bytes",
        )
    header = body[:n_bytes]
    return Framed(_parse(header), header, memoryview(body)[n_bytes:])


def _parse(header: bytes) -> object:
    if not header:
        raise bad_request(
            "invalid_json",
            'the inference header is empty; send a JSON object like {"inputs": '
            '[{"name": "points", "datatype": "FP64", "shape": [1, 2], '
            '"data": [0.5, 0.5]}]}',
        )
    return parse_json(header)


def _short(text: str) -> str:
    return repr(text if len(text) <= 32 else text[:29] + "...")
