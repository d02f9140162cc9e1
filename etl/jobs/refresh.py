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

import dataclasses
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Table, case, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Engine

from etl.curate.corrections import (
    Correction,
    Vocabulary,
    apply_corrections,
    corrections_frame,
    load_corrections,
    where,
)
from etl.extract.indicators import Taxonomy, load_taxonomy
from etl.extract.numbers import load_units
from etl.extract.regions import Gazetteer, load_gazetteer
from etl.extract.sources import Article, Rejection
from etl.jobs.batches import (
    FAIRNESS_COLUMNS,
    FAIRNESS_TABLES,
    STATISTICS_SOURCE,
    Progress,
    RunSummary,
    articles_frame,
    extract_batches,
    facts_frame,
    fairness_indicators,
    fairness_tables,
    indicators_frame,
    regions_frame,
    statistics_inputs,
    unknown_region_rejection,
)
from etl.jobs.scan import InputState, Scan, extractor_fingerprint, read_article, scan_raw
from etl.paths import CURATED_DIR, RAW_DIR, REFERENCE_DIR, resolve_db_url
from etl.store import curated_csv
from etl.store.csv_pieces import formatted_pieces
from etl.store.curated_csv import BlockSpec
from etl.store.locking import DatabaseLock, LockBusy
from etl.store.publish import (
    Delta,
    TablePatch,
    diff_facts,
    normalise_facts,
    publish_delta,
    read_facts,
    read_rows,
    read_table,
    record_run,
)
from etl.store.schema import (
    article_inputs,
    articles,
    ensure_schema,
    facts,
    make_engine,
    metadata,
    runs,
    validate_facts,
)
from etl.store.spool import Spool

log = logging.getLogger("etl.refresh")

PAUSE_ENV = "ZJ_TEST_PAUSE_BEFORE_COMMIT"  # tests: seconds to sleep inside the open publish transaction
WORKBOOK_NAME = "zj_talent_latest.xlsx"
RUN_LOCK_WAIT = 600.0  # a full run started by hand waits this long for a refresh to finish
KEY_COLUMNS = {"rejected_inputs": ["file", "reason", "detail"]}  # detected_at is kept, not compared
BLOCK_CSVS = {  # tables written one block of rows per article, spliced by a refresh: group, row order
    "facts": ("article_id", ("article_id", "char_start", "char_end", "indicator_code", "fact_id")),
    "articles": ("article_id", ("article_id",)),
    "derived_facts": ("numerator_article_id", ("numerator_article_id", "fact_id")),
    "crosscheck": ("article_id", ("article_id", "article_fact_id")),
}
PLAIN_CSVS = {"rejected_inputs": "id", "corrections": "line", "regions": None, "indicators": None}  # row order
CSV_DROP = ("id",)
BATCH_ARTICLES = 500  # articles extracted, compared and spooled at a time: what bounds a big job's memory
BATCH_ENV = "ZJ_BATCH_ARTICLES"
PATCH_LIMIT = 2000  # rebuilding more articles than this recomputes the per-capita tables whole
SPLICE_LIMIT = 2000  # more changed articles than this rewrites a CSV file from the database, piece by piece


@dataclass
class Options:
    """Where a job reads and writes, and how it behaves."""

    raw_dir: Path = RAW_DIR
    curated_dir: Path = CURATED_DIR
    db_url: str = ""
    reference_dir: Path = REFERENCE_DIR
    corrections_path: Path | None = None
    export_dir: Path | None = None
    export: bool = True
    full: bool = False
    kind: str = "refresh"
    lock_wait: float = 0.0
    progress: Progress | None = None

    def corrections_file(self) -> Path:
        return self.corrections_path or self.reference_dir / "corrections.csv"

    def workbook_path(self) -> Path:
        folder = self.export_dir or Path(os.environ.get("EXPORT_DIR") or self.curated_dir / "exports")
        return folder / WORKBOOK_NAME


@dataclass
class Plan:
    """What this job does: articles to (re)build, articles to retire, and why.

    Statistics tables are few and small, so they are rebuilt every time (`statistics`: the ids published
    before and present now); the comparison with the published facts finds whether anything changed.
    """

    scan: Scan
    published: set[str]
    removed: set[str]
    rebuild: set[str]
    added: set[str]
    changed: set[str]
    reextracted: set[str] = field(default_factory=set)
    statistics: set[str] = field(default_factory=set)

    @property
    def dirty(self) -> set[str]:
        return self.rebuild | self.removed | self.statistics


# --- loading: what is published and what is on disk --------------------------------------------------------

def read_inputs(engine: Engine) -> dict[str, InputState]:
    with engine.connect() as conn:
        rows = conn.execute(select(article_inputs)).mappings().all()
    return {r["article_id"]: InputState(**r) for r in rows}


def read_published(engine: Engine) -> dict[str, str]:
    """Published sources: article id → published_source ('manifest', 'inferred', 'statistics')."""
    with engine.connect() as conn:
        return dict(conn.execute(select(articles.c.article_id, articles.c.published_source)).all())


def last_success(engine: Engine) -> tuple[int | None, datetime | None]:
    """Id and end of the newest run that published data."""
    with engine.connect() as conn:
        row = conn.execute(select(runs.c.run_id, runs.c.finished_at).where(runs.c.outcome == "success")
                           .order_by(runs.c.run_id.desc()).limit(1)).first()
    if row is None:
        return None, None
    finished = row.finished_at
    return row.run_id, (finished.replace(tzinfo=UTC) if finished and finished.tzinfo is None else finished)


def fact_articles(engine: Engine, fact_ids: set[str]) -> dict[str, str]:
    """Article of each given fact that is currently published."""
    found: dict[str, str] = {}
    ids = sorted(fact_ids)
    with engine.connect() as conn:
        for start in range(0, len(ids), 900):
            found.update(conn.execute(select(facts.c.fact_id, facts.c.article_id)
                                      .where(facts.c.fact_id.in_(ids[start:start + 900]))).all())
    return found


# --- planning ------------------------------------------------------------------------------------------------

def correction_signatures(corrections: list[Correction]) -> dict[str, tuple]:
    """Per fact, what shapes its corrected row, in the form the `corrections` table keeps it."""
    return {c.fact_id: (c.action, c.describe_changes(), c.reason, c.analyst) for c in corrections}


def published_signatures(old: pd.DataFrame) -> dict[str, tuple]:
    """What the last publish applied, per fact (orphan lines changed no fact)."""
    applied = old[old["outcome"].isin(["applied", "invalid"])] if len(old) else old
    return {r.fact_id: (r.action, r.changes, r.reason, r.analyst) for r in applied.itertuples()}


def plan_changes(scan: Scan, published: set[str], previous: dict[str, InputState],
                 correction_articles: set[str], statistics: set[str]) -> Plan:
    """Articles to rebuild: new or changed input, or a correction of one of their facts changed."""
    present = set(scan.states)
    removed = published - present
    added = scan.changed - published
    changed = {a for a in scan.changed & published
               if a not in previous or (previous[a].sha256, previous[a].file, previous[a].manifest_digest)
               != (scan.states[a].sha256, scan.states[a].file, scan.states[a].manifest_digest)}
    rebuild = scan.changed | (correction_articles & present)
    return Plan(scan, published, removed, rebuild, added, changed, reextracted=rebuild - added - changed,
                statistics=statistics)


# --- building -------------------------------------------------------------------------------------------------

def region_rejections(scan: Scan, gazetteer: Gazetteer) -> list[Rejection]:
    found = []
    for state in scan.states.values():
        row = scan.manifest.get(state.file)
        rejection = unknown_region_rejection(state.file, row.primary_region if row else "", gazetteer)
        if rejection:
            found.append(rejection)
    return found


def batch_size() -> int:
    """Articles extracted, compared and spooled at a time (`ZJ_BATCH_ARTICLES` overrides, e.g. in tests)."""
    return max(1, int(os.environ.get(BATCH_ENV) or BATCH_ARTICLES))


@dataclass
class Staging:
    """What the batches of one job left in the spool, and what the rest of the job must know of them.

    Spool streams: `history` (published facts this job replaces or retires), `gone` (their ids), `facts`
    (rows to insert), and, when the per-capita tables are recomputed whole, `derived_facts` and `crosscheck`.
    In patch mode (a small refresh) the touched fact ids and fresh fairness inputs are kept instead.
    """

    spool: Spool
    relevant: set[str]
    whole_fairness: bool = False
    added: int = 0
    changed: int = 0
    retired: int = 0
    statistics_touched: bool = False
    relevant_touched: bool = False
    touched: set[str] = field(default_factory=set)
    fresh_relevant: list[pd.DataFrame] = field(default_factory=list)
    official: pd.DataFrame = field(default_factory=pd.DataFrame)
    applied: list[Correction] = field(default_factory=list)
    invalid: dict[int, str] = field(default_factory=dict)
    corrected_present: set[str] = field(default_factory=set)

    @property
    def facts_unchanged(self) -> bool:
        return not (self.added or self.changed or self.retired)


@dataclass
class Built:
    """The new rows for the articles being rebuilt (in the spool), and what was set aside along the way."""

    staging: Staging
    articles: pd.DataFrame
    rejections: list[Rejection]
    corrections: pd.DataFrame
    corrections_applied: int
    orphans: list[Correction]
    failed: set[str]


def stage_batch(staging: Staging, engine: Engine, vocab: Vocabulary, plan: Plan, corrections: list[Correction],
                article_ids: set[str], new: pd.DataFrame) -> pd.DataFrame:
    """Compare one batch's new facts with the published facts of the same articles and spool the difference;
    returns the batch's facts with corrections applied."""
    by_fact = {c.fact_id for c in corrections}
    new, applied, invalid = apply_corrections(normalise_facts(new), corrections, vocab)
    new = normalise_facts(new)
    staging.applied.extend(applied)
    staging.invalid.update(invalid)
    staging.corrected_present |= set(new["fact_id"]) & by_fact
    old = read_facts(engine, article_ids)
    diff = diff_facts(old, new)
    fresh_ids, gone_ids = set(diff.added) | set(diff.changed), set(diff.changed) | set(diff.retired)
    fresh = new[new["fact_id"].isin(fresh_ids)]
    if len(fresh):
        validate_facts(fresh, known_regions=set(vocab.regions.regions), known_indicators=set(vocab.taxonomy.indicators),
                       known_units=set(vocab.units), known_articles=article_ids)
    reasons = retire_reasons(plan)
    history = old[old["fact_id"].isin(gone_ids)].copy()
    history["retired_reason"] = [reasons.get(a, "rebuilt") for a in history["article_id"]]
    staging.spool.put("history", history)
    staging.spool.put("gone", pd.DataFrame({"fact_id": sorted(gone_ids)}))
    staging.spool.put("facts", fresh)
    staging.added += len(diff.added)
    staging.changed += len(diff.changed)
    staging.retired += len(diff.retired)
    touched = fresh_ids | gone_ids
    if touched:
        rows = pd.concat([old[old["fact_id"].isin(touched)], fresh], ignore_index=True)
        staging.relevant_touched |= bool(rows["indicator_code"].isin(staging.relevant).any())
        staging.statistics_touched |= bool((rows["source_kind"] == STATISTICS_SOURCE).any())
    if staging.whole_fairness:
        spool_fairness(staging, new, vocab.taxonomy)
    elif touched:
        staging.touched |= touched
        staging.fresh_relevant.append(fairness_inputs(fresh, staging.relevant))
    return new


def fairness_inputs(frame: pd.DataFrame, relevant: set[str]) -> pd.DataFrame:
    """The rows and columns the per-capita and cross-check tables read."""
    return frame.loc[frame["indicator_code"].isin(relevant), FAIRNESS_COLUMNS]


def spool_fairness(staging: Staging, frame: pd.DataFrame, taxonomy: Taxonomy) -> None:
    """Per-capita and cross-check rows of some article facts: each row hangs on one article fact and the
    official statistics, so computing them batch by batch gives the rows of computing them at once."""
    inputs = fairness_inputs(frame[frame["source_kind"] != STATISTICS_SOURCE], staging.relevant)
    if not len(inputs):
        return
    for name, table in fairness_tables(pd.concat([inputs, staging.official], ignore_index=True), taxonomy).items():
        staging.spool.put(name, table)


def article_batches(plan: Plan, opts: Options, size: int, unreadable: list[Rejection]) -> Iterator[list[Article]]:
    """The articles to rebuild, read again from disk a batch at a time (the scan kept no texts)."""
    scan, batch = plan.scan, []
    for article_id in sorted(plan.rebuild):
        state = scan.states[article_id]
        try:
            article = read_article(opts.raw_dir / state.file, scan.manifest.get(state.file))
        except (OSError, ValueError) as exc:
            unreadable.append(Rejection(state.file, "unreadable", f"{state.file}: {exc} (read again to extract)"))
            continue
        if article.sha256 != state.sha256:  # changed since the scan: record what was actually extracted
            scan.states[article_id] = dataclasses.replace(state, sha256=article.sha256)
        batch.append(article)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def build(plan: Plan, opts: Options, engine: Engine, vocab: Vocabulary, corrections: list[Correction],
          correction_problems: list[Rejection], old_corrections: pd.DataFrame, spool: Spool) -> Built:
    """Extract the articles to rebuild batch by batch, apply the corrections, compare each batch with what
    is published and spool the difference; memory holds one batch of facts at a time."""
    scan, size = plan.scan, batch_size()
    staging = Staging(spool, relevant=fairness_indicators(vocab.taxonomy))

    official, official_sources, official_rejections = statistics_inputs(opts.raw_dir, vocab.regions,
                                                                        vocab.taxonomy)
    plan.statistics |= set(official_sources["article_id"]) if len(official_sources) else set()
    statistics = stage_batch(staging, engine, vocab, plan, corrections, plan.statistics, facts_frame(official))
    staging.official = statistics.loc[:, FAIRNESS_COLUMNS]
    staging.whole_fairness = (opts.full or staging.statistics_touched or len(plan.rebuild | plan.removed) > PATCH_LIMIT)

    unreadable: list[Rejection] = []
    sources, failures, failed = [official_sources], [], set()
    for batch in extract_batches(article_batches(plan, opts, size, unreadable), vocab.regions, vocab.taxonomy,
                                 opts.progress, len(plan.rebuild), opts.reference_dir):
        failures.extend(batch.failures)
        kept = [a for a in batch.articles if a.article_id in batch.facts]
        failed |= {a.article_id for a in batch.articles} - set(batch.facts)
        sources.append(articles_frame(kept, batch.facts, vocab.regions))
        stage_batch(staging, engine, vocab, plan, corrections, {a.article_id for a in kept},
                    facts_frame([f for a in kept for f in batch.facts[a.article_id]]))
    failed |= {Path(r.file).stem for r in unreadable}
    retiring = sorted(plan.removed | (failed & plan.published))
    for start in range(0, len(retiring), size):
        stage_batch(staging, engine, vocab, plan, corrections, set(retiring[start:start + size]),
                    facts_frame([]))
    if staging.whole_fairness:
        spool_published_fairness(staging, engine, plan, vocab.taxonomy, size)

    outcomes = correction_outcomes(plan, engine, corrections, staging, old_corrections)
    name = opts.corrections_file().name
    reasons = {"invalid": "correction_invalid", "orphan": "correction_orphan"}
    correction_rejections = [Rejection(where(name, line), reasons[outcome], detail)
                             for line, (outcome, detail) in sorted(outcomes.items()) if outcome in reasons]
    frames = [f for f in sources if len(f)]
    return Built(
        staging=staging, articles=pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
        rejections=(scan.rejections + official_rejections + region_rejections(scan, vocab.regions) + unreadable
                    + failures + correction_problems + correction_rejections),
        corrections=corrections_frame(corrections, outcomes),
        corrections_applied=sum(1 for outcome, _ in outcomes.values() if outcome == "applied"),
        orphans=[c for c in corrections if outcomes[c.line][0] == "orphan"],
        failed=failed,
    )


def spool_published_fairness(staging: Staging, engine: Engine, plan: Plan, taxonomy: Taxonomy, size: int) -> None:
    """When the tables are recomputed whole, the published facts this job leaves alone count too."""
    untouched = sorted(plan.published - plan.dirty)
    for start in range(0, len(untouched), size):
        spool_fairness(staging, read_facts(engine, untouched[start:start + size]), taxonomy)


def correction_outcomes(plan: Plan, engine: Engine, corrections: list[Correction], staging: Staging,
                        old: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """Per line: applied, invalid (with why), or orphan; a line whose fact was not rebuilt keeps last outcome."""
    outcomes = {c.line: ("applied", "") for c in staging.applied}
    outcomes.update({line: ("invalid", detail) for line, detail in staging.invalid.items()})
    waiting = [c for c in corrections if c.line not in outcomes and c.fact_id not in staging.corrected_present]
    homes = fact_articles(engine, {c.fact_id for c in waiting})
    previous = {r.fact_id: (r.outcome, r.detail) for r in old.itertuples()} if len(old) else {}
    for correction in waiting:
        home = homes.get(correction.fact_id)
        if home is None or home in plan.dirty:
            outcomes[correction.line] = ("orphan", f"fact {correction.fact_id} is not among the current facts "
                                         "(its article changed or was removed); the correction was not applied")
        else:  # its article was not rebuilt and its line did not change: the published fact carries it
            outcomes[correction.line] = previous.get(correction.fact_id, ("applied", ""))
    return outcomes


def correction_articles(engine: Engine, corrections: list[Correction], old: pd.DataFrame) -> set[str]:
    """Articles whose facts' corrections were added, changed or withdrawn since the last publish."""
    new, before = correction_signatures(corrections), published_signatures(old)
    touched = {f for f in new.keys() | before.keys() if new.get(f) != before.get(f)}
    return set(fact_articles(engine, touched).values())


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


def rejections_table(rejections: list[Rejection], old: pd.DataFrame) -> pd.DataFrame:
    """rejected_inputs, keeping when each still-present problem was first seen."""
    first_seen = {(r.file, r.reason, r.detail): r.detected_at for r in old.itertuples()} if len(old) else {}
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame([{"file": r.file, "reason": r.reason, "detail": r.detail,
                          "detected_at": first_seen.get((r.file, r.reason, r.detail), now)}
                         for r in rejections], columns=["file", "reason", "detail", "detected_at"])


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
        summary.outcome, summary.error = "failed", f"{type(exc).__name__}: {exc}"
        log.error("%s failed: %s", opts.kind, traceback.format_exc())
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
    # Load: reference data, what is published, what is on disk now.
    gazetteer, taxonomy = load_gazetteer(opts.reference_dir), load_taxonomy(opts.reference_dir)
    vocab = Vocabulary(gazetteer, taxonomy, frozenset(load_units()))
    previous, published_sources = read_inputs(engine), read_published(engine)
    published = {a for a, source in published_sources.items() if source != STATISTICS_SOURCE}
    prior_version, _ = last_success(engine)
    scan = scan_raw(opts.raw_dir, previous, extractor_fingerprint(reference_dir=opts.reference_dir),
                    full=opts.full, published=published)
    corrections, correction_problems = load_corrections(opts.corrections_file(), vocab)
    old_corrections = read_table(engine, "corrections")

    # Process: plan, extract what changed batch by batch, compare with what is published, spool the difference.
    plan = plan_changes(scan, published, previous, correction_articles(engine, corrections, old_corrections),
                        statistics=set(published_sources) - published)
    with Spool() as spool:
        built = build(plan, opts, engine, vocab, corrections, correction_problems, old_corrections, spool)
        staging = built.staging
        old_rejections = read_table(engine, "rejected_inputs")
        candidates = {
            "rejected_inputs": rejections_table(built.rejections, old_rejections),
            "corrections": built.corrections,
            "regions": regions_frame(gazetteer),
            "indicators": indicators_frame(taxonomy),
        }
        replace = {name: frame for name, frame in candidates.items()
                   if not same_table(old_rejections if name == "rejected_inputs" else read_table(engine, name),
                                     frame, KEY_COLUMNS.get(name, list(frame.columns)))}
        replace_spooled = changed_fairness_tables(engine, staging)
        patches = [p for p in fairness_patches(staging, taxonomy) if not p.empty]
        inputs = [asdict(s) for a, s in scan.states.items() if previous.get(a) != s]

        summary.articles_read = len(scan.states) - len(built.failed)
        summary.rejections = built.rejections
        summary.articles_added = len(plan.added - built.failed)
        summary.articles_changed = len(plan.changed - built.failed)
        summary.articles_removed = len(plan.removed | (built.failed & published))
        summary.facts_added, summary.facts_changed, summary.facts_retired = (
            staging.added, staging.changed, staging.retired)
        summary.corrections_applied = built.corrections_applied
        summary.correction_orphans = [f"line {c.line}: fact {c.fact_id}" for c in built.orphans]

        unchanged = (staging.facts_unchanged and not plan.removed and not (built.failed & published)
                     and not replace and not replace_spooled and not patches
                     and same_table(read_rows(engine, articles, "article_id", plan.rebuild | plan.statistics), built.articles,
                                    list(built.articles.columns)))
        summary.message = (("nothing new; " if unchanged else "") + summary.message
                           + describe(plan, built, scan))

        # Save: one transaction (or just the run log when nothing changed), then the files derived from it.
        if unchanged:
            summary.outcome = "nothing_new"
            summarise_current(engine, summary)
            summary.run_id = record_run(engine, run_row(summary), inputs)
        else:
            summary.outcome = "success"
            delta = Delta(run=run_row(summary), dirty=plan.dirty, spool=spool, articles=built.articles,
                          inputs=inputs, dropped_inputs=set(previous) - set(scan.states), replace=replace,
                          replace_spooled=replace_spooled, patches=patches)
            lock.pause_heartbeat()
            try:
                summary.run_id = publish_delta(engine, delta, before_commit=pause_for_tests)
            finally:
                lock.resume_heartbeat()
            checkpoint(engine)
            summarise_current(engine, summary)
    changed_tables = spliceable = set()
    if summary.outcome == "success":
        spliceable = {"facts", "articles", *(p.table for p in patches)}
        changed_tables = spliceable | set(replace) | replace_spooled
    write_outputs(engine, opts, summary, plan, prior_version, changed_tables, spliceable)


def fairness_patches(staging: Staging, taxonomy: Taxonomy) -> list[TablePatch]:
    """A small refresh's changes to the per-capita tables: the rows of the facts it touched, recomputed.

    Each row hangs on one article fact (plus the official statistics), so while the statistics are
    unchanged only the rows of added, changed and retired facts need computing.
    """
    if staging.whole_fairness or not staging.relevant_touched:
        return []
    tables = fairness_tables(pd.concat([*staging.fresh_relevant, staging.official], ignore_index=True), taxonomy)
    return [TablePatch("derived_facts", "numerator_fact_id", staging.touched, tables["derived_facts"]),
            TablePatch("crosscheck", "article_fact_id", staging.touched, tables["crosscheck"])]


def describe(plan: Plan, built: Built, scan: Scan) -> str:
    staging = built.staging
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


def retire_reasons(plan: Plan) -> dict[str, str]:
    """Why an article's old facts left the current table, for facts_history."""
    reasons = dict.fromkeys(plan.removed, "article_removed")
    reasons.update(dict.fromkeys(plan.changed, "article_changed"))
    return reasons


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
    """With ZJ_TEST_PAUSE_BEFORE_COMMIT set, wait inside the open transaction so a test can kill us there."""
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        print(f"ZJ_TEST: paused before commit for {seconds}s", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the database file, so a copy of the file alone is complete."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def summarise_current(engine: Engine, summary: RunSummary) -> None:
    """Article facts by family and those needing review; official statistics are counted apart.

    One grouped pass over the facts table (three separate counts cost three scans, most of a small refresh).
    """
    review = func.sum(case((facts.c.status == "needs_review", 1), else_=0))
    with engine.connect() as conn:
        rows = conn.execute(select(facts.c.source_kind, facts.c.family, func.count(), review)
                            .group_by(facts.c.source_kind, facts.c.family)).all()
    summary.facts_by_family = {family: count for kind, family, count, _ in rows if kind == "article"}
    summary.statistics_facts = sum(count for kind, _, count, _ in rows if kind == "statistics")
    summary.facts_total = sum(summary.facts_by_family.values()) + summary.statistics_facts
    summary.facts_needing_review = sum(int(needing or 0) for *_, needing in rows)
    summary.finished_at = datetime.now(UTC)


# --- derived files: CSV and the officials' workbook -------------------------------------------------------

def write_outputs(engine: Engine, opts: Options, summary: RunSummary, plan: Plan, prior_version: int | None,
                  changed_tables: set[str], spliceable: set[str]) -> None:
    """CSV files and workbook, when the data changed or they lag behind the database (a crash after commit)."""
    version, finished = last_success(engine)
    if version is None:
        return
    notes = []
    state_version, entries = curated_csv.read_state(opts.curated_dir)
    if state_version != version or set(entries) != {*BLOCK_CSVS, *PLAIN_CSVS} or changed_tables:
        written = write_csvs(engine, opts.curated_dir, (version, prior_version, state_version), entries,
                             plan.dirty, changed_tables, spliceable)
        notes.append(f"CSV files written: {', '.join(written)}" if written else "CSV files current")
    if opts.export:
        target = opts.workbook_path()
        stale = not target.exists() or finished is None or target.stat().st_mtime < finished.timestamp()
        if stale:
            notes.append(export_workbook(opts, summary, target))
    if notes:
        summary.message += "; " + "; ".join(notes)
        annotate_run(engine, summary)


def write_csvs(engine: Engine, curated_dir: Path, versions: tuple[int, int | None, int | None],
               entries: dict[str, dict], dirty: set[str], changed_tables: set[str], spliceable: set[str]
               ) -> list[str]:
    """The curated tables as CSV; returns what was written ('facts (spliced)', 'articles', …).

    When the files reflect the prior state, a table this job did not change keeps its file, and a table in
    `spliceable` (changed only for the `dirty` articles) has those articles' blocks replaced. Everything else
    is written whole from the database. `versions`: this run, the prior publish, the run the files reflect;
    `entries`: the state file's valid entries.
    """
    curated_dir.mkdir(parents=True, exist_ok=True)
    version, prior_version, state_version = versions
    current = prior_version is not None and state_version == prior_version
    files, written = {}, []
    for name, (group, order) in BLOCK_CSVS.items():
        spec = BlockSpec(metadata.tables[name], group, order)
        entry = entries.get(name) if current and entries.get(name, {}).get("columns") == spec.columns else None
        if entry is not None and name not in changed_tables:
            files[name] = entry
            continue
        if entry is not None and name in spliceable and len(dirty) <= SPLICE_LIMIT:
            fresh = read_rows(engine, spec.table, group, dirty)
            spliced = curated_csv.splice_blocks(curated_dir, spec, entry, dirty, fresh)
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
        entry = entries.get(name) if current and entries.get(name, {}).get("columns") == columns else None
        if entry is not None and name not in changed_tables:
            files[name] = entry
            continue
        frame = curated_csv.normalise(read_table(engine, name), table)
        frame = (frame.sort_values(order, kind="stable") if order else frame)[columns]
        files[name] = {**curated_csv.write_plain(curated_dir, name, frame), "columns": columns}
        written.append(name)
    curated_csv.write_state(curated_dir, version, files)
    return written


def export_workbook(opts: Options, summary: RunSummary, target: Path) -> str:
    """Write the officials' workbook; a failure is reported, the published data stands."""
    try:
        from etl.workbook.export import (  # optional: the export module may be absent
            ExportFilters,
            export_to_file,
        )
    except ImportError as exc:
        return f"workbook not written (etl.workbook.export unavailable: {exc})"
    try:
        export_to_file(opts.db_url, target, ExportFilters())
    except Exception as exc:  # noqa: BLE001 - the data is published; say what went wrong with the file
        summary.error = f"workbook: {type(exc).__name__}: {exc}"
        log.exception("workbook export failed")
        return f"workbook not written ({type(exc).__name__})"
    summary.workbook = str(target)
    return f"workbook written to {target}"


def annotate_run(engine: Engine, summary: RunSummary) -> None:
    with engine.begin() as conn:
        conn.execute(sql_update(runs).where(runs.c.run_id == summary.run_id)
                     .values(message=summary.message, error=summary.error))


# --- public entry points ------------------------------------------------------------------------------------

def run(raw_dir: Path, curated_dir: Path, db_url: str, progress: Progress | None = None,
        reference_dir: Path = REFERENCE_DIR) -> RunSummary:
    """Full extraction from scratch: everything in `raw_dir` becomes the curated tables."""
    return update(Options(raw_dir=Path(raw_dir), curated_dir=Path(curated_dir), db_url=db_url,
                          reference_dir=Path(reference_dir), progress=progress, full=True, kind="run",
                          export=False, lock_wait=RUN_LOCK_WAIT))


def refresh(raw_dir: Path = RAW_DIR, curated_dir: Path = CURATED_DIR, db_url: str | None = None,
            **options) -> RunSummary:
    """One incremental refresh (see `Options` for the keyword arguments)."""
    curated_dir = Path(curated_dir)
    return update(Options(raw_dir=Path(raw_dir), curated_dir=curated_dir,
                          db_url=db_url or resolve_db_url(None, curated_dir), **options))
