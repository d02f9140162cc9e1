"""Write the curated tables: all of them in one database transaction, and CSV files renamed into place.

The only module besides `sources` that touches storage. A failed validation or a crash publishes
nothing, so readers always see the last complete state.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from etl.schema import CURATED_TABLES, ensure_schema, metadata

CSV_ENCODING = "utf-8-sig"  # with BOM, so Excel opens the Chinese text correctly
INSERT_CHUNK = 5000


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with NaN turned into NULL and numpy scalars into Python values."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, float) and math.isnan(value):
                record[key] = None
    return records


def write_tables(engine: Engine, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the curated tables' contents in a single transaction."""
    ensure_schema(engine)
    with engine.begin() as conn:
        for name in reversed(CURATED_TABLES):
            if name in tables:
                conn.execute(metadata.tables[name].delete())
        for name in CURATED_TABLES:
            if name not in tables:
                continue
            columns = [c.name for c in metadata.tables[name].columns]
            frame = tables[name][[c for c in columns if c in tables[name].columns]]
            records = _records(frame)
            for start in range(0, len(records), INSERT_CHUNK):
                conn.execute(metadata.tables[name].insert(), records[start:start + INSERT_CHUNK])


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write beside the target and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        frame.to_csv(tmp, index=False, encoding=CSV_ENCODING)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csvs(curated_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, frame in tables.items():
        write_csv_atomic(frame, curated_dir / f"{name}.csv")
