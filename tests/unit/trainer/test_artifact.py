"""weights.npz and manifest.json: deterministic bytes, strict reading, no pickle."""

import io
import zipfile

import numpy as np
import pytest

from tests.helpers import registry_samples as samples
from trainer.errors import VerificationError
from trainer.registry import artifact


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_same_weights_give_same_bytes_and_sha256():
    coefs, intercepts = samples.layers(seed=1)
    first = artifact.weights_bytes(coefs, intercepts)
    # copies in another memory layout and byte order must not change the bytes
    second = artifact.weights_bytes(
        [np.asfortranarray(W) for W in coefs],
        [b.astype(">f8") for b in intercepts],
    )
    assert first == second
    assert artifact.sha256_hex(first) == artifact.sha256_hex(second)
    assert artifact.sha256_hex(first) != artifact.sha256_hex(
        artifact.weights_bytes(*samples.layers(seed=2))
    )


def test_weights_round_trip_through_plain_numpy_and_back():
    coefs, intercepts = samples.layers()
    data = artifact.weights_bytes(coefs, intercepts)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["coef_0", "coef_1", "intercept_0", "intercept_1"]
        np.testing.assert_array_equal(npz["coef_1"], coefs[1])
    read_coefs, read_intercepts = artifact.read_weights(data)
    for got, want in zip(read_coefs + read_intercepts, coefs + intercepts, strict=True):
        np.testing.assert_array_equal(got, want)
        assert not got.flags.writeable


def test_writing_refuses_non_finite_weights():
    coefs, intercepts = samples.layers()
    coefs[0][1, 2] = np.nan
    with pytest.raises(VerificationError, match="non-finite"):
        artifact.weights_bytes(coefs, intercepts)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"coef_0": np.ones((2, 2)), "intercept_0": np.full(2, np.inf)}, "non-finite"),
        ({"coef_0": np.ones((2, 2), np.float32), "intercept_0": np.ones(2)}, "float64"),
        ({"coef_0": np.ones((2, 2)), "intercept_0": np.ones(3)}, "intercept_0 has 3"),
        (
            {"coef_0": np.ones((2, 2)), "intercept_0": np.ones(2), "extra": np.ones(1)},
            "members",
        ),
        ({"coef_0": np.ones((2, 2))}, "members"),
        ({"coef_0": np.ones(2), "intercept_0": np.ones(2)}, "2-d"),
        (
            {
                "coef_0": np.ones((2, 3)),
                "intercept_0": np.ones(3),
                "coef_1": np.ones((4, 2)),
                "intercept_1": np.ones(2),
            },
            "coef_1 has 4 inputs",
        ),
    ],
)
def test_reading_refuses_malformed_weights(arrays, message):
    with pytest.raises(VerificationError, match=message):
        artifact.read_weights(_npz(**arrays))


def test_reading_never_unpickles_an_object_array():
    payload = np.array([{"run": "code"}, None], dtype=object)
    data = _npz(coef_0=payload, intercept_0=np.ones(2))
    with pytest.raises(VerificationError, match="dtype object"):
        artifact.read_weights(data)


def _npy_claiming(shape: tuple[int, ...], payload: np.ndarray) -> bytes:
    """A .npy member whose header declares `shape` but which holds `payload`."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return header.getvalue() + payload.tobytes()


@pytest.mark.parametrize("shape", [(100_000, 100_000), (10**9, 10**9), (2, 4), (1,)])
def test_reading_refuses_a_header_that_declares_another_size_than_it_holds(shape):
    # a hostile file of a few bytes declaring 80 GB must be refused, not allocated
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("coef_0.npy", _npy_claiming(shape, np.ones((2, 3))))
        archive.writestr("intercept_0.npy", _npy_claiming((3,), np.ones(3)))
    with pytest.raises(VerificationError, match="header declares shape"):
        artifact.read_weights(buffer.getvalue())


def _patch_zip_headers(data: bytes, field: str, value: int) -> bytes:
    """Set a field of every local and central zip header (offsets per APPNOTE)."""
    offsets = {"flags": (6, 8), "method": (8, 10)}[field]
    patched = bytearray(data)
    for signature, offset in zip((b"PK\x03\x04", b"PK\x01\x02"), offsets, strict=True):
        at = patched.find(signature)
        while at >= 0:
            old = int.from_bytes(patched[at + offset : at + offset + 2], "little")
            new = old | value if field == "flags" else value
            patched[at + offset : at + offset + 2] = new.to_bytes(2, "little")
            at = patched.find(signature, at + 4)
    return bytes(patched)


@pytest.mark.parametrize(
    ("field", "value"),
    [("flags", 0x1), ("method", 99), ("method", zipfile.ZIP_BZIP2)],
    ids=["encrypted", "unknown-method", "bzip2"],
)
def test_reading_refuses_encrypted_or_compressed_members(field, value):
    data = artifact.weights_bytes(*samples.layers())
    with pytest.raises(VerificationError, match="compressed or encrypted"):
        artifact.read_weights(_patch_zip_headers(data, field, value))


def test_reading_refuses_a_deflated_archive():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, coef_0=np.ones((2, 2)), intercept_0=np.ones(2))
    with pytest.raises(VerificationError, match="compressed or encrypted"):
        artifact.read_weights(buffer.getvalue())


def test_reading_accepts_fortran_ordered_arrays():
    coefs, intercepts = samples.layers()
    data = _npz(
        coef_0=np.asfortranarray(coefs[0]),
        intercept_0=intercepts[0],
        coef_1=np.asfortranarray(coefs[1]),
        intercept_1=intercepts[1],
    )
    read_coefs, _ = artifact.read_weights(data)
    np.testing.assert_array_equal(read_coefs[0], coefs[0])


def test_reading_refuses_truncated_and_garbage_bytes():
    data = artifact.weights_bytes(*samples.layers())
    for damaged in (data[: len(data) // 2], b"not a zip at all", b""):
        with pytest.raises(VerificationError):
            artifact.read_weights(damaged)


def test_archive_members_have_fixed_timestamps():
    data = artifact.weights_bytes(*samples.layers())
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert [i.filename for i in infos] == [
        "coef_0.npy",
        "intercept_0.npy",
        "coef_1.npy",
        "intercept_1.npy",
    ]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
