"""Keep the curated tables current: incremental, atomic, logged, one at a time, with analysts' corrections.

`update` is the one job behind both `python -m etl run` (full: every article is read and extracted again)
and `python -m etl refresh` (incremental: only new, changed or removed articles are touched). It reads top
to bottom as

    lock → load (what changed in data/raw, the corrections file) → extract the changed articles
         → build their tables and apply corrections → compare with what is published
         → publish the difference in one transaction (or log 'nothing_new') → CSV files → workbook.

Because a refresh only re-extracts articles whose text, manifest row or extractor changed, and replaces
exactly their facts, its tables equal those of a run from scratch on the same folder. Facts it replaces or
retires move to `facts_history`; every run leaves a row in `runs` (with `finished_at`), which is what the
dashboard watches. `etl.jobs.schedule` runs `update` on the cron expression in REFRESH_CRON.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Table, case, func, select
from sqlalchemy.engine import Engine

from etl.curate.corrections import load_corrections
from etl.extract.reference import load_reference
from etl.extract.sources import InputLimits, Rejection
from etl.jobs.batches import (
    FAIRNESS_TABLES,
    Progress,
    RunSummary,
    indicators_frame,
    regions_frame,
)
from etl.jobs.outputs import CSV_DROP, TableChanges, write_outputs
from etl.jobs.plan import (
    Corrections,
    Job,
    Options,
    Plan,
    correction_articles,
    last_success,
    plan_changes,
    read_inputs,
    read_published,
)
from etl.jobs.scan import extractor_fingerprint, scan_raw
from etl.jobs.staging import Built, Staging, build, fairness_patches
from etl.paths import CURATED_DIR, RAW_DIR, REFERENCE_DIR, redact, resolve_db_url
from etl.store import curated_csv
from etl.store.cells import neutralise
from etl.store.locking import DatabaseLock, LockBusy
from etl.store.publish import Delta, TablePatch, publish_delta, read_rows, read_table, record_run
from etl.store.schema import articles, ensure_schema, facts, make_engine, metadata
from etl.store.spool import Spool
from etl.vocabulary import ARTICLE, STATISTICS

log = logging.getLogger("etl.refresh")

PAUSE_ENV = "ZJ_TEST_PAUSE_BEFORE_COMMIT"  # tests: seconds to sleep inside the open publish transaction
RESUME_ENV = "ZJ_TEST_RESUME_FILE"  # tests: end that pause as soon as this file exists
RUN_LOCK_WAIT = 600.0  # a full run started by hand waits this long for a refresh to finish
KEY_COLUMNS = {"rejected_inputs": ["file", "reason", "detail"]}  # detected_at is kept, not compared


@dataclass
class Changes:
    """What a job changes besides the facts it staged batch by batch: small tables replaced whole, per-capita
    tables recomputed whole (`replace_spooled`) or patched, and the `article_inputs` rows that moved."""

    replace: dict[str, pd.DataFrame]
    replace_spooled: set[str]
    patches: list[TablePatch]
    inputs: list[dict]


# --- the job ------------------------------------------------------------------------------------------------

def update(opts: Options) -> RunSummary:
    """One run or refresh under the database lock; raises after logging a failed run. A refresh that finds
    the lock held logs 'skipped' and returns; a run raises LockBusy (someone asked for it by hand)."""
    if opts.db_url.startswith("sqlite:///"):
        Path(opts.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(opts.db_url)
    ensure_schema(engine)
    summary = RunSummary(kind=opts.kind, db_url=opts.db_url, curated_dir=str(opts.curated_dir),
                         started_at=datetime.now(UTC))
    lock = DatabaseLock(engine, command=opts.kind)
    try:
        lock.acquire(wait=opts.lock_wait)
    except LockBusy as busy:
        log.warning("%s not started: %s", opts.kind, busy)  # at once: recording it may wait for the holder
        summary.outcome, summary.message = "skipped", f"not started: {busy}"
        summary.run_id = record_run(engine, run_row(summary))
        engine.dispose()
        if opts.kind == "run":
            raise
        return summary
    try:
        if lock.taken_over:
            summary.message = f"took over the lock of a job that died: {lock.taken_over.describe()}; "
        _update(engine, opts, lock, summary)
    except Exception as exc:
        summary.outcome, summary.error = "failed", f"{type(exc).__name__}: {redact(exc)}"
        log.error("%s failed: %s", opts.kind, redact(traceback.format_exc()))
        try:
            summary.run_id = record_run(engine, run_row(summary))
        except Exception:  # noqa: BLE001 - the original error matters more than the log row
            log.exception("could not record the failed run")
        raise
    finally:
        lock.release()
        engine.dispose()
    return summary


def _update(engine: Engine, opts: Options, lock: DatabaseLock, summary: RunSummary) -> None:
    job, plan = start(engine, opts, lock, summary)  # Load: reference data, what is published, what is on disk.
    # Process: extract what changed batch by batch, compare with what is published, spool the difference.
    with Spool() as spool:
        built = build(job, plan, spool)
        changes = compare(job, plan, built)
        account(summary, plan, built)
        unchanged = nothing_changed(job, plan, built, changes)
        summary.message = ("nothing new; " if unchanged else "") + summary.message + describe(plan, built)
        # Save: one transaction (or just the run log when nothing changed), then the files derived from it.
        if unchanged:
            record_nothing_new(job, changes)
        else:
            publish(job, plan, built, changes)
    write_outputs(job, committed_tables(job, plan, changes))


def start(engine: Engine, opts: Options, lock: DatabaseLock, summary: RunSummary) -> tuple[Job, Plan]:
    """Load the reference data, what is published and what is on disk now, and plan the job."""
    reference = load_reference(opts.reference_dir)
    previous, published_sources = read_inputs(engine), read_published(engine)
    published = {a for a, source in published_sources.items() if source != STATISTICS}
    prior_version, _ = last_success(engine)
    scan = scan_raw(opts.raw_dir, previous, extractor_fingerprint(reference_dir=opts.reference_dir),
                    full=opts.full, published=published, limits=opts.limits)
    lines, problems = load_corrections(opts.corrections_file(), reference)
    corrections = Corrections(lines, problems, read_table(engine, "corrections"))
    job = Job(engine, opts, lock, summary, reference, corrections, prior_version)
    plan = plan_changes(scan, published, previous, correction_articles(engine, corrections),
                        statistics=set(published_sources) - published)
    return job, plan


def compare(job: Job, plan: Plan, built: Built) -> Changes:
    """The tables besides the facts whose new content differs from what is published."""
    engine = job.engine
    old_rejections = read_table(engine, "rejected_inputs")
    candidates = {
        "rejected_inputs": rejections_table(built.rejections, old_rejections, listed_rejections(job.opts.curated_dir)),
        "corrections": built.corrections,
        "regions": regions_frame(job.reference.regions),
        "indicators": indicators_frame(job.reference.taxonomy),
    }
    replace = {name: frame for name, frame in candidates.items()
               if not same_table(old_rejections if name == "rejected_inputs" else read_table(engine, name),
                                 frame, KEY_COLUMNS.get(name, list(frame.columns)))}
    return Changes(replace, changed_fairness_tables(engine, built.staging),
                   [p for p in fairness_patches(built.staging) if not p.empty],
                   [asdict(s) for a, s in plan.scan.states.items() if plan.previous.get(a) != s])


def nothing_changed(job: Job, plan: Plan, built: Built, changes: Changes) -> bool:
    """True when publishing would change nothing: then only the run is logged."""
    return (built.staging.facts_unchanged and not plan.removed and not (built.failed & plan.published)
            and not changes.replace and not changes.replace_spooled and not changes.patches
            and same_table(read_rows(job.engine, articles, "article_id", plan.rebuild | plan.statistics),
                           built.articles, list(built.articles.columns)))


def account(summary: RunSummary, plan: Plan, built: Built) -> None:
    """What the job did to articles, facts and corrections, as the run log and the command line report it."""
    staging = built.staging
    summary.articles_read = len(plan.scan.states) - len(built.failed)
    summary.rejections = built.rejections
    summary.articles_added = len(plan.added - built.failed)
    summary.articles_changed = len(plan.changed - built.failed)
    summary.articles_removed = len(plan.removed | (built.failed & plan.published))
    summary.facts_added, summary.facts_changed, summary.facts_retired = (
        staging.added, staging.changed, staging.retired)
    summary.corrections_applied = built.corrections_applied
    summary.correction_orphans = [f"line {c.line}: fact {c.fact_id}" for c in built.orphans]


def publish(job: Job, plan: Plan, built: Built, changes: Changes) -> None:
    """Everything the job changes, and its run, in one transaction."""
    summary = job.summary
    summary.outcome = "success"
    delta = Delta(run=run_row(summary), dirty=plan.dirty, spool=built.staging.spool, articles=built.articles,
                  inputs=changes.inputs, dropped_inputs=set(plan.previous) - set(plan.scan.states),
                  replace=changes.replace, replace_spooled=changes.replace_spooled, patches=changes.patches)
    job.lock.pause_heartbeat()
    try:
        summary.run_id = publish_delta(job.engine, delta, before_commit=pause_for_tests)
    finally:
        job.lock.resume_heartbeat()
    checkpoint(job.engine)
    summarise_current(job.engine, summary)


def record_nothing_new(job: Job, changes: Changes) -> None:
    """Only the run log (and any input bookkeeping, such as files read again to verify them)."""
    job.summary.outcome = "nothing_new"
    summarise_current(job.engine, job.summary)
    job.summary.run_id = record_run(job.engine, run_row(job.summary), changes.inputs)


def committed_tables(job: Job, plan: Plan, changes: Changes) -> TableChanges:
    """The tables the commit changed, for the files derived from them (none when nothing was published)."""
    if job.summary.outcome != "success":
        return TableChanges(plan.dirty, set(), set())
    spliceable = {"facts", "articles", *(p.table for p in changes.patches)}
    return TableChanges(plan.dirty, spliceable | set(changes.replace) | changes.replace_spooled, spliceable)


def describe(plan: Plan, built: Built) -> str:
    staging, scan = built.staging, plan.scan
    parts = [f"articles {len(plan.added - built.failed)} added, {len(plan.changed - built.failed)} changed, "
             f"{len(plan.removed)} removed of {len(scan.states)} articles ({scan.files_read} files read)",
             f"facts {staging.added} added, {staging.changed} changed, {staging.retired} retired"]
    if plan.reextracted:
        parts.append(f"{len(plan.reextracted)} unchanged articles re-extracted (extractor or corrections changed)")
    if built.corrections_applied:
        parts.append(f"{built.corrections_applied} correction(s) applied")
    if built.orphans:
        parts.append(f"{len(built.orphans)} correction(s) whose fact no longer exists: "
                     + ", ".join(f"line {c.line} ({c.fact_id})" for c in built.orphans))
    if built.rejections:
        parts.append(f"{len(built.rejections)} input(s) set aside")
    return "; ".join(parts)


def run_row(summary: RunSummary) -> dict:
    return {
        "kind": summary.kind, "started_at": summary.started_at, "outcome": summary.outcome,
        "articles_read": summary.articles_read, "articles_added": summary.articles_added,
        "articles_changed": summary.articles_changed, "articles_removed": summary.articles_removed,
        "articles_rejected": len(summary.rejections), "facts_added": summary.facts_added,
        "facts_changed": summary.facts_changed, "facts_retired": summary.facts_retired,
        "facts_total": summary.facts_total, "message": summary.message, "error": summary.error,
        "corrections_applied": summary.corrections_applied, "correction_orphans": len(summary.correction_orphans),
    }


def pause_for_tests() -> None:
    """With ZJ_TEST_PAUSE_BEFORE_COMMIT set, wait inside the open transaction so a test can kill us there,
    or, with ZJ_TEST_RESUME_FILE, act while we hold the lock and let us go on by creating that file."""
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        print(f"ZJ_TEST: paused before commit for {seconds}s", file=sys.stderr, flush=True)
        resume, deadline = os.environ.get(RESUME_ENV), time.monotonic() + float(seconds)
        while time.monotonic() < deadline and not (resume and os.path.exists(resume)):
            time.sleep(0.05)


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the database file, so a copy of the file alone is complete."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def summarise_current(engine: Engine, summary: RunSummary) -> None:
    """Article facts by family and those needing review; official statistics are counted apart.

    One grouped pass over the facts table: three separate counts would scan it three times.
    """
    review = func.sum(case((facts.c.status == "needs_review", 1), else_=0))
    with engine.connect() as conn:
        rows = conn.execute(select(facts.c.source_kind, facts.c.family, func.count(), review)
                            .group_by(facts.c.source_kind, facts.c.family)).all()
    summary.facts_by_family = {family: count for kind, family, count, _ in rows if kind == ARTICLE}
    summary.statistics_facts = sum(count for kind, _, count, _ in rows if kind == STATISTICS)
    summary.facts_total = sum(summary.facts_by_family.values()) + summary.statistics_facts
    summary.facts_needing_review = sum(int(needing or 0) for *_, needing in rows)
    summary.finished_at = datetime.now(UTC)


# --- comparing with what is published ------------------------------------------------------------------------

def _row_strings(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    if not len(frame):
        return []
    frame = frame.reindex(columns=columns).astype(object)
    return list(map(tuple, frame.where(frame.notna(), None).astype(str).to_numpy().tolist()))


def same_table(old: pd.DataFrame, new: pd.DataFrame, columns: list[str]) -> bool:
    return len(old) == len(new) and set(_row_strings(old, columns)) == set(_row_strings(new, columns))


def row_hashes(frames: Iterable[pd.DataFrame], table: Table) -> list[int]:
    """Sorted hashes of a big table's rows, typed by the table's declared columns: two tables with the same
    rows in any order and any piecing give the same list, without holding either table's text."""
    columns = [c.name for c in table.columns if c.name not in CSV_DROP]
    hashes: list[int] = []
    for frame in frames:
        hashes.extend(map(hash, _row_strings(curated_csv.normalise(frame, table), columns)))
    return sorted(hashes)


def published_pieces(engine: Engine, table: Table, size: int = 50_000) -> Iterator[pd.DataFrame]:
    """A published table in pieces, streamed from the server rather than fetched whole."""
    with engine.connect() as conn:
        yield from pd.read_sql(select(table), conn.execution_options(stream_results=True), chunksize=size)


def changed_fairness_tables(engine: Engine, staging: Staging) -> set[str]:
    """The per-capita tables whose whole recomputation differs from what is published."""
    if not staging.whole_fairness:
        return set()
    return {name for name in FAIRNESS_TABLES
            if row_hashes(staging.spool.pieces(name), metadata.tables[name])
            != row_hashes(published_pieces(engine, metadata.tables[name]), metadata.tables[name])}


def rejections_table(rejections: list[Rejection], old: pd.DataFrame, listed: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
    """rejected_inputs, keeping when each still-present problem was first seen: as the database has it, else
    as the curated file lists it (`listed`), so a rebuilt database (a fresh clone, a new server) does not
    make every known problem new and the committed file does not change with each first run."""
    first_seen = {} if listed is None else {(r.file, r.reason, r.detail): r.detected_at for r in listed.itertuples()}
    if len(old):
        first_seen.update({(neutralise(r.file), r.reason, neutralise(r.detail)): r.detected_at for r in old.itertuples()})
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame([{"file": r.file, "reason": r.reason, "detail": r.detail,
                          "detected_at": first_seen.get((neutralise(r.file), r.reason, neutralise(r.detail)), now)}
                         for r in rejections], columns=["file", "reason", "detail", "detected_at"])


def listed_rejections(curated_dir: Path) -> pd.DataFrame | None:
    """The curated rejected_inputs.csv as written (texts neutralised, etl.store.cells); None when absent or
    unreadable, since it only carries first-seen times forward."""
    try:
        listed = pd.read_csv(curated_dir / "rejected_inputs.csv", dtype=str, keep_default_na=False,
                             encoding="utf-8-sig")
        return listed[["file", "reason", "detail", "detected_at"]].assign(
            detected_at=pd.to_datetime(listed["detected_at"], errors="coerce", format="mixed", utc=True)).dropna()
    except (OSError, ValueError, KeyError):
        return None


# --- public entry points ------------------------------------------------------------------------------------

def run(raw_dir: Path, curated_dir: Path, db_url: str, progress: Progress | None = None,
        reference_dir: Path = REFERENCE_DIR, limits: InputLimits | None = None) -> RunSummary:
    """Full extraction from scratch: everything in `raw_dir` becomes the curated tables."""
    return update(Options(raw_dir=Path(raw_dir), curated_dir=Path(curated_dir), db_url=db_url,
                          reference_dir=Path(reference_dir), progress=progress, full=True, kind="run",
                          export=False, lock_wait=RUN_LOCK_WAIT, limits=limits or InputLimits.from_env()))


def refresh(raw_dir: Path = RAW_DIR, curated_dir: Path = CURATED_DIR, db_url: str | None = None,
            **options) -> RunSummary:
    """One incremental refresh (see `Options` for the keyword arguments)."""
    curated_dir = Path(curated_dir)
    return update(Options(raw_dir=Path(raw_dir), curated_dir=curated_dir,
                          db_url=db_url or resolve_db_url(None, curated_dir), **options))
