"""The filesystem steps the registry's guarantees rest on.

Synced writes, atomic replace, directory fsync and locks for crash safety (a file is
complete before it is renamed into view; a rename is durable once its directory is
synced), and a read that never follows a symlink. They live together and nowhere else.
"""

import errno
import fcntl
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trainer.errors import VerificationError


def write_synced(path: Path, data: bytes) -> None:
    """Create or truncate `path`, write `data`, and fsync it before returning."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: readers see the old or the new, never half.

    Writes a dot-named sibling, syncs it, renames it over `path` (atomic on POSIX) and
    syncs the directory so the rename survives a power cut.
    """
    # dot-named (readers skip it) with the registry's ".tmp-" prefix, so a file left
    # by a crash here is cleaned like an interrupted publish
    temporary = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        write_synced(temporary, data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def append_synced(path: Path, line: bytes) -> int:
    """Append one line to `path`, fsync it, and return the size it had before.

    A last line left without its newline (a write cut short) is closed first, so the
    new line is never glued onto it and lost with it. The size returned lets a caller
    holding the file's lock take the line back (`truncate_synced`). Never through a
    symlink: a link planted in a registry must not make the trainer append elsewhere.
    """
    # read-write: the last byte is read through the same descriptor
    fd = _open_no_follow(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, size)  # a partial line (a full disk) is not left behind
            raise
    finally:
        os.close(fd)
    return size


def truncate_synced(path: Path, size: int) -> None:
    """Cut `path` back to `size` bytes and fsync it (needs no free space)."""
    fd = _open_no_follow(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if absent) for the block.

    flock is released by the kernel when the process dies, so a crashed holder never
    leaves the lock stuck.
    """
    # no symlink: a planted link would make the lock create a file elsewhere
    fd = _open_no_follow(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_regular(path: Path, max_bytes: int) -> bytes:
    """Read a regular file of at most `max_bytes`, never through a symlink.

    O_NOFOLLOW makes the check and the open one step. A symlink, a non-file or an
    oversized file raises VerificationError; other OSErrors (permissions, I/O) pass
    through, since they say nothing about the file's content.
    """
    # O_NONBLOCK: opening a FIFO planted in place of a file would otherwise wait
    # forever for a writer; for a regular file it changes nothing
    fd = _open_no_follow(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise VerificationError(f"{path.name} is not a regular file")
        if st.st_size > max_bytes:
            raise VerificationError(f"{path.name} is over the size limit")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def _open_no_follow(path: Path, flags: int) -> int:
    """os.open with O_NOFOLLOW; a symlink raises VerificationError."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise VerificationError(f"{path.name} is a symlink") from None
        raise
