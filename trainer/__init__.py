"""scratchnet trainer: the tutorial's network in numpy, its baseline, and the registry.

Four subpackages, one concern each: `nn` (the network), `data` (datasets and the
baseline), `registry` (artifacts on storage) and `cli` (the command-line application).
The service imports only `trainer.nn.network` (with `trainer.nn.activations`),
`trainer.registry` and `trainer.errors`, all numpy and stdlib only.
"""

__version__ = "0.1.0"
