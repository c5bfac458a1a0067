"""Training-time forward and backward passes over preallocated buffers.

At the tutorial's size (200 points, 3 hidden units) a pass is a few dozen numpy calls
on tiny arrays, so call count and memory layout, not arithmetic, set the speed. Every
step here writes into buffers owned by a `Workspace` (one per batch size) and
allocates nothing. `trainer.nn.network` holds the plain inference pass the service uses.
"""

import numpy as np

from trainer.nn.activations import ACTIVATIONS
from trainer.nn.parameters import Parameters

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
        layers = params.layers
        self.grad = np.empty_like(params.theta)
        grad_layers = params.views_of(self.grad)
        # per hidden layer: [W^T | b], its logits ZT, and its output AT = [H^T; 1]
        self._hidden: list[tuple[Array, Array, Array, Array]] = []
        for layer, size in zip(layers[:-1], sizes[1:-1], strict=True):
            AT = np.empty((size + 1, n_samples))
            AT[size] = 1.0
            self._hidden.append((layer, np.empty((size, n_samples)), AT, AT[:-1]))
        self._output = layers[-1]
        # the output layer's logits, kept max-shifted for `loss`
        self._ZT = np.empty((sizes[-1], n_samples))
        self.PT = np.empty((sizes[-1], n_samples))
        # from the output layer down to the second: the layer's gradient, its input
        # AT = [H^T; 1], its W^T transposed, and buffers for the delta one layer down
        # and for the activation's derivative there
        self._below: list[tuple[Array, Array, Array, Array, Array]] = [
            (
                grad_layers[i],
                self._hidden[i - 1][2],
                layers[i][:, :-1].T,
                np.empty((sizes[i], n_samples)),
                np.empty((sizes[i], n_samples)),
            )
            for i in range(len(layers) - 1, 0, -1)
        ]
        self._first_grad = grad_layers[0]
        self.XT = np.empty((sizes[0] + 1, 0))  # the last forward's input, for backward
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
        self.XT = AT = XT
        for layer, ZT, AT_out, HT in self._hidden:
            np.dot(layer, AT, out=ZT)
            self._activate(ZT, out=HT)
            AT = AT_out
        ZT = np.dot(self._output, AT, out=self._ZT)
        m, s, PT = self._row_max, self._row_sum, self.PT
        # max-shift before exp: softmax is shift-invariant and exp can then never
        # overflow; the largest term becomes exp(0) = 1, so every sum is >= 1
        if len(ZT) == 2:
            np.maximum(ZT[0], ZT[1], out=m)
        else:
            np.max(ZT, axis=0, out=m)
        np.subtract(ZT, m, out=ZT)
        np.exp(ZT, out=PT)
        np.dot(self._ones_classes, PT, out=s)
        np.divide(PT, s, out=PT)
        return PT

    def loss(self, YT: Array) -> float:
        """Summed cross-entropy plus alpha/2 * sum ||W||^2, at the last `forward`.

        YT is one-hot (n_classes, n_samples). Divided by n_samples this is the
        tutorial's loss, and scikit-learn's: mean cross-entropy
        + alpha / (2 n_samples) * sum ||W||^2. Uses -log P[y] = log(sum of exp) -
        shifted logit[y], finite even where P[y] underflows to 0. Also fills
        `penalty` = alpha * W for `backward`.
        """
        np.log(self._row_sum, out=self._log_sum)
        data = float(np.dot(self._log_sum, self._ones_samples))
        data -= float(np.vdot(YT, self._ZT))
        if self.alpha == 0.0:
            return data
        np.multiply(self.params.theta, self._alpha_mask, out=self.penalty)
        return data + 0.5 * float(np.vdot(self.penalty, self.params.theta))

    def backward(self, YT: Array) -> Array:
        """Gradient of `loss` with respect to `params.theta`, into `grad`; returns it.

        Call after `forward` and `loss` at the same parameters. Consumes PT.
        """
        # softmax and cross-entropy backpropagate as one step, dL/dZ = P - Y: with
        # dP_c/dZ_k = P_c (1[c = k] - P_k) the chain rule sums to P_k - Y_k because
        # the one-hot Y sums to 1
        DT = np.subtract(self.PT, YT, out=self.PT)
        for grad_layer, AT, W, DT_below, FT in self._below:
            # D^T [H, 1] = [dL/dW^T | dL/db]: the row of ones sums D for the bias
            np.dot(DT, AT.T, out=grad_layer)
            np.dot(W, DT, out=DT_below)
            DT_below *= self._derivative(AT[:-1], out=FT)
            DT = DT_below
        np.dot(DT, self.XT.T, out=self._first_grad)
        if self.alpha != 0.0:
            # L2 appears in two places only, `loss` and here; biases are not penalised
            self.grad += self.penalty
        return self.grad
