"""A local disk cache of a remote registry's version files, shared by processes.

Published versions never change, so a file fetched once (named by its key and ETag)
serves every later load: each gunicorn worker, and every restart of a pod whose cache
is an emptyDir, then lists a version instead of downloading it. An entry carries its
own sha256 in its name and is re-hashed on every read, so a damaged cache file is
dropped and fetched again rather than failing the version (whose store stamp would
not change); the registry still verifies every byte against the manifest.
"""

import hashlib
import os
import tempfile
from pathlib import Path


class FileCache:
    """`DIR/NAME/VERSION/FILE.<etag>.<sha256>`, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def get(self, name: str, version: int, file: str, etag: str) -> bytes | None:
        folder = self.directory / name / str(version)
        stem = f"{file}.{_clean(etag)}."
        try:
            candidates = [n for n in os.listdir(folder) if n.startswith(stem)]
        except (FileNotFoundError, NotADirectoryError):
            return None
        for candidate in candidates:
            path = folder / candidate
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if hashlib.sha256(data).hexdigest() == candidate[len(stem) :]:
                return data
            path.unlink(missing_ok=True)  # damaged: fetch again
        return None

    def put(self, name: str, version: int, file: str, etag: str, data: bytes) -> None:
        """Best effort: a full or read-only cache only costs a download next time."""
        folder = self.directory / name / str(version)
        digest = hashlib.sha256(data).hexdigest()
        target = folder / f"{file}.{_clean(etag)}.{digest}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(temp, target)  # readers see the whole file or none
            except BaseException:
                os.unlink(temp)
                raise
        except OSError:
            pass


def _clean(etag: str) -> str:
    """An ETag as a file-name part: quotes dropped, anything odd replaced."""
    return "".join(c if c.isalnum() or c == "-" else "_" for c in etag.strip('"'))
