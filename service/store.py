"""The model store: which verified version of every model answers a request.

Flask-free so it can be tested on a registry directory alone. Each gunicorn worker owns
one store: a background thread polls the registry (service.catalog) and swaps in new
versions; a request reads the state of the last poll, so it never waits on a load, and
a version asked for by number comes from a small cache of loaded versions.
"""

import logging
import threading
import time
from collections import OrderedDict

from service.catalog import Catalog, Events, ModelState
from service.failures import Failed
from service.runtime import ServedModel
from trainer.errors import NotFoundError, RegistryError

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
        self._catalog = Catalog(registry, events)
        self._cache: OrderedDict[tuple[str, int], ServedModel] = OrderedDict()
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
        state = self._catalog.states.get(name)
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
        known = self._catalog.states
        state = known.get(name)
        if state is None:
            if name == self.default_model:
                error = self._catalog.registry_error
                if error is not None:
                    raise Unavailable(
                        f"model {name!r} is not loaded: the registry cannot be "
                        f"read ({error})"
                    )
                # the setting's name, not its value: clients are not told paths
                raise Unavailable(
                    f"model {name!r} has no verified version yet; publish one into "
                    "the registry the service reads, with `python -m trainer train "
                    f'--registry "$SCRATCHNET_REGISTRY" --name {name} --promote`'
                )
            raise UnknownModel(
                f"model {_short(name)} not found; known models: {_listed(known)}"
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
            state = self._catalog.states.get(name, state)
        if state.served is not None and state.served.version == number:
            return state.served
        if number not in state.versions:
            raise UnknownVersion(
                f"model {name!r} has no version {number}; "
                f"versions: {_listed(state.versions)}"
            )
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
        return dict(self._catalog.states)

    def _load_cached(self, name: str, number: int) -> ServedModel:
        """A version that is not served: refused while its failure holds, else from
        the cache of loaded versions, else loaded (and cached) now."""
        failure = self._catalog.failed.current(name, number)
        if failure is not None:
            raise Unavailable(_failed(name, number, failure.reason))
        key = (name, number)
        with self._cache_lock:
            model = self._cache.get(key)
            if model is not None:
                self._cache.move_to_end(key)
                return model
        try:
            loaded = self._catalog.load(name, number)
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
        if isinstance(loaded, Failed):
            raise Unavailable(_failed(name, number, loaded.reason))
        if self._cache_size > 0:
            with self._cache_lock:
                self._cache[key] = loaded
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return loaded

    # --- polling --------------------------------------------------------------------

    def refresh(self) -> None:
        """One poll: pick up new versions and alias changes of every model."""
        self._catalog.refresh()

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
    if state.aliases_error is not None:
        details.append(f"its aliases cannot be read: {state.aliases_error}")
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
