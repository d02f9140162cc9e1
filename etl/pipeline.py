"""The pieces of the main job that turn articles into table frames: extraction (across worker processes
for big batches), the reference tables, the statistics inputs and the per-capita/cross-check tables.

`etl.refresh.update` composes them into load → extract → build → validate → publish. `run` is the full job:
it hands the folder to `update`, which re-extracts every article and publishes the difference in one
transaction, under the same lock and run log as the scheduled refresh.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import pandas as pd

from etl.extract import Fact, article_region, extract_article
from etl.indicators import Taxonomy, load_taxonomy
from etl.numbers import load_units
from etl.paths import REFERENCE_DIR
from etl.percapita import crosscheck, derive
from etl.regions import Gazetteer, load_gazetteer
from etl.schema import FACT_COLUMNS
from etl.sources import Article, Rejection
from etl.statistics import load_statistics, statistics_facts, statistics_sources

Progress = Callable[[int, int, str], None]
PARALLEL_THRESHOLD = 200
STATISTICS_SOURCE = "statistics"  # articles.published_source of a statistics table


@dataclass
class RunSummary:
    """What a run or refresh did; the same numbers land in the `runs` table."""

    articles_read: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    facts_by_family: dict[str, int] = field(default_factory=dict)
    facts_total: int = 0
    facts_needing_review: int = 0
    statistics_facts: int = 0
    db_url: str = ""
    curated_dir: str = ""
    kind: str = "run"
    run_id: int | None = None
    outcome: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    articles_added: int = 0
    articles_changed: int = 0
    articles_removed: int = 0
    facts_added: int = 0
    facts_changed: int = 0
    facts_retired: int = 0
    corrections_applied: int = 0
    correction_orphans: list[str] = field(default_factory=list)
    message: str = ""
    error: str = ""
    workbook: str = ""


def _extract_in_worker(reference_dir: Path, article: Article) -> tuple[str, list[Fact]]:
    """Worker-process entry: the reference data is loaded once per process through its cache."""
    return article.article_id, extract_article(article, load_gazetteer(reference_dir), load_taxonomy(reference_dir))


def worker_count(n_articles: int) -> int:
    """Processes to extract with: one per core for big batches (`ZJ_WORKERS` overrides), else in-process."""
    configured = os.environ.get("ZJ_WORKERS")
    if configured:
        return max(1, int(configured))
    return min(os.cpu_count() or 1, 8) if n_articles >= PARALLEL_THRESHOLD else 1


def extract_all(articles: list[Article], gazetteer: Gazetteer, taxonomy: Taxonomy,
                progress: Progress | None = None, total: int = 0,
                reference_dir: Path = REFERENCE_DIR) -> dict[str, list[Fact]]:
    """Facts per article id, in input order; big batches are spread over the machine's cores."""
    out: dict[str, list[Fact]] = {}
    workers = worker_count(len(articles))
    if workers == 1:
        results = ((a.article_id, extract_article(a, gazetteer, taxonomy)) for a in articles)
        for done, (article_id, facts) in enumerate(results, start=1):
            out[article_id] = facts
            if progress:
                progress(done, total, article_id)
        return out
    with ProcessPoolExecutor(max_workers=workers) as pool:
        chunksize = max(1, min(64, len(articles) // (workers * 8)))
        for done, (article_id, facts) in enumerate(pool.map(partial(_extract_in_worker, reference_dir), articles, chunksize=chunksize),
                                                   start=1):
            out[article_id] = facts
            if progress:
                progress(done, total, article_id)
    return out


def unknown_region_rejection(file: str, primary_region: str, gazetteer: Gazetteer) -> Rejection | None:
    """A primary region the gazetteer does not know is reported; the article still runs on its text."""
    if not primary_region or gazetteer.lookup(primary_region) is not None:
        return None
    return Rejection(file, "manifest_region_unknown",
                     f"{file}: primary_region {primary_region!r} is not in the gazetteer; "
                     "the region was inferred from the text instead")




def statistics_inputs(raw_dir: Path, gazetteer: Gazetteer, taxonomy: Taxonomy
                      ) -> tuple[list[Fact], pd.DataFrame, list[Rejection]]:
    """Facts, `articles` rows and rejections from the official statistics tables under raw_dir/statistics."""
    tables, rejections = load_statistics(raw_dir)
    official, problems = statistics_facts(tables, gazetteer, taxonomy, load_units())
    sources = pd.DataFrame(statistics_sources(tables, official))
    return official, sources, [*rejections, *problems]


def facts_frame(facts: Iterable[Fact]) -> pd.DataFrame:
    frame = pd.DataFrame([f.as_row() for f in facts], columns=FACT_COLUMNS)
    return frame.astype({"value": float, "value_high": float, "year": int, "char_start": int, "char_end": int})


def articles_frame(articles: list[Article], facts: dict[str, list[Fact]], gazetteer: Gazetteer) -> pd.DataFrame:
    rows = []
    for a in articles:
        code = article_region(a, gazetteer)
        rows.append({
            "article_id": a.article_id, "file": a.file, "sha256": a.sha256, "title": a.title,
            "outlet": a.outlet, "published": a.published, "published_precision": a.published_precision,
            "published_source": a.published_source, "published_note": a.published_note,
            "primary_region_code": code, "primary_region_name": gazetteer.get(code).name_zh if code else "",
            "encoding": a.encoding, "n_chars": len(a.text), "n_facts": len(facts.get(a.article_id, [])),
        })
    return pd.DataFrame(rows)


def regions_frame(gazetteer: Gazetteer) -> pd.DataFrame:
    return pd.DataFrame([{
        "code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "level": r.level,
        "parent_code": r.parent_code, "aliases": "|".join(r.aliases), "official": r.official, "note": r.note,
    } for r in gazetteer.regions.values()])


def indicators_frame(taxonomy: Taxonomy) -> pd.DataFrame:
    return pd.DataFrame([{
        "code": i.code, "name_zh": i.name_zh, "name_en": i.name_en, "family": i.family,
        "family_name_zh": taxonomy.families[i.family]["name_zh"],
        "family_name_en": taxonomy.families[i.family]["name_en"],
        "unit": i.unit, "headline": i.headline, "description": i.description,
    } for i in taxonomy.indicators.values()])






def fairness_tables(facts: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, pd.DataFrame]:
    """Per-capita values and the article-versus-official cross-check, from the final facts table."""
    return {"derived_facts": derive(facts, taxonomy), "crosscheck": crosscheck(facts, taxonomy)}


def fairness_indicators(taxonomy: Taxonomy) -> set[str]:
    """The indicators `fairness_tables` reads: a refresh passes it only these facts, and recomputes the
    tables only when one of them changed."""
    derived = {code for spec in taxonomy.derived.values() for code in (spec.numerator, spec.denominator)}
    return derived | {i.code for i in taxonomy.indicators.values() if i.statistics_names}




def run(raw_dir: Path, curated_dir: Path, db_url: str, progress: Progress | None = None,
        reference_dir: Path = REFERENCE_DIR) -> RunSummary:
    """Full extraction from scratch: everything in `raw_dir` becomes the curated tables."""
    from etl.refresh import RUN_LOCK_WAIT, Options, update  # refresh builds on this module's helpers

    return update(Options(raw_dir=Path(raw_dir), curated_dir=Path(curated_dir), db_url=db_url,
                          reference_dir=Path(reference_dir), progress=progress, full=True, kind="run",
                          export=False, lock_wait=RUN_LOCK_WAIT))
