"""What one worker knows of every model in the registry, and the poll that updates it.

Apart from the request side (service.store) because a poll works on the whole listing
at once: it reads each model's versions and aliases, loads and verifies a new served
version beside the old one, then swaps a single reference, so requests never wait on a
load. Every version is loaded through `Catalog.load`, which keeps the store's one book
of failed versions (service.failures).
"""

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from service.failures import Failed, FailedVersions
from service.outages import LISTING, MODEL, OutageLog
from service.runtime import ServedModel
from trainer.errors import (
    NotFoundError,
    RegistryError,
    StoreConfigError,
    StoreUnavailableError,
    VerificationError,
)
from trainer.registry.reference import ReferenceMismatchError
from trainer.registry.storage import IgnoredEntry

log = logging.getLogger("scratchnet.store")


class Events(Protocol):
    """What the store reports as it works (metrics implement it)."""

    def reloaded(self, name: str, version: int) -> None: ...

    def verification_failed(self, name: str, version: int) -> None: ...

    def registry_failed(self, name: str) -> None: ...
    def reference_mismatch(self, name: str, version: int) -> None: ...


class _NoEvents:
    def reloaded(self, name: str, version: int) -> None:
        pass

    def verification_failed(self, name: str, version: int) -> None:
        pass

    def registry_failed(self, name: str) -> None:
        pass

    def reference_mismatch(self, name: str, version: int) -> None:
        pass


@dataclass(frozen=True)
class ModelState:
    """What one worker knows of one model at its last poll; replaced, never mutated.

    `failures` are the versions that choosing the served version refused, as the
    book of failed versions had them at that poll; `ignored` the entries of the
    model directory no reader uses (a symlinked version, a stray file); while
    `aliases.json` cannot be read, `aliases_error` says why and `aliases` is the last
    map read (what is served). `GET /models` lists them all.
    """

    name: str
    token: tuple
    versions: tuple[int, ...]
    aliases: dict[str, int]
    served: ServedModel | None
    failures: dict[int, Failed] = field(default_factory=dict)
    ignored: tuple[IgnoredEntry, ...] = ()
    aliases_error: str | None = None


class Catalog:
    """Every model's state at the last poll, and the verified loading of versions.

    Parameters
    ----------
    registry : a `trainer.registry.Registry` (or anything with its reader methods)
    events : told of every version swapped in and every one that fails to verify
    outages : logs failed polls when they start, change and end (a default one)
    """

    def __init__(
        self,
        registry: object,
        events: Events | None = None,
        outages: OutageLog | None = None,
    ) -> None:
        self.registry = registry
        self.outages = outages or OutageLog(log)
        self.failed = FailedVersions(registry)
        # replaced whole by each poll, never mutated: readers need no lock
        self.states: dict[str, ModelState] = {}
        self._events = events or _NoEvents()
        self._refresh_lock = threading.Lock()
        # why the last poll could not list the registry (None: it could); /readyz
        # says it while nothing is served
        self.registry_error: str | None = None

    def load(self, name: str, number: int) -> ServedModel | Failed:
        """The verified model, or why it did not verify: a failure is remembered, and
        not loaded again, until the version's files change (see service.failures).

        Raises NotFoundError if the version is gone, OSError if it cannot be read.
        """
        failure = self.failed.current(name, number)
        if failure is not None:
            return failure
        # taken before reading, so a file that lands during the load counts as a change
        stamp = self.failed.stamp(name, number)
        try:
            return ServedModel(self.registry.load(name, number))
        except VerificationError as exc:
            log.error(
                "version failed verification",
                extra={"model": name, "version": number, "error": str(exc)},
            )
            self._events.verification_failed(name, number)
            if isinstance(exc, ReferenceMismatchError):
                self._events.reference_mismatch(name, number)
            failure = Failed(str(exc), stamp)
            self.failed.remember(name, number, failure)
            return failure

    def refresh(self) -> None:
        """One poll: pick up new versions and alias changes of every model."""
        with self._refresh_lock:
            try:
                names = self.registry.models()
            except (RegistryError, OSError) as exc:
                # what is loaded goes on answering; the next poll tries again
                self.registry_error = _why(exc)
                self.outages.failed(LISTING, self.registry_error, str(exc))
                self._events.registry_failed("")
                return
            self.outages.succeeded(LISTING)
            self.registry_error = None
            states = {}
            for name in names:
                old = self.states.get(name)
                try:
                    token = self.registry.state_token(name)
                    if (
                        old is not None
                        and old.token == token
                        and self.failed.hold(name, old.failures)
                    ):
                        states[name] = old
                    else:
                        states[name] = self._reload(name, token, old)
                        self._report_ignored(name, states[name].ignored, old)
                except (RegistryError, OSError) as exc:
                    # a half-visible change (or a transient I/O error): keep what
                    # answers now and look again at the next poll
                    self.outages.failed(MODEL, _why(exc), str(exc), model=name)
                    self._events.registry_failed(name)
                    if old is not None:
                        states[name] = old
                else:
                    self.outages.succeeded(MODEL, model=name)
            self.states = states  # the swap: one reference, atomic for readers
            self.failed.retain({name: s.versions for name, s in states.items()})

    def _reload(self, name: str, token: tuple, old: ModelState | None) -> ModelState:
        versions = tuple(self.registry.versions(name))
        ignored = tuple(self.registry.ignored_entries(name))
        served = old.served if old is not None else None
        # the refusals still listed and still failing with the files they failed with
        failures = {}
        for number in old.failures if old is not None else ():
            failure = self.failed.current(name, number) if number in versions else None
            if failure is not None:
                failures[number] = failure
        try:
            aliases = dict(self.registry.aliases(name))
        except VerificationError as exc:
            # a damaged aliases.json: production is unknown, so nothing new is
            # swapped in; it stays broken until the file changes, and the file's stamp
            # is in the token, so it is read (and logged) again only then
            error = str(exc)
            if old is None or old.token != token or old.aliases_error != error:
                log.error(
                    "cannot read the aliases", extra={"model": name, "error": error}
                )
            kept = old.aliases if old is not None else {}
            return ModelState(
                name, token, versions, kept, served, failures, ignored, error
            )
        wanted = aliases.get("production", versions[-1] if versions else None)
        if wanted is not None and (served is None or served.version != wanted):
            served = self._swap_in(name, versions, wanted, served, failures)
        return ModelState(name, token, versions, aliases, served, failures, ignored)

    def _swap_in(
        self,
        name: str,
        versions: tuple[int, ...],
        wanted: int,
        served: ServedModel | None,
        failures: dict[int, Failed],
    ) -> ServedModel | None:
        """The wanted version loaded, else what was served; `failures` is updated."""
        # the wanted version first; a worker with nothing loaded yet falls back to
        # the newest older version that verifies, like its siblings still serve
        fallbacks = (
            [v for v in reversed(versions) if v < wanted] if served is None else []
        )
        for number in [wanted, *fallbacks]:
            if number not in versions:
                # the production alias names a version that is not published
                # (deleted by hand): nothing to load, so like a version that
                # fails, it is skipped for an older one; /models shows the alias
                log.error(
                    "alias names a version that is not published",
                    extra={"model": name, "version": number},
                )
                continue
            try:
                loaded = self.load(name, number)
            except NotFoundError:  # removed between the listing and the load
                continue
            if isinstance(loaded, Failed):
                # kept as loaded even if its files change meanwhile: the next
                # poll then sees a failure that no longer holds and looks again
                failures[number] = loaded
                continue
            failures.pop(number, None)
            log.info("serving version", extra={"model": name, "version": number})
            self._events.reloaded(name, number)
            return loaded
        return served

    def _report_ignored(
        self, name: str, ignored: tuple[IgnoredEntry, ...], old: ModelState | None
    ) -> None:
        """Log each ignored entry once, when it appears (not at every poll)."""
        before = set(old.ignored) if old is not None else set()
        for entry, reason in ignored:
            if (entry, reason) not in before:
                log.warning(
                    "entry in the model directory ignored",
                    extra={"model": name, "entry": entry, "reason": reason},
                )


def _why(exc: Exception) -> str:
    """Why the registry cannot be listed, for clients: no paths, keys or endpoints
    (the log has the whole error)."""
    if isinstance(exc, StoreUnavailableError):
        return "the object store is unreachable or failing; see the log"
    if isinstance(exc, StoreConfigError):
        return "the object store refused the bucket or the credentials; see the log"
    return "an I/O error; see the log"
