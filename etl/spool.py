"""A scratch folder of table pieces, so a job over tens of thousands of articles never holds all its rows.

A run extracts in batches of articles and keeps each batch's finished rows (facts to insert, facts to
retire, per-capita rows) here until the publish transaction reads them back, piece by piece, in the order
they were written. Pieces are pickled DataFrames: exact dtypes and None/NaN round-trip, and reading one back
is as fast as the disk. The folder is removed when the job ends, whatever happened.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


class Spool:
    """Named streams of DataFrame pieces on disk; use as a context manager."""

    def __init__(self, prefix: str = "zj-spool-") -> None:
        self._prefix = prefix
        self._folder: Path | None = None
        self._pieces: dict[str, list[Path]] = {}
        self._rows: dict[str, int] = {}

    def __enter__(self) -> Spool:
        self._folder = Path(tempfile.mkdtemp(prefix=self._prefix))
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def put(self, stream: str, frame: pd.DataFrame) -> None:
        """Append a piece to `stream` (empty pieces are not kept)."""
        if self._folder is None:
            raise RuntimeError("the spool is not open")
        if not len(frame):
            return
        pieces = self._pieces.setdefault(stream, [])
        path = self._folder / f"{stream}-{len(pieces):06d}.pkl"
        frame.to_pickle(path, compression=None)
        pieces.append(path)
        self._rows[stream] = self._rows.get(stream, 0) + len(frame)

    def pieces(self, stream: str) -> Iterator[pd.DataFrame]:
        """The pieces of `stream`, in the order they were put."""
        for path in self._pieces.get(stream, []):
            yield pd.read_pickle(path, compression=None)

    def rows(self, stream: str) -> int:
        return self._rows.get(stream, 0)
