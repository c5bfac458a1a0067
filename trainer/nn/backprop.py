"""Training-time forward and backward passes over preallocated buffers.

`Workspace.forward` gives the class probabilities, `Workspace.backward` the loss and
its gradient: the tutorial's math, for any depth. At the tutorial's size a pass is a
few dozen numpy calls on tiny arrays, so call count and memory layout, not arithmetic,
set the speed: every step writes into buffers allocated once per batch size.
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from trainer.nn.activations import ACTIVATIONS
from trainer.nn.network import softmax_columns
from trainer.nn.parameters import Parameters

Array = np.ndarray


@dataclass(frozen=True, slots=True)
class Layer:
    """One affine layer's parameters, gradient and buffers, all stored transposed.

    With its input A = [H_in, 1] (n_samples, fan_in + 1) and Wb = [W; b], the layer
    computes Z = A Wb, and backpropagation dL/dWb = A^T D for D = dL/dZ. Stored as
    (units, samples), that is ZT = WbT @ AT and dWbT = DT @ AT.T.
    """

    WbT: Array  # [W^T | b] (fan_out, fan_in + 1): a view into `params.theta`
    dWbT: Array  # dL/d[W^T | b]: the same view into `Workspace.grad`
    W: Array  # the weights alone (fan_in, fan_out), a view: W @ DT carries D down
    ZT: Array  # logits (fan_out, n_samples)
    DT: Array  # dL/dZ (fan_out, n_samples)


@dataclass(frozen=True, slots=True)
class HiddenLayer(Layer):
    """A hidden layer also keeps its activations H = f(Z), as the next layer's input."""

    AT: Array  # [H^T; 1] (fan_out + 1, n_samples): the row of ones applies the bias
    HT: Array  # H^T, the view of AT without its row of ones
    FT: Array  # f'(H)^T (fan_out, n_samples), scratch for `backward`


class Workspace:
    """Forward and backward passes on batches of `n_samples` rows, in owned buffers.

    Everything is stored transposed, one row per unit and one column per sample:
    numpy's elementwise loops are fast along long contiguous rows and slow across
    the 2-3 columns of the tutorial's network. Activations carry a last row of ones
    so that one product applies a layer's weights and bias, and one product gives
    both of their gradients.
    """

    def __init__(
        self, params: Parameters, activation: str, alpha: float, n_samples: int
    ) -> None:
        self.params = params
        self.alpha = float(alpha)
        self.n_samples = n_samples
        self._activate, self._derivative = ACTIVATIONS[activation]
        self.grad = np.empty_like(params.theta)
        sizes = params.layer_sizes
        *hidden_views, output_views = zip(
            params.layers, params.views_of(self.grad), strict=True
        )
        self.hidden = [
            _hidden_layer(WbT, dWbT, n_samples) for WbT, dWbT in hidden_views
        ]
        self.output = Layer(**_layer_fields(*output_views, n_samples))
        layers = [*self.hidden, self.output]
        self._first = layers[0]
        # backpropagation's steps from the top down: each layer and the one below it
        self._descent = [(layer, below) for below, layer in pairwise(layers)][::-1]
        self.XT = np.empty((sizes[0] + 1, 0))  # the last forward's input
        self.PT = np.empty((sizes[-1], n_samples))
        self._sums = np.empty(n_samples)  # the softmax's sums of exp, for the loss
        self._log_sums = np.empty(n_samples)
        self._ones = np.ones(n_samples)
        self._alpha_mask = self.alpha * params.weight_mask  # alpha on weights, 0 on b
        self._penalty = np.zeros_like(params.theta)

    def forward(self, XT: Array) -> Array:
        """Class probabilities PT (n_classes, n_samples) for XT = [X^T; 1].

        XT is (n_features + 1, n_samples). PT lives in a workspace buffer, valid
        until the next `forward`.
        """
        self.XT = AT = XT
        for layer in self.hidden:
            np.dot(layer.WbT, AT, out=layer.ZT)
            self._activate(layer.ZT, out=layer.HT)
            AT = layer.AT
        ZT = np.dot(self.output.WbT, AT, out=self.output.ZT)
        # leaves ZT max-shifted and the sums of exp in _sums: the loss needs both
        return softmax_columns(ZT, out=self.PT, sums=self._sums)

    def backward(self, YT: Array) -> tuple[float, Array]:
        """The loss at the last `forward`, and its gradient with respect to theta.

        YT is one-hot (n_classes, n_samples). The loss is the summed cross-entropy
        plus alpha/2 * sum ||W||^2; divided by n_samples it is the tutorial's and
        scikit-learn's, mean cross-entropy + alpha / (2 n_samples) * sum ||W||^2.
        The gradient lives in `grad`, a workspace buffer, valid until the next call.
        """
        theta = self.params.theta
        # -log P[y] = log(sum of exp) - shifted logit[y], finite where P[y] is 0
        np.log(self._sums, out=self._log_sums)
        loss = float(np.dot(self._log_sums, self._ones))
        loss -= float(np.vdot(YT, self.output.ZT))
        penalty = None
        if self.alpha != 0.0:
            # L2 appears here, in the loss and the weight gradient, and nowhere else;
            # biases are not penalised
            penalty = np.multiply(theta, self._alpha_mask, out=self._penalty)
            loss += 0.5 * float(np.vdot(penalty, theta))
        # softmax and cross-entropy backpropagate as one step, dL/dZ = P - Y: with
        # dP_c/dZ_k = P_c (1[c = k] - P_k) the chain rule sums to P_k - Y_k because
        # the one-hot Y sums to 1
        DT = np.subtract(self.PT, YT, out=self.output.DT)
        for layer, below in self._descent:
            # D^T [H, 1] = [dL/dW^T | dL/db]: the row of ones sums D for the bias
            np.dot(DT, below.AT.T, out=layer.dWbT)
            DT = np.dot(layer.W, DT, out=below.DT)
            DT *= self._derivative(below.HT, out=below.FT)
        np.dot(DT, self.XT.T, out=self._first.dWbT)
        if penalty is not None:
            self.grad += penalty
        return loss, self.grad


def _layer_fields(WbT: Array, dWbT: Array, n_samples: int) -> dict[str, Array]:
    fan_out = len(WbT)
    return {
        "WbT": WbT,
        "dWbT": dWbT,
        "W": WbT[:, :-1].T,
        "ZT": np.empty((fan_out, n_samples)),
        "DT": np.empty((fan_out, n_samples)),
    }


def _hidden_layer(WbT: Array, dWbT: Array, n_samples: int) -> HiddenLayer:
    fan_out = len(WbT)
    AT = np.empty((fan_out + 1, n_samples))
    AT[fan_out] = 1.0
    return HiddenLayer(
        **_layer_fields(WbT, dWbT, n_samples),
        AT=AT,
        HT=AT[:-1],
        FT=np.empty((fan_out, n_samples)),
    )
