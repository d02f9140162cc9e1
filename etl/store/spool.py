"""A scratch folder of table pieces, so a job over tens of thousands of articles never holds all its rows.

A run extracts in batches of articles and keeps each batch's finished rows (facts to insert, facts to
retire, per-capita rows) here until the publish transaction reads them back, piece by piece, in the order
they were written. Pieces are pickled DataFrames: exact dtypes and None/NaN round-trip, and reading one back
is as fast as the disk. The folder is removed when the job ends, whatever happened; a job killed outright
(SIGKILL, power loss) leaves its folder behind, named with its process id, and the next job removes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

PREFIX = "zj-spool-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_abandoned(folder: Path, prefix: str = PREFIX) -> list[Path]:
    """Remove spool folders of jobs that no longer run (their process id is gone); returns them."""
    removed = []
    for path in folder.glob(f"{prefix}*-*"):
        pid = path.name.removeprefix(prefix).split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class Spool:
    """Named streams of DataFrame pieces on disk; use as a context manager."""

    def __init__(self, prefix: str = PREFIX) -> None:
        self._prefix = prefix
        self._folder: Path | None = None
        self._pieces: dict[str, list[Path]] = {}

    def __enter__(self) -> Spool:
        self._folder = Path(tempfile.mkdtemp(prefix=f"{self._prefix}{os.getpid()}-"))
        remove_abandoned(self._folder.parent, self._prefix)
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

    def pieces(self, stream: str) -> Iterator[pd.DataFrame]:
        """The pieces of `stream`, in the order they were put."""
        for path in self._pieces.get(stream, []):
            yield pd.read_pickle(path, compression=None)
