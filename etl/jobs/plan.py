"""What a run or refresh is asked to do (`Options`), what it works with (`Job`), and what it will do (`Plan`).

A job starts from what is published (`article_inputs`, the `articles` sources, the run log, the corrections
table) and what is on disk now (the scan of the raw folder, the corrections file); `plan_changes` compares the
two and names the articles to extract again, to retire, and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from etl.curate.corrections import Correction
from etl.extract.reference import ReferenceData
from etl.extract.sources import InputLimits, Rejection
from etl.jobs.batches import Progress, RunSummary
from etl.jobs.scan import InputState, Scan
from etl.paths import CURATED_DIR, RAW_DIR, REFERENCE_DIR
from etl.store.locking import DatabaseLock
from etl.store.publish import ID_CHUNK
from etl.store.schema import article_inputs, articles, facts, runs

WORKBOOK_NAME = "zj_talent_latest.xlsx"


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
    limits: InputLimits = field(default_factory=InputLimits.from_env)

    def corrections_file(self) -> Path:
        return self.corrections_path or self.reference_dir / "corrections.csv"

    def workbook_path(self) -> Path:
        folder = self.export_dir or Path(os.environ.get("EXPORT_DIR") or self.curated_dir / "exports")
        return folder / WORKBOOK_NAME


@dataclass
class Corrections:
    """The analysts' corrections file as it reads now, its unusable lines, and the published `corrections`."""

    lines: list[Correction]
    problems: list[Rejection]
    published: pd.DataFrame


@dataclass
class Job:
    """What one run or refresh works with from start to end: the database (held under `lock`), its options,
    the reference data, the corrections, the run it starts from, and the summary it fills in."""

    engine: Engine
    opts: Options
    lock: DatabaseLock
    summary: RunSummary
    reference: ReferenceData
    corrections: Corrections
    prior_version: int | None = None


@dataclass
class Plan:
    """What this job does: articles to (re)build, articles to retire, and why.

    Statistics tables are few and small, so they are rebuilt every time (`statistics`: the ids published
    before and present now); the comparison with the published facts finds whether anything changed.
    `previous` is what `article_inputs` held when the job started.
    """

    scan: Scan
    published: set[str]
    removed: set[str]
    rebuild: set[str]
    added: set[str]
    changed: set[str]
    reextracted: set[str] = field(default_factory=set)
    statistics: set[str] = field(default_factory=set)
    previous: dict[str, InputState] = field(default_factory=dict)

    @property
    def dirty(self) -> set[str]:
        return self.rebuild | self.removed | self.statistics

    def retire_reasons(self) -> dict[str, str]:
        """Why an article's old facts left the current table, for facts_history."""
        reasons = dict.fromkeys(self.removed, "article_removed")
        reasons.update(dict.fromkeys(self.changed, "article_changed"))
        return reasons


# --- what is published --------------------------------------------------------------------------------------

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
        for start in range(0, len(ids), ID_CHUNK):
            found.update(conn.execute(select(facts.c.fact_id, facts.c.article_id)
                                      .where(facts.c.fact_id.in_(ids[start:start + ID_CHUNK]))).all())
    return found


# --- planning ------------------------------------------------------------------------------------------------

def correction_signatures(corrections: list[Correction]) -> dict[str, tuple]:
    """Per fact, what shapes its corrected row, in the form the `corrections` table keeps it."""
    return {c.fact_id: (c.action, c.describe_changes(), c.reason, c.analyst) for c in corrections}


def published_signatures(old: pd.DataFrame) -> dict[str, tuple]:
    """What the last publish applied, per fact (orphan lines changed no fact)."""
    applied = old[old["outcome"].isin(["applied", "invalid"])] if len(old) else old
    return {r.fact_id: (r.action, r.changes, r.reason, r.analyst) for r in applied.itertuples()}


def correction_articles(engine: Engine, corrections: Corrections) -> set[str]:
    """Articles whose facts' corrections were added, changed or withdrawn since the last publish."""
    new, before = correction_signatures(corrections.lines), published_signatures(corrections.published)
    touched = {f for f in new.keys() | before.keys() if new.get(f) != before.get(f)}
    return set(fact_articles(engine, touched).values())


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
                statistics=statistics, previous=previous)
