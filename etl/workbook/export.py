"""The officials' Excel workbook: built from an `ExportData` (etl.workbook.data) and written atomically.

Three callers share this module: `python -m etl export` and the refresh job (`export_to_file`), and the
dashboard's download button (`ExportData.from_frames` + `workbook_bytes`). The sheets are laid out in
`sheets` and `grids`, their styles in `styles`, and the big grids' rows are streamed by `stream`.
"""

from __future__ import annotations

import gc
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.store.schema import make_engine
from etl.workbook.data import ExportData, ExportFilters, load_export_data
from etl.workbook.sheets import build_workbook
from etl.workbook.stream import save


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the export, which allocates millions of objects that live
    until it ends (frames, cells, strings) and makes few cycles, so collection passes over them are wasted.
    The collector is switched back on (and so runs) when the export ends."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def workbook_bytes(data: ExportData) -> bytes:
    """The workbook in memory, for the dashboard's download button."""
    with collector_paused():
        workbook, streamed = build_workbook(data)
        buffer = io.BytesIO()
        save(workbook, streamed, buffer)
    return buffer.getvalue()


def write_workbook(data: ExportData, target: Path) -> Path:
    """Write beside the target and rename: a crash never replaces the last good workbook with half a file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook, streamed = build_workbook(data)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".xlsx.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            save(workbook, streamed, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the workbook from the people it is shared with
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def export_to_file(db_url: str, target: Path, filters: ExportFilters | None = None) -> Path:
    """Read `db_url`, write the workbook to `target`; for the CLI and the refresh job."""
    engine = make_engine(db_url)
    try:
        with collector_paused():
            return write_workbook(load_export_data(engine, filters), Path(target))
    finally:
        engine.dispose()
