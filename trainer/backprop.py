"""Training-time forward and backward passes over preallocated buffers.

At the tutorial's size (200 points, 3 hidden units) a pass is a few dozen numpy calls
on tiny arrays, so call count and memory layout, not arithmetic, set the speed. Every
step here writes into buffers owned by a `Workspace` (one per batch size) and
allocates nothing. `trainer.network` holds the plain inference pass the service uses.
"""

import numpy as np

from trainer.activations import ACTIVATIONS
from trainer.parameters import Parameters

Array = np.ndarray


class Workspace:
    """Buffers for forward and backward passes on batches of `n_samples` rows.

    Everything is stored transposed, one row per unit and one column per sample:
    numpy's elementwise loops are fast along long contiguous rows and slow across
    the 2-3 columns of the tutorial's network. Activations carry a last row of ones,
    `AT = [H^T; 1]` (fan + 1, n_samples), so a layer's `[W^T | b]` applies weights
    and bias in one product, and one product gives both of their gradients.
    """

    def __init__(
        self, params: Parameters, activation: str, alpha: float, n_samples: int
    ) -> None:
        self.params = params
        self.alpha = float(alpha)
        self.n_samples = n_samples
        self._activate, self._derivative = ACTIVATIONS[activation]
        sizes = params.layer_sizes
        hidden = sizes[1:-1]
        # AT[i + 1]: augmented hidden activations [H^T; 1]; AT[0] is the input batch
        self.AT: list[Array] = [np.empty((sizes[0] + 1, 0))]
        for s in hidden:
            AT = np.empty((s + 1, n_samples))
            AT[s] = 1.0
            self.AT.append(AT)
        # ZT[i]: layer i's logits; the output layer's are kept max-shifted for `loss`
        self.ZT = [np.empty((s, n_samples)) for s in sizes[1:]]
        # DT[i]: gradient of the summed loss with respect to ZT[i] of a hidden layer
        self.DT = [np.empty((s, n_samples)) for s in hidden]
        self.FT = [np.empty((s, n_samples)) for s in hidden]  # activation derivatives
        self.PT = np.empty((sizes[-1], n_samples))
        self.grad = np.empty_like(params.theta)
        self.grad_layers = params.views_of(self.grad)
        self.penalty = np.zeros_like(params.theta)  # alpha * W, zero on biases
        self._alpha_mask = self.alpha * params.weight_mask
        self._row_max = np.empty(n_samples)
        self._row_sum = np.empty(n_samples)
        self._log_sum = np.empty(n_samples)
        self._ones_classes = np.ones(sizes[-1])
        self._ones_samples = np.ones(n_samples)

    def forward(self, XT: Array) -> Array:
        """Class probabilities PT (n_classes, n_samples) for XT = [X^T; 1].

        XT is (n_features + 1, n_samples). PT lives in a workspace buffer, valid
        until the next `forward`; `backward` overwrites it.
        """
        self.AT[0] = XT
        layers = self.params.layers
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            ZT = np.dot(layer, self.AT[i], out=self.ZT[i])
            if i < last:
                self._activate(ZT, out=self.AT[i + 1][:-1])
        return self._softmax(self.ZT[last])

    def _softmax(self, ZT: Array) -> Array:
        m, s, PT = self._row_max, self._row_sum, self.PT
        # max-shift before exp: softmax is shift-invariant and exp can then never
        # overflow; the largest term becomes exp(0) = 1, so every sum is >= 1
        if len(ZT) == 2:
            np.maximum(ZT[0], ZT[1], out=m)
        else:
            np.max(ZT, axis=0, out=m)
        np.subtract(ZT, m, out=ZT)  # ZT keeps the shifted logits for `loss`
        np.exp(ZT, out=PT)
        np.dot(self._ones_classes, PT, out=s)
        np.divide(PT, s, out=PT)
        return PT

    def loss(self, YT: Array) -> float:
        """Summed cross-entropy plus alpha/2 * sum ||W||^2, at the last `forward`.

        YT is one-hot (n_classes, n_samples). Divided by n_samples this is the
        tutorial's loss, and scikit-learn's: mean cross-entropy
        + alpha / (2 n_samples) * sum ||W||^2.
        Uses -log P[y] = log(sum) - shifted_logit[y], which stays finite even where
        P[y] underflows to 0. Also fills `penalty` = alpha * W for `backward`.
        """
        np.log(self._row_sum, out=self._log_sum)
        data = np.dot(self._log_sum, self._ones_samples) - np.vdot(YT, self.ZT[-1])
        if self.alpha == 0.0:
            return float(data)
        np.multiply(self.params.theta, self._alpha_mask, out=self.penalty)
        return float(data + 0.5 * np.vdot(self.penalty, self.params.theta))

    def backward(self, YT: Array) -> Array:
        """Gradient of `loss` with respect to `params.theta`, into `grad`; returns it.

        Call after `forward` and `loss` at the same parameters. Consumes PT.
        """
        # softmax and cross-entropy backpropagate as one step, dL/dZ = P - Y: with
        # dP_c/dZ_k = P_c (1[c = k] - P_k) the chain rule sums to P_k - Y_k because
        # the one-hot Y sums to 1
        DT = np.subtract(self.PT, YT, out=self.PT)
        layers = self.params.layers
        for i in range(len(layers) - 1, -1, -1):
            AT = self.AT[i]
            # D^T [H, 1] = [dL/dW^T | dL/db]: the ones row turns into the bias sums
            np.dot(DT, AT.T, out=self.grad_layers[i])
            if i > 0:
                DT_below = np.dot(layers[i][:, :-1].T, DT, out=self.DT[i - 1])
                DT_below *= self._derivative(AT[:-1], out=self.FT[i - 1])
                DT = DT_below
        if self.alpha != 0.0:
            # L2 appears in two places only, `loss` and here; biases are not penalised
            self.grad += self.penalty
        return self.grad
