"""`LocalStorage`: the registry in a directory, `<root>/<name>/<version>/<file>`.

The `Storage` seam by POSIX means: a version is built in a dot-named directory and
renamed onto its number (a rename onto a taken number fails), files are fsynced before
they become visible, aliases change under a flock by atomic replace, and nothing is
ever read or written through a symlink. The file steps themselves are in `atomic`.
"""

import errno
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trainer.errors import VerificationError
from trainer.registry.aliases import ALIASES_FILE, HISTORY_FILE
from trainer.registry.atomic import (
    append_synced,
    fsync_dir,
    locked,
    read_regular,
    replace_atomically,
    truncate_synced,
    write_synced,
)
from trainer.registry.names import (
    NAME_PATTERN,
    check_name,
    is_version_name,
    parse_version,
)
from trainer.registry.storage import (
    NOT_A_DIRECTORY,
    NOT_A_VERSION,
    SYMLINK,
    AliasChange,
    IgnoredEntry,
    ReadFile,
)

# dot-named, so that no reader ever lists it as a model or a version
TEMP_PREFIX = ".tmp-"
LOCK_FILE = ".lock"


class LocalStorage:
    """A registry directory; see `trainer.registry.storage.Storage` for the contract."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # --- reading -----------------------------------------------------------------

    def model_names(self) -> list[str]:
        """A symlinked model directory is not listed: readers refuse it."""
        return sorted(
            e.name
            for e in _scandir(self.root)
            if NAME_PATTERN.fullmatch(e.name)
            and e.is_dir(follow_symlinks=False)
            and any(_version_entries(e.path))
        )

    def model_entries(self) -> list[str]:
        """Symlinks are included so that `check` reports them; readers refuse them."""
        return sorted(
            e.name
            for e in _scandir(self.root)
            if NAME_PATTERN.fullmatch(e.name)
            and (e.is_dir(follow_symlinks=False) or e.is_symlink())
        )

    def versions(self, name: str) -> list[int]:
        return sorted(int(e.name) for e in _version_entries(self._model_dir(name)))

    def refusal(self, name: str, version: int) -> str | None:
        if (self._model_dir(name) / str(version)).is_symlink():
            return "is a symlink, refused"
        return None

    def version(self, name: str, version: int) -> "LocalVersion":
        directory = self._model_dir(name) / str(parse_version(version))
        if directory.is_symlink():
            raise VerificationError("the version directory is a symlink")
        try:
            files = frozenset(os.listdir(directory))
        except NotADirectoryError:
            raise FileNotFoundError(directory) from None
        return LocalVersion(directory, files)

    def read(self, name: str, file: str, max_bytes: int) -> bytes:
        return read_regular(self._model_dir(name) / file, max_bytes)

    def state_token(self, name: str) -> tuple:
        """The version list, the identity of `aliases.json` and the ignored entries.

        Versions are immutable and a replace gives `aliases.json` a new inode, so the
        token changes exactly when a poller has work to do (or something to report).
        """
        entries = _model_entries(self._model_dir(name))  # checks the name
        versions = tuple(sorted(int(e.name) for e in entries if _is_version(e)))
        ignored = tuple(_ignored(entries))
        try:
            st = os.stat(self.root / name / ALIASES_FILE)
            alias_stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            alias_stamp = None
        return (versions, alias_stamp, ignored)

    def version_stamp(self, name: str, version: int) -> tuple:
        directory = self._model_dir(name) / str(parse_version(version))
        with os.scandir(directory) as entries:
            return tuple(
                sorted(
                    (e.name, st.st_size, st.st_mtime_ns)
                    for e in entries
                    for st in [e.stat(follow_symlinks=False)]
                )
            )

    # --- writing -----------------------------------------------------------------

    def next_version(self, name: str) -> int:
        # every numeric entry counts, even a stray file, so a rename never targets it
        names = os.listdir(self._model_dir(name))
        return max((int(n) for n in names if is_version_name(n)), default=0) + 1

    @contextmanager
    def draft(self, name: str) -> Iterator["LocalDraft"]:
        """A dot-named directory beside the versions, on the same filesystem."""
        model_dir = self._model_dir(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        directory = model_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        directory.mkdir()
        draft = LocalDraft(directory)
        try:
            yield draft
        finally:
            if not draft.committed:
                shutil.rmtree(directory, ignore_errors=True)

    def update_aliases(
        self, name: str, change: Callable[[ReadFile], AliasChange | None]
    ) -> None:
        """Under the model's flock: the history line appended, then the map replaced.

        The map, the write that makes the change visible, comes last: an error means
        the alias did not move (short of the directory sync after its rename failing),
        and the history line is then taken back. Only a
        writer killed between the two leaves a line that never landed, which
        `rollback_target` recognises by the next line's `from` (or by the map).
        History after the map would instead leave a landed change without its line
        whenever that append failed, reported as an error although the alias moved.
        """
        model_dir = self._model_dir(name)
        history = model_dir / HISTORY_FILE
        with locked(model_dir / LOCK_FILE):
            written = change(lambda file, limit: read_regular(model_dir / file, limit))
            if written is not None:
                size = append_synced(history, written.history_line)
                try:
                    replace_atomically(model_dir / ALIASES_FILE, written.aliases)
                except BaseException:
                    truncate_synced(history, size)
                    raise

    # --- maintenance -------------------------------------------------------------

    def ignored_entries(self, name: str) -> list[IgnoredEntry]:
        return _ignored(_model_entries(self._model_dir(name)))

    def temp_entries(self, name: str) -> list[Path]:
        """Draft directories, and the temporary files of an interrupted replace."""
        return [
            Path(e.path)
            for e in _scandir(self._model_dir(name))
            if e.name.startswith(TEMP_PREFIX)
        ]

    def modified_at(self, entry: Path) -> float:
        return entry.lstat().st_mtime

    def remove(self, entry: Path) -> None:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)

    def remove_version(self, name: str, version: int) -> None:
        """Renamed out of view in one step, then deleted; never through a symlink."""
        model_dir = self._model_dir(name)
        directory = model_dir / str(parse_version(version))
        if directory.is_symlink():
            raise VerificationError(f"{name} v{version}: is a symlink, refused")
        if not directory.is_dir():
            raise FileNotFoundError(directory)
        # dot-named with the drafts' prefix: no reader lists it, and one left by a
        # crash before the delete is cleaned by `verify --fix` like a stale draft
        hidden = model_dir / f"{TEMP_PREFIX}removed-{version}-{uuid.uuid4().hex}"
        os.rename(directory, hidden)
        fsync_dir(model_dir)
        shutil.rmtree(hidden)

    def _model_dir(self, name: str) -> Path:
        check_name(name)
        path = self.root / name
        # a symlinked model directory could lead out of the registry, and one that
        # stays inside only shows another model's versions (whose manifests name that
        # model, so none would verify): refuse both, as for version directories
        if path.is_symlink():
            raise VerificationError(f"model {name!r} is a symlink, refused")
        return path


class LocalVersion:
    """A version directory's listing; files are read without following symlinks."""

    def __init__(self, directory: Path, files: frozenset[str]) -> None:
        self.directory = directory
        self.files = files

    def read(self, file: str, max_bytes: int) -> bytes:
        return read_regular(self.directory / file, max_bytes)


class LocalDraft:
    """A version directory under construction; `commit` renames it onto its number."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.committed = False

    def write(self, file: str, data: bytes) -> None:
        write_synced(self.directory / file, data)

    def commit(self, version: int, last_file: str, data: bytes) -> bool:
        write_synced(self.directory / last_file, data)
        fsync_dir(self.directory)
        model_dir = self.directory.parent
        try:
            os.rename(self.directory, model_dir / str(version))
        except OSError as exc:
            # the number is taken (by a version, or a stray entry of that name)
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                raise
            return False
        self.committed = True
        fsync_dir(model_dir)
        return True


def _version_entries(model_dir: str | Path) -> Iterator[os.DirEntry]:
    """The published version directories of a model (none if it has no directory)."""
    return filter(_is_version, _model_entries(model_dir))


def _model_entries(model_dir: str | Path) -> list[os.DirEntry]:
    """Everything in a model directory (nothing if it has none)."""
    try:
        return list(os.scandir(model_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _is_version(entry: os.DirEntry) -> bool:
    return is_version_name(entry.name) and entry.is_dir(follow_symlinks=False)


# the model's own files; dot-names (drafts, `.lock`) are never versions either
_MODEL_FILES = frozenset({ALIASES_FILE, HISTORY_FILE})


def _ignored(entries: list[os.DirEntry]) -> list[IgnoredEntry]:
    """The entries no reader uses (see `Storage.ignored_entries`), sorted by name."""
    ignored = []
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name in _MODEL_FILES:
            continue
        if entry.is_symlink():
            ignored.append(IgnoredEntry(entry.name, SYMLINK))
        elif not is_version_name(entry.name):
            ignored.append(IgnoredEntry(entry.name, NOT_A_VERSION))
        elif not entry.is_dir(follow_symlinks=False):
            ignored.append(IgnoredEntry(entry.name, NOT_A_DIRECTORY))
    return ignored


def _scandir(path: Path) -> list[os.DirEntry]:
    try:
        return list(os.scandir(path))
    except FileNotFoundError:
        return []
