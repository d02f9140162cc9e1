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
dashboard watches. `schedule` runs `update` on the cron expression in REFRESH_CRON.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Engine

from etl import curated_csv
from etl.corrections import (
    Correction,
    Vocabulary,
    apply_corrections,
    corrections_frame,
    load_corrections,
    where,
)
from etl.curated_csv import BlockSpec
from etl.extract import Fact, extract_article
from etl.indicators import Taxonomy, load_taxonomy
from etl.locking import DatabaseLock, LockBusy
from etl.numbers import load_units
from etl.paths import CURATED_DIR, RAW_DIR, REFERENCE_DIR, resolve_db_url
from etl.pipeline import (
    STATISTICS_SOURCE,
    Progress,
    RunSummary,
    articles_frame,
    extract_all,
    facts_frame,
    fairness_indicators,
    fairness_tables,
    indicators_frame,
    regions_frame,
    statistics_inputs,
    unknown_region_rejection,
)
from etl.publish import (
    Delta,
    FactDiff,
    TablePatch,
    diff_facts,
    normalise_facts,
    publish_delta,
    read_facts,
    read_table,
    record_run,
)
from etl.regions import Gazetteer, load_gazetteer
from etl.scan import InputState, Scan, extractor_fingerprint, read_article, scan_raw
from etl.schema import (
    article_inputs,
    articles,
    ensure_schema,
    facts,
    make_engine,
    metadata,
    runs,
    validate_facts,
)
from etl.sources import Article, Rejection

log = logging.getLogger("etl.refresh")

PAUSE_ENV = "ZJ_TEST_PAUSE_BEFORE_COMMIT"  # tests: seconds to sleep inside the open publish transaction
DEFAULT_CRON = "0 6 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"
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

def extract_isolated(articles_in: list[Article], gazetteer: Gazetteer, taxonomy: Taxonomy, opts: Options
                     ) -> tuple[dict[str, list[Fact]], list[Rejection]]:
    """Facts per article; if the extractor fails on an article, that article alone is set aside."""
    try:
        return extract_all(articles_in, gazetteer, taxonomy, opts.progress, len(articles_in),
                           opts.reference_dir), []
    except Exception:  # noqa: BLE001 - find the article(s) at fault one by one
        out, failures = {}, []
        for article in articles_in:
            try:
                out[article.article_id] = extract_article(article, gazetteer, taxonomy)
            except Exception as exc:  # noqa: BLE001
                failures.append(Rejection(article.file, "extraction_failed",
                                          f"{article.file}: the extractor failed ({type(exc).__name__}: {exc})"))
        return out, failures


def region_rejections(scan: Scan, gazetteer: Gazetteer) -> list[Rejection]:
    found = []
    for state in scan.states.values():
        row = scan.manifest.get(state.file)
        rejection = unknown_region_rejection(state.file, row.primary_region if row else "", gazetteer)
        if rejection:
            found.append(rejection)
    return found


@dataclass
class Built:
    """The new tables for the articles being rebuilt, and what was set aside along the way."""

    facts: pd.DataFrame
    articles: pd.DataFrame
    rejections: list[Rejection]
    corrections: pd.DataFrame
    corrections_applied: int
    orphans: list[Correction]
    failed: set[str]


def build(plan: Plan, opts: Options, engine: Engine, vocab: Vocabulary, corrections: list[Correction],
          correction_problems: list[Rejection], old_corrections: pd.DataFrame) -> Built:
    """Extract the articles to rebuild and apply the corrections (validation follows the comparison)."""
    scan = plan.scan
    to_extract = []
    for article_id in sorted(plan.rebuild):
        article = scan.articles.get(article_id)
        if article is None:  # rebuilt for a correction: same text, read it now
            state = scan.states[article_id]
            article = read_article(opts.raw_dir / state.file, scan.manifest.get(state.file))
        to_extract.append(article)
    extracted, failures = extract_isolated(to_extract, vocab.regions, vocab.taxonomy, opts)
    kept = [a for a in to_extract if a.article_id in extracted]
    official, official_sources, official_rejections = statistics_inputs(opts.raw_dir, vocab.regions,
                                                                        vocab.taxonomy)
    sources = pd.concat([articles_frame(kept, extracted, vocab.regions), official_sources], ignore_index=True)

    frame = normalise_facts(facts_frame([*(f for a in kept for f in extracted[a.article_id]), *official]))
    frame, applied, invalid = apply_corrections(frame, corrections, vocab)
    frame = normalise_facts(frame)

    outcomes = correction_outcomes(plan, engine, corrections, applied, invalid, frame, old_corrections)
    name = opts.corrections_file().name
    reasons = {"invalid": "correction_invalid", "orphan": "correction_orphan"}
    correction_rejections = [Rejection(where(name, line), reasons[outcome], detail)
                             for line, (outcome, detail) in sorted(outcomes.items()) if outcome in reasons]
    return Built(
        facts=frame, articles=sources,
        rejections=(scan.rejections + official_rejections + region_rejections(scan, vocab.regions) + failures
                    + correction_problems + correction_rejections),
        corrections=corrections_frame(corrections, outcomes),
        corrections_applied=sum(1 for outcome, _ in outcomes.values() if outcome == "applied"),
        orphans=[c for c in corrections if outcomes[c.line][0] == "orphan"],
        failed={a.article_id for a in to_extract} - set(extracted),
    )


def validate_new(built: Built, diff: FactDiff, vocab: Vocabulary) -> None:
    """Check the facts this job adds or changes (the others passed when they were published)."""
    fresh = built.facts[built.facts["fact_id"].isin(set(diff.added) | set(diff.changed))]
    if len(fresh):
        validate_facts(fresh, known_regions=set(vocab.regions.regions),
                       known_indicators=set(vocab.taxonomy.indicators), known_units=set(vocab.units),
                       known_articles=set(built.articles["article_id"]))


def correction_outcomes(plan: Plan, engine: Engine, corrections: list[Correction], applied: list[Correction],
                        invalid: dict[int, str], frame: pd.DataFrame, old: pd.DataFrame
                        ) -> dict[int, tuple[str, str]]:
    """Per line: applied, invalid (with why), or orphan; a line whose fact was not rebuilt keeps last outcome."""
    outcomes = {c.line: ("applied", "") for c in applied}
    outcomes.update({line: ("invalid", detail) for line, detail in invalid.items()})
    rebuilt_ids = set(frame["fact_id"])
    waiting = [c for c in corrections if c.line not in outcomes and c.fact_id not in rebuilt_ids]
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

def _rows(frame: pd.DataFrame, columns: list[str]) -> set[tuple]:
    if not len(frame):
        return set()
    frame = frame.reindex(columns=columns).astype(object)
    return set(map(tuple, frame.where(frame.notna(), None).astype(str).to_numpy().tolist()))


def same_table(old: pd.DataFrame, new: pd.DataFrame, columns: list[str]) -> bool:
    return len(old) == len(new) and _rows(old, columns) == _rows(new, columns)


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

    # Process: plan, extract what changed, compare with what is published.
    plan = plan_changes(scan, published, previous, correction_articles(engine, corrections, old_corrections),
                        statistics=set(published_sources) - published)
    built = build(plan, opts, engine, vocab, corrections, correction_problems, old_corrections)
    plan.statistics |= set(built.articles["article_id"]) - set(scan.states) if len(built.articles) else set()
    old_facts = read_facts(engine, plan.dirty)
    diff = diff_facts(old_facts, built.facts)
    validate_new(built, diff, vocab)
    old_rejections = read_table(engine, "rejected_inputs")
    derived, patches = fairness_update(engine, taxonomy, plan, built, old_facts, diff, opts.full)
    candidates = {
        "rejected_inputs": rejections_table(built.rejections, old_rejections),
        "corrections": built.corrections,
        "regions": regions_frame(gazetteer),
        "indicators": indicators_frame(taxonomy),
        **derived,
    }
    replace = {name: frame for name, frame in candidates.items()
               if not same_table(old_rejections if name == "rejected_inputs" else read_table(engine, name), frame,
                                 KEY_COLUMNS.get(name, list(frame.columns)))}
    patches = [p for p in patches if not p.empty]
    inputs = [asdict(s) for a, s in scan.states.items() if previous.get(a) != s]

    summary.articles_read = len(scan.states) - len(built.failed)
    summary.rejections = built.rejections
    summary.articles_added = len(plan.added - built.failed)
    summary.articles_changed = len(plan.changed - built.failed)
    summary.articles_removed = len(plan.removed | (built.failed & published))
    summary.facts_added, summary.facts_changed, summary.facts_retired = (
        len(diff.added), len(diff.changed), len(diff.retired))
    summary.corrections_applied = built.corrections_applied
    summary.correction_orphans = [f"line {c.line}: fact {c.fact_id}" for c in built.orphans]

    unchanged = (diff.empty and not plan.removed and not (built.failed & published) and not replace
                 and not patches and same_table(read_articles(engine, plan.rebuild | plan.statistics),
                                                built.articles, list(built.articles.columns)))
    summary.message = (("nothing new; " if unchanged else "") + summary.message
                       + describe(plan, built, diff, scan))

    # Save: one transaction (or just the run log when nothing changed), then the files derived from it.
    if unchanged:
        summary.outcome = "nothing_new"
        summarise_current(engine, summary)
        summary.run_id = record_run(engine, run_row(summary), inputs)
    else:
        summary.outcome = "success"
        delta = Delta(run=run_row(summary), dirty=plan.dirty, new_facts=built.facts, old_facts=old_facts,
                      diff=diff, retire_reasons=retire_reasons(plan), articles=built.articles, inputs=inputs,
                      dropped_inputs=set(previous) - set(scan.states), replace=replace, patches=patches)
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
        changed_tables = spliceable | set(replace)
    write_outputs(engine, opts, summary, plan, prior_version, changed_tables, spliceable)


def fairness_update(engine: Engine, taxonomy: Taxonomy, plan: Plan, built: Built, old_facts: pd.DataFrame,
                    diff: FactDiff, full: bool) -> tuple[dict[str, pd.DataFrame], list[TablePatch]]:
    """derived_facts and crosscheck after this job's fact changes: whole tables or patches.

    Each of their rows hangs on one article fact (plus the official statistics), so while the statistics
    are unchanged only the rows of added, changed and retired facts need computing. A change in the
    statistics, or a full run, recomputes both tables from every fact they read.
    """
    touched = set(diff.added) | set(diff.changed) | set(diff.retired)
    rows = pd.concat([old_facts, built.facts], ignore_index=True)
    rows = rows[rows["fact_id"].isin(touched)]
    relevant = fairness_indicators(taxonomy)
    if not full and (rows["source_kind"] == STATISTICS_SOURCE).any():
        published = read_facts(engine, indicator_codes=relevant)
        published = published[~published["article_id"].isin(plan.dirty)]
        return fairness_tables(pd.concat([published, built.facts], ignore_index=True), taxonomy), []
    if full:
        return fairness_tables(built.facts[built.facts["indicator_code"].isin(relevant)
                                           | (built.facts["source_kind"] == STATISTICS_SOURCE)], taxonomy), []
    if not rows["indicator_code"].isin(relevant).any():
        return {}, []
    fresh = set(diff.added) | set(diff.changed)
    inputs = built.facts[(built.facts["fact_id"].isin(fresh) & built.facts["indicator_code"].isin(relevant))
                         | (built.facts["source_kind"] == STATISTICS_SOURCE)]
    tables = fairness_tables(inputs, taxonomy)
    return {}, [TablePatch("derived_facts", "numerator_fact_id", touched, tables["derived_facts"]),
                TablePatch("crosscheck", "article_fact_id", touched, tables["crosscheck"])]


def describe(plan: Plan, built: Built, diff: FactDiff, scan: Scan) -> str:
    parts = [f"articles {len(plan.added - built.failed)} added, {len(plan.changed - built.failed)} changed, "
             f"{len(plan.removed)} removed of {len(scan.states)} articles ({scan.files_read} files read)",
             f"facts {len(diff.added)} added, {len(diff.changed)} changed, {len(diff.retired)} retired"]
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


def read_articles(engine: Engine, article_ids: set[str]) -> pd.DataFrame:
    ids = sorted(article_ids)
    frames = []
    with engine.connect() as conn:
        for start in range(0, len(ids), 900):
            frames.append(pd.read_sql(select(articles).where(articles.c.article_id.in_(ids[start:start + 900])),
                                      conn))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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
    """Article facts by family and those needing review; official statistics are counted apart."""
    with engine.connect() as conn:
        by_family = conn.execute(select(facts.c.family, func.count()).where(facts.c.source_kind == "article")
                                 .group_by(facts.c.family)).all()
        review = conn.execute(select(func.count()).select_from(facts)
                              .where(facts.c.status == "needs_review")).scalar_one()
        official = conn.execute(select(func.count()).select_from(facts)
                                .where(facts.c.source_kind == "statistics")).scalar_one()
    summary.facts_by_family = dict(by_family)
    summary.statistics_facts = official
    summary.facts_total = sum(summary.facts_by_family.values()) + official
    summary.facts_needing_review = review
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
        if entry is not None and name in spliceable:
            fresh = read_rows(engine, spec.table, group, dirty)
            spliced = curated_csv.splice_blocks(curated_dir, spec, entry, dirty, fresh)
            if spliced is not None:
                files[name] = {**spliced, "columns": spec.columns}
                written.append(f"{name} (spliced)")
                continue
        files[name] = {**curated_csv.write_blocks(curated_dir, spec, read_table(engine, name)),
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


def read_rows(engine: Engine, table, column: str, values: set[str]) -> pd.DataFrame:
    """Rows of `table` whose `column` is one of `values`."""
    ids = sorted(values)
    frames = []
    with engine.connect() as conn:
        for start in range(0, len(ids), 900):
            frames.append(pd.read_sql(select(table).where(table.c[column].in_(ids[start:start + 900])), conn))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in table.columns])


def export_workbook(opts: Options, summary: RunSummary, target: Path) -> str:
    """Write the officials' workbook; a failure is reported, the published data stands."""
    try:
        from etl.export import ExportFilters, export_to_file  # optional: the export module may be absent
    except ImportError as exc:
        return f"workbook not written (etl.export unavailable: {exc})"
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

def refresh(raw_dir: Path = RAW_DIR, curated_dir: Path = CURATED_DIR, db_url: str | None = None,
            **options) -> RunSummary:
    """One incremental refresh (see `Options` for the keyword arguments)."""
    curated_dir = Path(curated_dir)
    return update(Options(raw_dir=Path(raw_dir), curated_dir=curated_dir,
                          db_url=db_url or resolve_db_url(None, curated_dir), **options))


def refresh_cron() -> str:
    return os.environ.get("REFRESH_CRON", "").strip() or DEFAULT_CRON


def refresh_timezone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("REFRESH_TZ", "").strip() or DEFAULT_TIMEZONE)


def cron_trigger(cron: str | None = None, timezone: ZoneInfo | None = None):
    """APScheduler trigger for a five-field cron expression; raises ValueError when it is not one."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(cron or refresh_cron(), timezone=timezone or refresh_timezone())


def next_run_time(now: datetime | None = None) -> datetime | None:
    """When the scheduled refresh fires next (REFRESH_CRON in REFRESH_TZ); None if it is off or invalid."""
    if os.environ.get("REFRESH_CRON", "").strip().lower() in ("off", "none", "disabled"):
        return None
    try:
        trigger = cron_trigger()
    except (ValueError, KeyError):
        return None
    return trigger.get_next_fire_time(None, now or datetime.now(refresh_timezone()))


def schedule(job: Callable[[], object], cron: str | None = None, run_now: bool = False) -> None:
    """Run `job` on the cron schedule until stopped; one run at a time, missed runs coalesced into one."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    trigger = cron_trigger(cron)
    scheduler = BlockingScheduler(timezone=refresh_timezone())
    first = {"next_run_time": datetime.now(refresh_timezone())} if run_now else {}
    scheduler.add_job(job, trigger, id="refresh", max_instances=1, coalesce=True, misfire_grace_time=3600,
                      **first)
    log.info("refresh scheduled: %s (%s); next at %s", cron or refresh_cron(), refresh_timezone(),
             trigger.get_next_fire_time(None, datetime.now(refresh_timezone())))
    scheduler.start()
