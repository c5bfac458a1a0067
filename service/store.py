"""The model store: which verified version of every model answers, kept current.

Flask-free so it can be tested on a registry directory alone. Each gunicorn worker owns
one store; a background thread polls the registry and, when a model's versions or
aliases change, loads and verifies the new version beside the old one, then swaps a
single reference. Requests only ever read that reference, so they never wait on a load.
"""

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from service.runtime import ServedModel
from trainer.errors import NotFoundError, RegistryError, VerificationError

log = logging.getLogger("scratchnet.store")

# Shortest gap between two on-demand polls (see ModelStore._catch_up).
CATCH_UP_SECONDS = 0.25


class UnknownModel(NotFoundError):
    code = "model_not_found"


class UnknownVersion(NotFoundError):
    code = "version_not_found"


class Unavailable(RegistryError):
    """Nothing verified to answer with (yet): the client may retry later."""

    code = "model_not_ready"


class Events(Protocol):
    """What the store reports as it works (metrics implement it)."""

    def reloaded(self, name: str, version: int) -> None: ...

    def verification_failed(self, name: str, version: int) -> None: ...


class _NoEvents:
    def reloaded(self, name: str, version: int) -> None:
        pass

    def verification_failed(self, name: str, version: int) -> None:
        pass


@dataclass(frozen=True)
class Failed:
    """Why a version did not verify, and its files' (name, size, mtime) when it did not.

    A published version never changes, but one synced or copied in file by file
    shows its directory before its last file: it fails once and must be looked at
    again when its files change, though the model's version list does not.
    """

    reason: str
    stamp: tuple


@dataclass(frozen=True)
class ModelState:
    """What one worker knows of one model at its last poll; replaced, never mutated."""

    name: str
    token: tuple
    versions: tuple[int, ...]
    aliases: dict[str, int]
    served: ServedModel | None
    failures: dict[int, Failed] = field(default_factory=dict)


class ModelStore:
    """Serves every model of a registry, each at its served version.

    Parameters
    ----------
    registry : a `trainer.registry.Registry` (or anything with its reader methods)
    default_model : the model used when a request names none
    version_cache_size : non-served versions kept loaded for `?version=` requests
    """

    def __init__(
        self,
        registry: object,
        default_model: str,
        version_cache_size: int = 8,
        events: Events | None = None,
    ) -> None:
        self.registry = registry
        self.default_model = default_model
        self._events = events or _NoEvents()
        self._states: dict[str, ModelState] = {}
        self._refresh_lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int], ServedModel | Failed] = OrderedDict()
        self._cache_size = version_cache_size
        self._cache_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_catch_up = float("-inf")

    # --- reading --------------------------------------------------------------------

    def ready(self) -> bool:
        """True once the default model has a verified version loaded."""
        if not self._serves(self.default_model):
            self._catch_up()
        return self._serves(self.default_model)

    def _serves(self, name: str) -> bool:
        state = self._states.get(name)
        return state is not None and state.served is not None

    def get(
        self, name: str | None = None, version: int | str | None = None
    ) -> ServedModel:
        """The model that answers for (`name`, `version`); None means default / served.

        Raises UnknownModel / UnknownVersion (404) or Unavailable (503).
        """
        name = name or self.default_model
        if not self._serves(name):
            self._catch_up()
        state = self._states.get(name)
        if state is None:
            if name == self.default_model:
                raise Unavailable(
                    f"model {name!r} has no verified version yet; publish one with "
                    f"`python -m trainer train --name {name} --promote`"
                )
            raise UnknownModel(
                f"model {_short(name)} not found; known models: {_listed(self._states)}"
            )
        if version is None:
            if state.served is None:
                raise Unavailable(_no_verified(state))
            return state.served
        number = version if isinstance(version, int) else state.aliases.get(version)
        if number is None:
            raise UnknownVersion(
                f"model {name!r} has no alias {_short(version)}; "
                f"aliases: {_listed(state.aliases)}"
            )
        if number not in state.versions:
            self._catch_up()  # published since this worker's last poll?
            state = self._states.get(name, state)
        if state.served is not None and state.served.version == number:
            return state.served
        if number not in state.versions:
            raise UnknownVersion(
                f"model {name!r} has no version {number}; "
                f"versions: {_listed(state.versions)}"
            )
        failure = state.failures.get(number)
        if failure is not None and self._still_failed(name, number, failure):
            raise Unavailable(_failed(name, number, failure.reason))
        return self._load_cached(name, number)

    def _catch_up(self) -> None:
        """Poll now instead of at the next tick, at most every CATCH_UP_SECONDS.

        Workers poll independently, so right after a publish one worker may already
        answer for it while its sibling has not looked yet; a request for a model this
        worker does not serve, or a version it has not listed, looks once before
        answering 503 or 404. The rate limit keeps requests for unknown names and
        numbers from turning into registry scans.
        """
        now = time.monotonic()
        if now - self._last_catch_up < CATCH_UP_SECONDS:
            return
        self._last_catch_up = now
        self.refresh()

    def states(self) -> dict[str, ModelState]:
        """Every model this worker knows, by name (a snapshot)."""
        return dict(self._states)

    def _load_cached(self, name: str, number: int) -> ServedModel:
        key = (name, number)
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
        if isinstance(entry, Failed) and not self._still_failed(name, number, entry):
            entry = None
        if entry is None:
            try:
                entry = self._load(name, number)
            except OSError as exc:  # transient: not remembered, the client may retry
                # the OS's words name server paths: they go to the log, not the client
                log.error(
                    "cannot read version",
                    extra={"model": name, "version": number, "error": str(exc)},
                )
                raise Unavailable(
                    f"model {name!r} version {number} could not be read just now "
                    "(an I/O error, logged); try again"
                ) from exc
            if self._cache_size > 0:
                with self._cache_lock:
                    self._cache[key] = entry
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        if isinstance(entry, Failed):
            raise Unavailable(_failed(name, number, entry.reason))
        return entry

    def _load(self, name: str, number: int) -> ServedModel | Failed:
        """The verified model, or why it did not verify: remembered like a success
        until the version's files change (see Failed)."""
        # taken before reading, so a file that lands during the load counts as a change
        stamp = self.registry.version_stamp(name, number)
        try:
            return ServedModel(self.registry.load(name, number))
        except VerificationError as exc:
            log.error(
                "version failed verification",
                extra={"model": name, "version": number, "error": str(exc)},
            )
            self._events.verification_failed(name, number)
            return Failed(str(exc), stamp)

    # --- polling --------------------------------------------------------------------

    def refresh(self) -> None:
        """One poll: pick up new versions and alias changes of every model."""
        with self._refresh_lock:
            try:
                names = self.registry.models()
            except (RegistryError, OSError) as exc:
                log.error("cannot list the registry", extra={"error": str(exc)})
                return
            states = {}
            for name in names:
                old = self._states.get(name)
                try:
                    token = self.registry.state_token(name)
                    if (
                        old is not None
                        and old.token == token
                        and self._failures_hold(old)
                    ):
                        states[name] = old
                        continue
                    states[name] = self._reload(name, token, old)
                except (RegistryError, OSError) as exc:
                    # a half-visible change (or a transient I/O error): keep what
                    # answers now and look again at the next poll
                    log.error(
                        "cannot read model", extra={"model": name, "error": str(exc)}
                    )
                    if old is not None:
                        states[name] = old
            self._states = states  # the swap: one reference, atomic for readers

    def _reload(self, name: str, token: tuple, old: ModelState | None) -> ModelState:
        versions = tuple(self.registry.versions(name))
        aliases = dict(self.registry.aliases(name))
        wanted = self.registry.served_version(name)
        served = old.served if old is not None else None
        # a failure is kept while its version is listed and its files are unchanged
        failures = {
            number: failure
            for number, failure in (old.failures if old is not None else {}).items()
            if number in versions and self._still_failed(name, number, failure)
        }
        if wanted is not None and (served is None or served.version != wanted):
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
                    loaded = self._load(name, number)
                except NotFoundError:  # removed between the listing and the load
                    continue
                if isinstance(loaded, Failed):
                    failures[number] = loaded
                    continue
                failures.pop(number, None)
                served = loaded
                log.info("serving version", extra={"model": name, "version": number})
                self._events.reloaded(name, number)
                break
        return ModelState(name, token, versions, aliases, served, failures)

    def _failures_hold(self, state: ModelState) -> bool:
        """Whether every version that failed still has the files it failed with."""
        return all(
            self._still_failed(state.name, number, failure)
            for number, failure in state.failures.items()
        )

    def _still_failed(self, name: str, number: int, failure: Failed) -> bool:
        return self.registry.version_stamp(name, number) == failure.stamp

    def start(self, poll_seconds: float) -> None:
        """Poll every `poll_seconds` in a daemon thread (it dies with the worker)."""
        if poll_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._poll, args=(poll_seconds,), name="scratchnet-poll", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _poll(self, poll_seconds: float) -> None:
        while not self._stop.wait(poll_seconds):
            try:
                self.refresh()
            except Exception:  # the poller must outlive any one bad poll
                log.exception("poll failed")


def _no_verified(state: ModelState) -> str:
    failed = ", ".join(str(v) for v in sorted(state.failures))
    details = [f"failed verification: {failed}"] if failed else []
    production = state.aliases.get("production")
    if production is not None and production not in state.versions:
        details.append(f"its production alias names the unpublished {production}")
    detail = f" ({'; '.join(details)})" if details else ""
    return f"model {state.name!r} has no verified version to serve{detail}"


def _failed(name: str, number: int, reason: str) -> str:
    return (
        f"model {name!r} version {number} failed verification and is not served: "
        f"{reason}"
    )


def _listed(items: object) -> str:
    names = [str(item) for item in items]
    if not names:
        return "none"
    shown = names[-20:]
    return ("..., " if len(names) > 20 else "") + ", ".join(shown)


def _short(value: str) -> str:
    return repr(value if len(value) <= 64 else value[:61] + "...")
