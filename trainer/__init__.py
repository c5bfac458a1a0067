"""scratchnet trainer: the tutorial's network in numpy, its baseline, and the registry.

Only `network`, `activations`, `errors`, `artifact` and `registry` are numpy-only; the
service imports those and nothing else from here.
"""

__version__ = "0.1.0"
