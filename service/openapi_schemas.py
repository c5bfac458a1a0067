"""The component schemas of the OpenAPI document: bodies and answers, by name.

Apart from service.openapi (the routes) because these are the shapes of the payloads,
long to spell out and read on their own; limits come from the same Settings.
"""

from service.settings import Settings
from trainer.registry.storage import NOT_A_DIRECTORY, NOT_A_VERSION, SYMLINK


def schemas(settings: Settings, number: dict) -> dict:
    """Schemas by name; `number` is the schema of one feature value, with bounds."""
    label = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["status", "code", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                }
            },
        },
        "PredictRequest": {
            "type": "object",
            "required": ["points"],
            "additionalProperties": False,
            "properties": {
                "points": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": settings.max_points,
                    "description": "Each point has exactly the model's n_features "
                    "numbers (GET /models/{name}: architecture.n_features; 2 for "
                    "moons); a point with another count is a 400.",
                    "items": {"type": "array", "minItems": 1, "items": number},
                }
            },
        },
        "Prediction": {
            "type": "object",
            "required": ["model", "version", "classes", "labels", "probabilities"],
            "properties": {
                "model": {"type": "string"},
                "version": {"type": "integer"},
                "classes": {"type": "array", "items": label},
                "labels": {"type": "array", "items": label},
                "probabilities": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}},
                },
            },
        },
        "Boundary": _grid_answer(
            label,
            "labels",
            {
                "type": "array",
                "description": "ny rows of nx labels; row j is y[j].",
                "items": {"type": "array", "items": label},
            },
        ),
        "BoundaryProbabilities": _grid_answer(
            label,
            "probabilities",
            {
                "type": "array",
                "description": "ny rows of nx cells of n_classes probabilities "
                "(columns follow `classes`); row j is y[j].",
                "items": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}},
                },
            },
        ),
        "BoundaryDiff": {
            "type": "object",
            "required": ["model", "a", "b", "x", "y", "changed_fraction", "changed"],
            "properties": {
                "model": {"type": "string"},
                "a": {"type": "integer"},
                "b": {"type": "integer"},
                "x": {"type": "array", "items": {"type": "number"}},
                "y": {"type": "array", "items": {"type": "number"}},
                "changed_fraction": {"type": "number", "minimum": 0, "maximum": 1},
                "changed": {
                    "type": "array",
                    "description": "ny rows of nx cells: 1 where the label changed; "
                    "row j is y[j].",
                    "items": {
                        "type": "array",
                        "items": {"type": "integer", "enum": [0, 1]},
                    },
                },
            },
        },
        "DataSample": {
            "type": "object",
            "required": [
                "model",
                "version",
                "classes",
                "n_features",
                "n_train",
                "n_validation",
                "points",
                "labels",
                "split",
            ],
            "properties": {
                "model": {"type": "string"},
                "version": {"type": "integer"},
                "classes": {"type": "array", "items": label},
                "n_features": {"type": "integer"},
                "n_train": {
                    "type": "integer",
                    "description": "Training points the version saw (all, not "
                    "only those sampled here).",
                },
                "n_validation": {"type": "integer"},
                "points": {
                    "type": "array",
                    "maxItems": 2000,
                    "items": {"type": "array", "items": {"type": "number"}},
                },
                "labels": {"type": "array", "items": label},
                "split": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["train", "validation"]},
                },
            },
        },
        "Models": {
            "type": "object",
            "required": ["default_model", "models"],
            "properties": {
                "default_model": {"type": "string"},
                "models": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "versions", "aliases", "served_version"],
                        "properties": {
                            "name": {"type": "string"},
                            "versions": {"type": "array", "items": {"type": "integer"}},
                            "aliases": {
                                "type": "object",
                                "additionalProperties": {"type": "integer"},
                            },
                            "served_version": {"type": "integer", "nullable": True},
                            "served_reference": {
                                "type": "string",
                                "enum": ["verified", "absent"],
                                "nullable": True,
                                "description": "The served version's reference "
                                "predictions: recomputed and matched on load, or "
                                "absent (a schema-1 manifest has none).",
                            },
                            "failed_versions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "version": {"type": "integer"},
                                        "error": {"type": "string"},
                                    },
                                },
                            },
                            "ignored_entries": {
                                "type": "array",
                                "description": "Entries of the model directory "
                                "that are never served: a symlink, a numbered file, "
                                "anything that is not a version directory.",
                                "items": {
                                    "type": "object",
                                    "required": ["entry", "reason"],
                                    "properties": {
                                        "entry": {"type": "string"},
                                        "reason": {
                                            "type": "string",
                                            "enum": [
                                                SYMLINK,
                                                NOT_A_DIRECTORY,
                                                NOT_A_VERSION,
                                            ],
                                        },
                                    },
                                },
                            },
                            "aliases_error": {
                                "type": "string",
                                "nullable": True,
                                "description": "Why aliases.json cannot be read; "
                                "`aliases` and `served_version` are then what was "
                                "read before (nothing new is served until it is "
                                "fixed).",
                            },
                        },
                    },
                },
            },
        },
        "Manifest": {
            "type": "object",
            "required": ["name", "version", "kind", "architecture"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "integer"},
                "kind": {"type": "string", "enum": ["mlp", "logreg"]},
                "architecture": {"type": "object"},
                "loss_curve": {
                    "type": "object",
                    "description": "Training loss, evenly downsampled to at most "
                    "1,000 epochs (networks only; absent for versions before it).",
                    "properties": {
                        "epochs": {"type": "array", "items": {"type": "integer"}},
                        "loss": {"type": "array", "items": {"type": "number"}},
                    },
                },
            },
        },
    }


def _grid_answer(label: dict, field: str, values: dict) -> dict:
    """A /boundary JSON answer: the model, its classes, the grid's axes and `field`."""
    return {
        "type": "object",
        "required": ["model", "version", "classes", "x", "y", field],
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "classes": {"type": "array", "items": label},
            "x": {"type": "array", "items": {"type": "number"}},
            "y": {"type": "array", "items": {"type": "number"}},
            field: values,
        },
    }
