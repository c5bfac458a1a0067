"""What the V2 protocol says about the server and each model, from the store's models.

The tensor names, datatypes and shapes are the service's contract with V2 clients
(DESIGN.md): one input `points`, outputs `probabilities` and `labels`. They are
derived here once per model, so the metadata route and the infer route agree.
"""

import numpy as np

from service.runtime import ServedModel
from trainer import __version__

SERVER_NAME = "scratchnet"
# the only protocol extension served: Triton's binary tensor data (no shared memory,
# no classification, no model repository control)
EXTENSIONS = ("binary_tensor_data",)

INPUT = "points"
PROBABILITIES = "probabilities"
LABELS = "labels"
OUTPUTS = (PROBABILITIES, LABELS)

# datatypes the input may come in, as the numpy dtype of their little-endian bytes;
# integers are converted to float64 like the floats
INPUT_DTYPES = {
    "FP64": np.dtype("<f8"),
    "FP32": np.dtype("<f4"),
    "INT64": np.dtype("<i8"),
    "INT32": np.dtype("<i4"),
}


def server_metadata() -> dict:
    return {"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS}


def labels_datatype(model: ServedModel) -> str:
    """INT64 when every class is an integer, else BYTES (the classes as UTF-8)."""
    # the runtime keeps integer classes as indices (None) or an int64 lookup array
    values = model.label_values
    return "INT64" if values is None or values.dtype != object else "BYTES"


def model_metadata(model: ServedModel, versions: tuple[int, ...]) -> dict:
    """The protocol's model metadata of one loaded version; `versions` all published."""
    return {
        "name": model.name,
        "versions": [str(v) for v in versions],
        "platform": f"scratchnet_{model.loaded.kind}",
        "inputs": [
            {"name": INPUT, "datatype": "FP64", "shape": [-1, model.n_features]}
        ],
        "outputs": [
            {
                "name": PROBABILITIES,
                "datatype": "FP64",
                "shape": [-1, len(model.classes)],
            },
            {"name": LABELS, "datatype": labels_datatype(model), "shape": [-1]},
        ],
    }
