"""The main job: raw articles in, validated curated tables out.

Reads top to bottom as load → extract → build tables → validate → publish. Only `load_articles` and
`publish` touch storage; everything between is pure.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from etl.extract import Fact, article_region, extract_article
from etl.indicators import Taxonomy, load_taxonomy
from etl.numbers import load_units
from etl.paths import REFERENCE_DIR
from etl.percapita import crosscheck, derive
from etl.publish import write_csvs, write_tables
from etl.regions import Gazetteer, load_gazetteer
from etl.schema import FACT_COLUMNS, make_engine, validate_facts
from etl.sources import Article, Rejection, load_articles
from etl.statistics import StatisticsTable, load_statistics, statistics_facts, statistics_sources

Progress = Callable[[int, int, str], None]
PARALLEL_THRESHOLD = 200


@dataclass
class RunSummary:
    articles_read: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    facts_by_family: dict[str, int] = field(default_factory=dict)
    facts_total: int = 0
    facts_needing_review: int = 0
    db_url: str = ""
    curated_dir: str = ""


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


def manifest_region_rejections(articles: list[Article], gazetteer: Gazetteer) -> list[Rejection]:
    """A primary region the gazetteer does not know is reported; the article still runs on its text."""
    return [Rejection(a.file, "manifest_region_unknown",
                      f"{a.file}: primary_region {a.primary_region!r} is not in the gazetteer; "
                      "the region was inferred from the text instead")
            for a in articles if a.primary_region and gazetteer.lookup(a.primary_region) is None]


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


def rejections_frame(rejections: list[Rejection]) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame([{"file": r.file, "reason": r.reason, "detail": r.detail, "detected_at": now}
                         for r in rejections], columns=["file", "reason", "detail", "detected_at"])


def build_tables(articles: list[Article], facts: dict[str, list[Fact]], rejections: list[Rejection],
                 gazetteer: Gazetteer, taxonomy: Taxonomy,
                 statistics: list[StatisticsTable] = ()) -> dict[str, pd.DataFrame]:
    """The curated tables, validated; raises with the reason when they do not hold together."""
    official, official_rejections = statistics_facts(list(statistics), gazetteer, taxonomy, load_units())
    sources = articles_frame(articles, facts, gazetteer)
    if statistics:
        sources = pd.concat([sources, pd.DataFrame(statistics_sources(list(statistics), official))],
                            ignore_index=True)
    tables = {
        "facts": facts_frame([*(f for fs in facts.values() for f in fs), *official]),
        "articles": sources,
        "regions": regions_frame(gazetteer),
        "indicators": indicators_frame(taxonomy),
        "rejected_inputs": rejections_frame([*rejections, *official_rejections]),
    }
    tables["facts"] = validate_facts(
        tables["facts"], known_regions=set(tables["regions"]["code"]),
        known_indicators=set(tables["indicators"]["code"]), known_units=set(load_units()),
        known_articles=set(tables["articles"]["article_id"]) if len(tables["articles"]) else set())
    tables.update(fairness_tables(tables["facts"], taxonomy))
    return tables


def fairness_tables(facts: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, pd.DataFrame]:
    """Per-capita values and the article-versus-official cross-check, from the final facts table."""
    return {"derived_facts": derive(facts, taxonomy), "crosscheck": crosscheck(facts, taxonomy)}


def summarise(tables: dict[str, pd.DataFrame], rejections: list[Rejection]) -> RunSummary:
    facts = tables["facts"]
    return RunSummary(
        articles_read=len(tables["articles"]), rejections=rejections,
        facts_by_family=dict(Counter(facts["family"])), facts_total=len(facts),
        facts_needing_review=int((facts["status"] == "needs_review").sum()),
    )


def run(raw_dir: Path, curated_dir: Path, db_url: str, progress: Progress | None = None,
        reference_dir: Path = REFERENCE_DIR) -> RunSummary:
    """Full extraction from scratch: everything in `raw_dir` becomes the curated tables."""
    gazetteer, taxonomy = load_gazetteer(reference_dir), load_taxonomy(reference_dir)

    loaded = load_articles(raw_dir)
    statistics, statistics_rejections = load_statistics(raw_dir)
    rejections = loaded.rejections + statistics_rejections + manifest_region_rejections(loaded.articles, gazetteer)
    facts = extract_all(loaded.articles, gazetteer, taxonomy, progress, len(loaded.articles), reference_dir)
    tables = build_tables(loaded.articles, facts, rejections, gazetteer, taxonomy, statistics)

    write_tables(make_engine(db_url), tables)
    write_csvs(curated_dir, tables)
    summary = summarise(tables, rejections)
    summary.db_url, summary.curated_dir = db_url, str(curated_dir)
    return summary
