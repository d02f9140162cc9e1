"""Build what a plan rebuilds, a batch of articles at a time, and stage the difference with what is published.

Each batch is read again from disk, extracted, corrected, validated and compared with the published facts
of the same articles; the rows to insert and to retire go to the job's spool, so memory holds one batch of
facts at a time whatever the corpus size. The per-capita and cross-check rows are spooled whole, or, for a
small refresh, kept as patches for the facts it touched.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.curate.corrections import Correction, apply_corrections, corrections_frame, where
from etl.extract.regions import Gazetteer
from etl.extract.sources import Article, InputLimits, Rejection, read_article
from etl.jobs.batches import (
    FAIRNESS_COLUMNS,
    articles_frame,
    extract_batches,
    facts_frame,
    fairness_indicators,
    fairness_tables,
    statistics_inputs,
    texts_frame,
    unknown_region_rejection,
)
from etl.jobs.plan import Job, Plan, fact_articles
from etl.jobs.scan import Scan
from etl.store.publish import TablePatch, diff_facts, normalise_facts, read_facts
from etl.store.schema import validate_facts
from etl.store.spool import Spool
from etl.vocabulary import STATISTICS

BATCH_ARTICLES = 500  # articles extracted, compared and spooled at a time: what bounds a big job's memory
BATCH_ENV = "ZJ_BATCH_ARTICLES"
PATCH_LIMIT = 2000  # rebuilding more articles than this recomputes the per-capita tables whole


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

    job: Job
    plan: Plan
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


def stage_batch(staging: Staging, article_ids: set[str], new: pd.DataFrame) -> pd.DataFrame:
    """Compare one batch's new facts with the published facts of the same articles and spool the difference;
    returns the batch's facts with corrections applied."""
    job, reference, corrections = staging.job, staging.job.reference, staging.job.corrections.lines
    by_fact = {c.fact_id for c in corrections}
    new, applied, invalid = apply_corrections(normalise_facts(new), corrections, reference)
    new = normalise_facts(new)
    staging.applied.extend(applied)
    staging.invalid.update(invalid)
    staging.corrected_present |= set(new["fact_id"]) & by_fact
    old = read_facts(job.engine, article_ids)
    diff = diff_facts(old, new)
    fresh_ids, gone_ids = set(diff.added) | set(diff.changed), set(diff.changed) | set(diff.retired)
    fresh = new[new["fact_id"].isin(fresh_ids)]
    if len(fresh):
        validate_facts(fresh, known_regions=set(reference.regions.regions),
                       known_indicators=set(reference.taxonomy.indicators), known_units=set(reference.units),
                       known_articles=article_ids)
    reasons = staging.plan.retire_reasons()
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
        staging.statistics_touched |= bool((rows["source_kind"] == STATISTICS).any())
    if staging.whole_fairness:
        spool_fairness(staging, new)
    elif touched:
        staging.touched |= touched
        staging.fresh_relevant.append(fairness_inputs(fresh, staging.relevant))
    return new


def fairness_inputs(frame: pd.DataFrame, relevant: set[str]) -> pd.DataFrame:
    """The rows and columns the per-capita and cross-check tables read."""
    return frame.loc[frame["indicator_code"].isin(relevant), FAIRNESS_COLUMNS]


def spool_fairness(staging: Staging, frame: pd.DataFrame) -> None:
    """Per-capita and cross-check rows of some article facts: each row hangs on one article fact and the
    official statistics, so computing them batch by batch gives the rows of computing them at once."""
    inputs = fairness_inputs(frame[frame["source_kind"] != STATISTICS], staging.relevant)
    if not len(inputs):
        return
    tables = fairness_tables(pd.concat([inputs, staging.official], ignore_index=True), staging.job.reference.taxonomy)
    for name, table in tables.items():
        staging.spool.put(name, table)


def spool_published_fairness(staging: Staging, size: int) -> None:
    """When the tables are recomputed whole, the published facts this job leaves alone count too."""
    plan = staging.plan
    untouched = sorted(plan.published - plan.dirty)
    for start in range(0, len(untouched), size):
        spool_fairness(staging, read_facts(staging.job.engine, untouched[start:start + size]))


def fairness_patches(staging: Staging) -> list[TablePatch]:
    """A small refresh's changes to the per-capita tables: the rows of the facts it touched, recomputed.

    Each row hangs on one article fact (plus the official statistics), so while the statistics are
    unchanged only the rows of added, changed and retired facts need computing.
    """
    if staging.whole_fairness or not staging.relevant_touched:
        return []
    tables = fairness_tables(pd.concat([*staging.fresh_relevant, staging.official], ignore_index=True),
                             staging.job.reference.taxonomy)
    return [TablePatch("derived_facts", "numerator_fact_id", staging.touched, tables["derived_facts"]),
            TablePatch("crosscheck", "article_fact_id", staging.touched, tables["crosscheck"])]


def article_batches(plan: Plan, raw_dir: Path, size: int, unreadable: list[Rejection],
                    limits: InputLimits) -> Iterator[list[Article]]:
    """The articles to rebuild, read again from disk a batch at a time (the scan kept no texts)."""
    scan, batch = plan.scan, []
    for article_id in sorted(plan.rebuild):
        state = scan.states[article_id]
        try:
            article = read_article(raw_dir / state.file, scan.manifest.get(state.file), limits)
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


def region_rejections(scan: Scan, gazetteer: Gazetteer) -> list[Rejection]:
    found = []
    for state in scan.states.values():
        row = scan.manifest.get(state.file)
        rejection = unknown_region_rejection(state.file, row.primary_region if row else "", gazetteer)
        if rejection:
            found.append(rejection)
    return found


def build(job: Job, plan: Plan, spool: Spool) -> Built:
    """Extract the articles to rebuild batch by batch, apply the corrections, compare each batch with what
    is published and spool the difference; memory holds one batch of facts at a time."""
    opts, reference, size = job.opts, job.reference, batch_size()
    staging = Staging(job, plan, spool, relevant=fairness_indicators(reference.taxonomy))

    official, official_sources, official_rejections = statistics_inputs(opts.raw_dir, reference.regions,
                                                                        reference.taxonomy)
    plan.statistics |= set(official_sources["article_id"]) if len(official_sources) else set()
    statistics = stage_batch(staging, plan.statistics, facts_frame(official))
    staging.official = statistics.loc[:, FAIRNESS_COLUMNS]
    staging.whole_fairness = (opts.full or staging.statistics_touched or len(plan.rebuild | plan.removed) > PATCH_LIMIT)

    unreadable: list[Rejection] = []
    sources, failures, failed = [official_sources], [], set()
    for batch in extract_batches(article_batches(plan, opts.raw_dir, size, unreadable, opts.limits), reference.regions,
                                 reference.taxonomy, opts.progress, len(plan.rebuild), opts.reference_dir):
        failures.extend(batch.failures)
        kept = [a for a in batch.articles if a.article_id in batch.facts]
        failed |= {a.article_id for a in batch.articles} - set(batch.facts)
        sources.append(articles_frame(kept, batch.facts, reference.regions))
        spool.put("texts", texts_frame(kept))
        stage_batch(staging, {a.article_id for a in kept}, facts_frame([f for a in kept for f in batch.facts[a.article_id]]))
    failed |= {Path(r.file).stem for r in unreadable}
    retiring = sorted(plan.removed | (failed & plan.published))
    for start in range(0, len(retiring), size):
        stage_batch(staging, set(retiring[start:start + size]), facts_frame([]))
    if staging.whole_fairness:
        spool_published_fairness(staging, size)

    outcomes = correction_outcomes(staging)
    frames = [f for f in sources if len(f)]
    return Built(
        staging=staging, articles=pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
        rejections=(plan.scan.rejections + official_rejections + region_rejections(plan.scan, reference.regions)
                    + unreadable + failures + job.corrections.problems + correction_rejections(job, outcomes)),
        corrections=corrections_frame(job.corrections.lines, outcomes),
        corrections_applied=sum(1 for outcome, _ in outcomes.values() if outcome == "applied"),
        orphans=[c for c in job.corrections.lines if outcomes[c.line][0] == "orphan"],
        failed=failed,
    )


def correction_outcomes(staging: Staging) -> dict[int, tuple[str, str]]:
    """Per line: applied, invalid (with why), or orphan; a line whose fact was not rebuilt keeps last outcome."""
    corrections, old = staging.job.corrections.lines, staging.job.corrections.published
    outcomes = {c.line: ("applied", "") for c in staging.applied}
    outcomes.update({line: ("invalid", detail) for line, detail in staging.invalid.items()})
    waiting = [c for c in corrections if c.line not in outcomes and c.fact_id not in staging.corrected_present]
    homes = fact_articles(staging.job.engine, {c.fact_id for c in waiting})
    previous = {r.fact_id: (r.outcome, r.detail) for r in old.itertuples()} if len(old) else {}
    for correction in waiting:
        home = homes.get(correction.fact_id)
        if home is None or home in staging.plan.dirty:
            outcomes[correction.line] = ("orphan", f"fact {correction.fact_id} is not among the current facts "
                                         "(its article changed or was removed); the correction was not applied")
        else:  # its article was not rebuilt and its line did not change: the published fact carries it
            outcomes[correction.line] = previous.get(correction.fact_id, ("applied", ""))
    return outcomes


def correction_rejections(job: Job, outcomes: dict[int, tuple[str, str]]) -> list[Rejection]:
    """The correction lines that could not be applied, as inputs set aside."""
    name = job.opts.corrections_file().name
    reasons = {"invalid": "correction_invalid", "orphan": "correction_orphan"}
    return [Rejection(where(name, line), reasons[outcome], detail)
            for line, (outcome, detail) in sorted(outcomes.items()) if outcome in reasons]
