"""The files derived from the database after a job's commit: the curated CSV files and the officials' workbook.

Both are written when the data changed, or when they lag behind the database (a crash after the commit
left them older than the newest successful run). A CSV file whose table this job did not change keeps its
bytes; a big table changed only for some articles has just their blocks replaced (see etl.store.curated_csv).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update as sql_update
from sqlalchemy.engine import Engine

from etl.jobs.batches import RunSummary
from etl.jobs.plan import Job, Options, last_success
from etl.jobs.staging import batch_size
from etl.paths import redact
from etl.store import curated_csv
from etl.store.csv_pieces import formatted_pieces
from etl.store.curated_csv import BlockSpec
from etl.store.publish import read_rows, read_table
from etl.store.schema import metadata, runs

log = logging.getLogger("etl.refresh")

BLOCK_CSVS = {  # tables written one block of rows per article, spliced by a refresh: group, row order
    "facts": ("article_id", ("article_id", "char_start", "char_end", "indicator_code", "fact_id")),
    "articles": ("article_id", ("article_id",)),
    "derived_facts": ("numerator_article_id", ("numerator_article_id", "fact_id")),
    "crosscheck": ("article_id", ("article_id", "article_fact_id")),
}
PLAIN_CSVS = {"rejected_inputs": "id", "corrections": "line", "regions": None, "indicators": None}  # row order
CSV_DROP = ("id",)
SPLICE_LIMIT = 2000  # more changed articles than this rewrites a CSV file from the database, piece by piece


@dataclass(frozen=True)
class TableChanges:
    """What this job's commit changed: the tables (`changed`), of which those in `spliceable` changed only
    for the `dirty` articles."""

    dirty: set[str]
    changed: set[str]
    spliceable: set[str]


@dataclass(frozen=True)
class FilesState:
    """The run just published, the one before it, the run the CSV files reflect, and the state file's valid
    entries (see `curated_csv.read_state`)."""

    version: int
    prior_version: int | None
    state_version: int | None
    entries: dict[str, dict]

    @property
    def current(self) -> bool:
        """The files reflect the prior publish, so what this job did not change can stay as it is."""
        return self.prior_version is not None and self.state_version == self.prior_version


def write_outputs(job: Job, changes: TableChanges) -> None:
    """CSV files and workbook, when the data changed or they lag behind the database (a crash after commit)."""
    engine, opts, summary = job.engine, job.opts, job.summary
    version, finished = last_success(engine)
    if version is None:
        return
    notes = []
    state_version, entries = curated_csv.read_state(opts.curated_dir)
    if state_version != version or set(entries) != {*BLOCK_CSVS, *PLAIN_CSVS} or changes.changed:
        state = FilesState(version, job.prior_version, state_version, entries)
        written = write_csvs(engine, opts.curated_dir, state, changes)
        notes.append(f"CSV files written: {', '.join(written)}" if written else "CSV files current")
    if opts.export:
        target = opts.workbook_path()
        stale = not target.exists() or finished is None or target.stat().st_mtime < finished.timestamp()
        if stale:
            notes.append(export_workbook(opts, summary, target))
    if notes:
        summary.message += "; " + "; ".join(notes)
        annotate_run(engine, summary)


def write_csvs(engine: Engine, curated_dir: Path, state: FilesState, changes: TableChanges) -> list[str]:
    """The curated tables as CSV; returns what was written ('facts (spliced)', 'articles', …).

    When the files reflect the prior state, a table this job did not change keeps its file, and a table in
    `changes.spliceable` has the blocks of the dirty articles replaced. Everything else is written whole from
    the database.
    """
    curated_dir.mkdir(parents=True, exist_ok=True)
    files, written = {}, []
    for name, (group, order) in BLOCK_CSVS.items():
        spec = BlockSpec(metadata.tables[name], group, order)
        entry = _kept_entry(state, name, spec.columns)
        if entry is not None and name not in changes.changed:
            files[name] = entry
            continue
        if entry is not None and name in changes.spliceable and len(changes.dirty) <= SPLICE_LIMIT:
            fresh = read_rows(engine, spec.table, group, changes.dirty)
            spliced = curated_csv.splice_blocks(curated_dir, spec, entry, changes.dirty, fresh)
            if spliced is not None:
                files[name] = {**spliced, "columns": spec.columns}
                written.append(f"{name} (spliced)")
                continue
        files[name] = {**curated_csv.write_blocks(curated_dir, spec, formatted_pieces(engine, spec, batch_size())),
                       "columns": spec.columns}
        written.append(name)
    for name, order in PLAIN_CSVS.items():
        table = metadata.tables[name]
        columns = [c.name for c in table.columns if c.name not in CSV_DROP]
        entry = _kept_entry(state, name, columns)
        if entry is not None and name not in changes.changed:
            files[name] = entry
            continue
        frame = curated_csv.normalise(read_table(engine, name), table)
        frame = (frame.sort_values(order, kind="stable") if order else frame)[columns]
        files[name] = {**curated_csv.write_plain(curated_dir, name, frame), "columns": columns}
        written.append(name)
    curated_csv.write_state(curated_dir, state.version, files)
    return written


def _kept_entry(state: FilesState, name: str, columns: list[str]) -> dict | None:
    """The state file's entry for a file that may be kept or spliced: current, and with today's columns."""
    entry = state.entries.get(name, {})
    return state.entries.get(name) if state.current and entry.get("columns") == columns else None


def export_workbook(opts: Options, summary: RunSummary, target: Path) -> str:
    """Write the officials' workbook; a failure is reported, the published data stands."""
    from etl.workbook.data import ExportFilters  # openpyxl loads only when a workbook is due
    from etl.workbook.export import export_to_file

    try:
        export_to_file(opts.db_url, target, ExportFilters())
    except Exception as exc:  # noqa: BLE001 - the data is published; say what went wrong with the file
        summary.error = f"workbook: {type(exc).__name__}: {redact(exc)}"
        log.error("workbook export failed: %s", redact(traceback.format_exc()))
        return f"workbook not written ({type(exc).__name__})"
    summary.workbook = str(target)
    return f"workbook written to {target}"


def annotate_run(engine: Engine, summary: RunSummary) -> None:
    with engine.begin() as conn:
        conn.execute(sql_update(runs).where(runs.c.run_id == summary.run_id)
                     .values(message=summary.message, error=summary.error))
