"""Feature-only CSV files read in chunks: what `python -m trainer predict` scores.

The training reader's rules (trainer.data.datasets): the first row is a header when
none of its cells is a number, blank lines are skipped, and every error names the file
line (1-based) and column. There is no label column, and rows arrive a chunk at a
time, so a file of any size is scored in flat memory.
"""

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.data.datasets import _column, _number_or_none, _parse_feature
from trainer.errors import DataError

Array = np.ndarray

# rows per chunk: numpy's per-call overhead is amortised long before this, and a
# chunk of 2-feature rows with its strings stays within a few MB
CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class Chunk:
    """Consecutive data rows: X (n_rows, n_features) float64, and each row's line."""

    X: Array
    lines: Array  # (n_rows,) int64, 1-based lines of the file


class FeatureCsv:
    """An open feature file: `header` (None when it has none), then `chunks()`."""

    def __init__(
        self, path: Path, n_features: int, chunk_rows: int | None = None
    ) -> None:
        self.path = path
        self.n_features = n_features
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        try:
            # utf-8-sig: spreadsheet exports often start with a byte-order mark
            self._file = open(path, encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            self._rows = self._read_rows()
            self._first = next(self._rows, None)
            self.header = self._header()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> "FeatureCsv":
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def chunks(self) -> Iterator[Chunk]:
        """Every data row, `chunk_rows` at a time; DataError at the first bad one."""
        if self._first is None:
            raise DataError(f"{self.path} has no data rows")
        rows = self._rows
        if self.header is None:
            rows = itertools.chain([self._first], rows)
        any_rows = False
        while batch := list(itertools.islice(rows, self.chunk_rows)):
            any_rows = True
            yield self._parse(batch)
        if not any_rows:
            raise DataError(
                f"{self.path} has a header (line {self._first[0]}) but no data rows"
            )

    def _header(self) -> list[str] | None:
        if self._first is None:
            return None
        line, row = self._first
        self._check_width(line, row)
        if all(_number_or_none(cell) is None for cell in row):
            return [cell.strip() for cell in row]
        for j, cell in enumerate(row):
            if _number_or_none(cell) is None:
                raise DataError(
                    f"{self.path}, line {line}, {_column(j, None)}: {cell.strip()!r} "
                    "is not a number; if this line is a header, none of its names "
                    "may look like a number"
                )
        return None

    def _read_rows(self) -> Iterator[tuple[int, list[str]]]:
        # strict: a stray or unclosed quote is an error, not a silently odd row
        reader = csv.reader(self._file, strict=True)
        try:
            for row in reader:
                if "".join(row).strip():  # blank lines, or only commas and spaces
                    yield reader.line_num, row
        except csv.Error as exc:
            raise DataError(f"{self.path}, line {reader.line_num}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{self.path}, near line {reader.line_num + 1}: not UTF-8 text"
            ) from exc

    def _parse(self, batch: list[tuple[int, list[str]]]) -> Chunk:
        lines = np.fromiter((line for line, _ in batch), dtype=np.int64, count=-1)
        cells = [row for _, row in batch]
        X = None
        if all(len(row) == self.n_features for row in cells) and not any(
            "_" in cell for row in cells for cell in row
        ):
            # numpy's own conversion, for the common clean chunk; it reads "1_0"
            # (a typo to the training reader), hence the check above
            try:
                X = np.array(cells, dtype=np.float64)
            except ValueError:
                X = None
            if X is not None and not np.isfinite(X).all():
                X = None
        if X is None:  # the slow path finds and names the bad cell
            X = np.array(
                [self._parse_row(line, row) for line, row in batch], dtype=np.float64
            )
        return Chunk(X=X.reshape(len(batch), self.n_features), lines=lines)

    def _parse_row(self, line: int, row: list[str]) -> list[float]:
        self._check_width(line, row)
        return [
            _parse_feature(cell, self.path, line, j, self.header)
            for j, cell in enumerate(row)
        ]

    def _check_width(self, line: int, row: list[str]) -> None:
        if len(row) == self.n_features:
            return
        hint = ""
        if len(row) == self.n_features + 1:
            hint = (
                "; a label column? predict reads features only (`evaluate --data "
                "csv:FILE` scores a labelled file)"
            )
        elif len(row) == 1 and any(sep in row[0] for sep in ";\t"):
            hint = "; the file looks separated by ';' or tabs: use commas"
        raise DataError(
            f"{self.path}, line {line}: {len(row)} columns, expected "
            f"{self.n_features} (one per feature of the model){hint}"
        )
