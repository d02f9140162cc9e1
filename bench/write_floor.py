"""The write floor: what writing a full run's output costs on its own, before any article is read.

The regex floor says how fast the corpus can be scanned. A full ETL must also leave every fact, with its
quote and provenance, in the database and in the curated CSV files. Copying the rows a real run produced,
as ready tuples, into an empty SQLite database and into CSV files is the least any extractor has to add to
that scan, however fast it finds its facts; this module times exactly that.
"""

from __future__ import annotations

import csv
import sqlite3
import time
from pathlib import Path
from typing import Any

TABLES = ("facts", "derived_facts")  # the run's big tables; the others are a few thousand rows
CHUNK_ROWS = 20_000  # rows per fetch, so the 50,000-article database never sits in memory


def _schema(source: sqlite3.Connection, table: str) -> tuple[str, list[str]]:
    """CREATE TABLE and CREATE INDEX statements of `table` (automatic indexes have no SQL and come back
    with the table)."""
    (create,) = source.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    indexes = [sql for (sql,) in source.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
        (table,))]
    return create, indexes


def write_floor(db: Path, scratch: Path) -> dict[str, Any]:
    """Copy the facts and derived facts of the run's database `db` into an empty database of the same schema
    (one transaction, rows first and indexes after, the cheapest order) and into CSV files with csv.writer.
    Only the writing is timed, not reading the rows back; the copies are removed afterwards."""
    scratch.mkdir(parents=True, exist_ok=True)
    target_path = scratch / "write-floor.sqlite"
    csv_paths = [scratch / f"write-floor-{table}.csv" for table in TABLES]
    for path in (target_path, *csv_paths):
        path.unlink(missing_ok=True)
    seconds = {"insert": 0.0, "indexes": 0.0, "csv": 0.0}
    rows: dict[str, int] = {}
    source, target = sqlite3.connect(db), sqlite3.connect(target_path)
    try:
        for table, csv_path in zip(TABLES, csv_paths, strict=True):
            create, indexes = _schema(source, table)
            target.execute(create)
            cursor = source.execute(f'SELECT * FROM "{table}"')
            statement = f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(cursor.description))})'
            rows[table] = 0
            start = time.perf_counter()
            fh = open(csv_path, "w", newline="", encoding="utf-8-sig")  # noqa: SIM115 - its close is timed
            seconds["csv"] += time.perf_counter() - start
            writer = csv.writer(fh)
            while chunk := cursor.fetchmany(CHUNK_ROWS):
                start = time.perf_counter()
                target.executemany(statement, chunk)
                middle = time.perf_counter()
                writer.writerows(chunk)
                seconds["insert"] += middle - start
                seconds["csv"] += time.perf_counter() - middle
                rows[table] += len(chunk)
            start = time.perf_counter()
            fh.close()
            middle = time.perf_counter()
            for sql in indexes:
                target.execute(sql)
            seconds["csv"] += middle - start
            seconds["indexes"] += time.perf_counter() - middle
        start = time.perf_counter()
        target.commit()
        seconds["insert"] += time.perf_counter() - start
    finally:
        source.close()
        target.close()
        for path in (target_path, *csv_paths):
            path.unlink(missing_ok=True)
    return {"rows": rows, **{f"{k}_seconds": round(v, 3) for k, v in seconds.items()},
            "seconds": round(sum(seconds.values()), 3)}
