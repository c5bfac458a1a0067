"""Training progress for people: the tutorial's loss lines and a bar on a terminal.

Kept out of the training code so that cron and joblib runs stay silent; tqdm is
imported only when a terminal will actually show the bar.
"""

import sys
from types import TracebackType
from typing import Any

from trainer.cli.options import RunOptions


class Progress:
    """An `on_epoch(epoch, loss)` callback; use it as a context manager."""

    def __init__(self, options: RunOptions) -> None:
        network = options.recipe.kind == "mlp"
        self.every = options.print_every if network else 0
        # stdout carries the one JSON result under --json, so the loss goes to stderr
        self.out = sys.stderr if options.json else sys.stdout
        self.epochs = options.recipe.hyperparameters["max_iter"]
        self.show_bar = network and sys.stderr.isatty()
        self.bar: Any = None

    def __call__(self, epoch: int, loss: float) -> None:
        if self.show_bar and self.bar is None:
            # started at the first epoch, so data loading and the baseline's fit
            # do not count against the rate and the time left
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.epochs, unit="epoch", file=sys.stderr, leave=False
            )
        if self.every and epoch % self.every == 0:
            line = f"Loss after iteration {epoch}: {loss:f}"
            if self.bar is not None:
                self.bar.write(line, file=self.out)
            else:
                print(line, file=self.out, flush=True)
        if self.bar is not None:
            self.bar.update(1)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.close()
