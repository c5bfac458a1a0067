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
        # the last epoch's loss, printed at the end if its line was not: a run of
        # 1,000 epochs printed every 1,000 would otherwise show only epoch 0
        self.last: tuple[int, float] | None = None

    def __call__(self, epoch: int, loss: float) -> None:
        if self.show_bar and self.bar is None:
            # started at the first epoch, so data loading and the baseline's fit
            # do not count against the rate and the time left
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.epochs, unit="epoch", file=sys.stderr, leave=False
            )
        if self.every and epoch % self.every == 0:
            self._print(epoch, loss)
            self.last = None
        else:
            self.last = (epoch, loss)
        if self.bar is not None:
            self.bar.update(1)

    def _print(self, epoch: int, loss: float) -> None:
        line = f"Loss after iteration {epoch}: {loss:f}"
        if self.bar is not None:
            self.bar.write(line, file=self.out)
        else:
            print(line, file=self.out, flush=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self.every and self.last is not None:
            self._print(*self.last)
        if self.bar is not None:
            self.bar.close()
