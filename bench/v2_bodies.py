"""The V2 infer bodies the serving benchmark sends, beside each /predict body.

The same points as the JSON /predict body of each size: as V2 JSON (flat `data`, as
tritonclient and KServe's client send it) and with the binary tensor extension (FP64
in, both outputs back in binary), so the rows of a scenario do the same work.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INFER_PATH = "/v2/models/{model}/infer"


@dataclass(frozen=True)
class V2Bodies:
    json: Path
    binary: Path
    header_length: int  # the binary body's Inference-Header-Content-Length


def write_v2_bodies(work: Path, predict_bodies: dict[int, Path]) -> dict[int, V2Bodies]:
    bodies = {}
    for n_points, path in predict_bodies.items():
        X = np.array(json.loads(path.read_text())["points"], dtype=np.float64)
        tensor = {"name": "points", "datatype": "FP64", "shape": list(X.shape)}
        as_json = {"inputs": [{**tensor, "data": X.ravel().tolist()}]}
        json_path = work / f"v2-{n_points}.json"
        json_path.write_text(json.dumps(as_json))
        header = json.dumps(
            {
                "inputs": [{**tensor, "parameters": {"binary_data_size": X.nbytes}}],
                "parameters": {"binary_data_output": True},
            }
        ).encode()
        binary_path = work / f"v2-{n_points}.bin"
        binary_path.write_bytes(header + X.astype("<f8").tobytes())
        bodies[n_points] = V2Bodies(json_path, binary_path, len(header))
    return bodies
