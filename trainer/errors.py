"""Exception types shared by the trainer and the service.

numpy-only on purpose: the service imports these to map registry and data problems to
HTTP statuses without pulling in scikit-learn.
"""


class ScratchNetError(Exception):
    """Base class for every error scratchnet raises on purpose."""


class DataError(ScratchNetError, ValueError):
    """A dataset or CSV file that cannot be trained on.

    The message names the row or column at fault.
    """


class TrainingError(ScratchNetError, ValueError):
    """Training that cannot produce a usable model (diverged, non-finite weights).

    The message is `what` happened, then the `advice`; the fields are kept apart (with
    the `epoch` and `loss` where it happened) so that a caller can keep what happened
    and give advice in its own terms without parsing the text.
    """

    def __init__(
        self,
        what: str,
        advice: str,
        *,
        epoch: int | None = None,
        loss: float | None = None,
    ) -> None:
        super().__init__(f"{what}; {advice}")
        self.what, self.advice = what, advice
        self.epoch, self.loss = epoch, loss

    def __reduce__(self) -> tuple:
        # a sweep's worker sends its error back pickled; the default rebuilds an
        # exception from its message alone, which this constructor does not take
        return (type(self), (self.what, self.advice), self.__dict__)


class RegistryError(ScratchNetError):
    """Base class for problems reading or writing the model registry."""


class StorageError(RegistryError):
    """The registry's storage failed under a write (disk full, read-only, permissions);
    the message says where, and what state the registry was left in."""


class NotFoundError(RegistryError, LookupError):
    """An unknown model, version or alias."""


class VerificationError(RegistryError):
    """An artifact whose manifest, checksums or arrays do not verify."""


class InvalidNameError(RegistryError, ValueError):
    """A model name or version that is not a plain identifier or positive integer."""


class StoreConfigError(RegistryError, ValueError):
    """A registry location that cannot work as given: an s3:// URL without a bucket,
    a bucket that does not exist, credentials the store refuses (bad input)."""


class StoreUnavailableError(StorageError, OSError):
    """The registry's store could not be reached or failed (an unreachable endpoint,
    a timeout, a 5xx): transient, like an I/O error on disk."""
