"""`weights.npz`: a network's arrays to bytes and back.

The weights are written deterministically (same arrays, same sha256) and read without
pickle (`allow_pickle=False`); `trainer.registry.manifest` describes them. Neither
knows about directories, versions or aliases; both are numpy-only because the service
loads models through them.
"""

import hashlib
import io
import math
import zipfile
from collections.abc import Sequence

import numpy as np

from trainer.errors import VerificationError

Array = np.ndarray

WEIGHTS_FILE = "weights.npz"

# Far above any network this project trains (a 50-unit layer is ~1 KB); a bound so a
# damaged or hostile file cannot make a reader allocate without limit.
MAX_WEIGHTS_BYTES = 256 * 1024 * 1024

# A fixed timestamp for every zip member: the same arrays must give the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def weights_bytes(coefs: Sequence[Array], intercepts: Sequence[Array]) -> bytes:
    """Serialise a network's layers as a deterministic `.npz` archive.

    Parameters
    ----------
    coefs : one (fan_in, fan_out) matrix per layer, output layer last
    intercepts : one (fan_out,) vector per layer

    Returns
    -------
    The archive's bytes: members `coef_i.npy` and `intercept_i.npy`, float64,
    uncompressed, in layer order, every timestamp fixed, so equal arrays give equal
    bytes (and an equal sha256).
    """
    coefs, intercepts = _as_layers(coefs, intercepts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in _members(coefs, intercepts):
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def read_weights(data: bytes) -> tuple[list[Array], list[Array]]:
    """Parse `weights.npz` bytes into (coefs, intercepts); never unpickles.

    Refuses a damaged archive, missing or unexpected members, a dtype other than
    float64, arrays of the wrong rank, layers that do not chain, non-finite values.
    The arrays come back read-only: a loaded model is shared and must not change.
    """
    if len(data) > MAX_WEIGHTS_BYTES:
        raise VerificationError(f"{WEIGHTS_FILE}: {len(data)} bytes is over the limit")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        n_layers = len(names) // 2
        expected = [f"{key}.npy" for key, _ in _member_keys(n_layers)]
        if n_layers == 0 or sorted(names) != sorted(expected):
            raise VerificationError(
                f"{WEIGHTS_FILE}: expected members coef_i.npy and intercept_i.npy, "
                f"found {sorted(names)}"
            )
        if sum(info.file_size for info in archive.infolist()) > MAX_WEIGHTS_BYTES:
            raise VerificationError(f"{WEIGHTS_FILE}: members are over the size limit")
        for info in archive.infolist():
            # the writer stores members plainly; compression or encryption means the
            # file was made elsewhere, and each would be one more decoder to trust
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise VerificationError(
                    f"{WEIGHTS_FILE}: member {info.filename} is compressed or "
                    "encrypted; only stored (uncompressed) members are read"
                )
        arrays = {n[: -len(".npy")]: _read_member(archive, n) for n in expected}
    except VerificationError:
        raise
    except (
        zipfile.BadZipFile,
        ValueError,
        OSError,
        EOFError,
        RuntimeError,  # zipfile's "password required"
        NotImplementedError,  # zipfile's unknown compression method
    ) as exc:
        raise VerificationError(
            f"{WEIGHTS_FILE}: not a readable archive: {exc}"
        ) from exc
    coefs = [arrays[f"coef_{i}"] for i in range(n_layers)]
    intercepts = [arrays[f"intercept_{i}"] for i in range(n_layers)]
    coefs, intercepts = _as_layers(coefs, intercepts, strict=True)
    for array in (*coefs, *intercepts):
        array.flags.writeable = False
    return coefs, intercepts


def _read_member(archive: zipfile.ZipFile, name: str) -> Array:
    """One `.npy` member as a float64 array; its header is checked before any read.

    numpy's own reader allocates whatever shape the header declares before noticing
    that the data is short, so a file of a few bytes could ask for terabytes (a
    MemoryError, not a refusal). Here the declared size must equal the bytes present.
    """
    info = archive.getinfo(name)
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise VerificationError(f"{name}: unsupported .npy format {version}")
        key = name[: -len(".npy")]
        if dtype != np.float64:
            # object arrays (pickle) are refused here, before a byte of them is read
            raise VerificationError(f"{key} has dtype {dtype}, not float64")
        declared = math.prod(shape) * dtype.itemsize
        present = info.file_size - member.tell()
        if declared != present:
            raise VerificationError(
                f"{key}: its header declares shape {shape} ({declared} bytes) but the "
                f"member holds {present} bytes"
            )
        array = np.frombuffer(member.read(present), dtype=dtype)
    return array.reshape(shape, order="F" if fortran_order else "C")


def _as_layers(
    coefs: Sequence[Array], intercepts: Sequence[Array], strict: bool = False
) -> tuple[list[Array], list[Array]]:
    """Check that layers chain and are finite; float64 C-order copies unless strict.

    `strict` (reading) refuses any dtype but float64 instead of converting it.
    """
    if len(coefs) == 0 or len(coefs) != len(intercepts):
        raise VerificationError(
            f"{WEIGHTS_FILE}: need one coef and one intercept per layer, "
            f"got {len(coefs)} and {len(intercepts)}"
        )
    checked_coefs, checked_intercepts = [], []
    fan_in = None
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        W, b = np.asarray(W), np.asarray(b)
        for key, array, ndim in ((f"coef_{i}", W, 2), (f"intercept_{i}", b, 1)):
            if strict and array.dtype != np.float64:
                raise VerificationError(f"{key} has dtype {array.dtype}, not float64")
            if array.ndim != ndim or array.size == 0:
                raise VerificationError(
                    f"{key} has shape {array.shape}, not a non-empty {ndim}-d array"
                )
            if not np.all(np.isfinite(array)):
                raise VerificationError(f"{key} holds non-finite values (nan or inf)")
        if fan_in is not None and W.shape[0] != fan_in:
            raise VerificationError(
                f"coef_{i} has {W.shape[0]} inputs, layer {i - 1} has {fan_in} outputs"
            )
        if b.shape[0] != W.shape[1]:
            raise VerificationError(
                f"intercept_{i} has {b.shape[0]} entries but coef_{i} has "
                f"{W.shape[1]} outputs"
            )
        fan_in = W.shape[1]
        if strict:
            checked_coefs.append(W)
            checked_intercepts.append(b)
        else:
            checked_coefs.append(np.ascontiguousarray(W, dtype=np.float64))
            checked_intercepts.append(np.ascontiguousarray(b, dtype=np.float64))
    return checked_coefs, checked_intercepts


def _members(coefs: list[Array], intercepts: list[Array]) -> list[tuple[str, Array]]:
    arrays = {"coef": coefs, "intercept": intercepts}
    return [(key, arrays[kind][i]) for key, (kind, i) in _member_keys(len(coefs))]


def _member_keys(n_layers: int) -> list[tuple[str, tuple[str, int]]]:
    """Archive members in their fixed order: coef_0, intercept_0, coef_1, ..."""
    return [
        (f"{kind}_{i}", (kind, i))
        for i in range(n_layers)
        for kind in ("coef", "intercept")
    ]
