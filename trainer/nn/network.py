"""The network's inference pass: affine layers, a hidden activation, softmax output.

numpy-only so the service can import it. Training runs its own forward pass, beside
backpropagation and over preallocated buffers, in `trainer.nn.backprop`.
"""

from collections.abc import Sequence

import numpy as np

from trainer.nn.activations import ACTIVATIONS

Array = np.ndarray


def logits(
    X: Array,
    coefs: Sequence[Array],
    intercepts: Sequence[Array],
    activation: str | None,
) -> Array:
    """Pre-softmax scores.

    Parameters
    ----------
    X : (n_samples, n_features)
    coefs : one (fan_in, fan_out) matrix per layer, output layer last
    intercepts : one (fan_out,) vector per layer

    Returns
    -------
    Z : (n_samples, n_classes)
    """
    H = X
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        Z = H @ W
        Z += b
        if i < last:
            ACTIVATIONS[activation][0](Z)
        H = Z
    return H


def softmax(Z: Array) -> Array:
    """Row-wise softmax, in place on Z (n_samples, n_classes); returns Z."""
    # Z.T is a view: the softmax of each of its columns is that of a row of Z
    softmax_columns(Z.T)
    return Z


def softmax_columns(
    ZT: Array, out: Array | None = None, sums: Array | None = None
) -> Array:
    """Softmax down each column of ZT (n_classes, n_samples); returns P^T.

    The class axis comes first because training stores every array transposed
    (`trainer.nn.backprop`). P^T goes into `out`, by default ZT itself. ZT is left
    max-shifted and `sums` (n_samples,), if given, holds each column's sum of exp:
    the loss is log(sums) - shifted logit of the true class, finite even where that
    class's probability underflows to 0.
    """
    if out is None:
        out = ZT
    # the column maxima first, then, once ZT is shifted, the sums: one buffer for both
    top = np.empty(ZT.shape[1]) if sums is None else sums
    # two classes (the moons): the maximum and the sum of the two rows elementwise,
    # not as reductions, which numpy runs slowly across the short contiguous rows of
    # the service's (n_samples, 2) logits
    pair = len(ZT) == 2
    # max-shift before exp: softmax is shift-invariant and exp can then never
    # overflow; the largest term becomes exp(0) = 1, so every sum is >= 1
    if pair:
        np.maximum(ZT[0], ZT[1], out=top)
    else:
        np.maximum.reduce(ZT, axis=0, out=top)
    np.subtract(ZT, top, out=ZT)
    np.exp(ZT, out=out)
    if pair:
        total = np.add(out[0], out[1], out=top)
    else:
        total = np.add.reduce(out, axis=0, out=top)
    np.divide(out, total, out=out)
    return out


def predict_proba(
    X: Array,
    coefs: Sequence[Array],
    intercepts: Sequence[Array],
    activation: str | None,
) -> Array:
    """Class probabilities P (n_samples, n_classes); rows sum to 1."""
    return softmax(logits(X, coefs, intercepts, activation))
