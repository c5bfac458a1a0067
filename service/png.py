"""A minimal PNG writer for class-index images, so the service needs no imaging library.

A palette PNG is exactly what a decision-region picture is: one byte per pixel naming a
class, one colour per class. Written with zlib from the standard library.
"""

import struct
import zlib
from collections.abc import Sequence

import numpy as np

# colour-blind-friendly hues (Okabe-Ito), light enough to read as regions
PALETTE = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
    (153, 153, 153),
)
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode_indexed(
    indices: np.ndarray,
    n_colors: int,
    colors: Sequence[tuple[int, int, int]] | None = None,
) -> bytes:
    """PNG bytes of an image whose pixels are palette indices.

    Parameters
    ----------
    indices : (height, width) integer array; row 0 is the top of the image
    n_colors : palette size (classes beyond the palette reuse its colours cyclically)
    colors : the palette's colours (default: PALETTE, cyclically)
    """
    height, width = indices.shape
    n_colors = max(1, min(n_colors, 256))
    colors = colors or PALETTE
    palette = bytes(
        channel for i in range(n_colors) for channel in colors[i % len(colors)]
    )
    # each scanline starts with its filter type; 0 = none (regions compress well anyway)
    rows = np.zeros((height, width + 1), dtype=np.uint8)
    if indices.max(initial=0) < n_colors:
        rows[:, 1:] = indices
    else:
        rows[:, 1:] = indices % n_colors
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            # level 1: the regions are long runs, so more effort buys little
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
