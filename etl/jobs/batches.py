"""The pieces of the job that turn articles into table frames: extraction (across worker processes for big
batches), the reference tables, the statistics inputs and the per-capita/cross-check tables; and the
`RunSummary` a job fills in.

`etl.jobs.staging` uses them a batch at a time; `etl.jobs.refresh` runs the job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from etl.curate.percapita import crosscheck, derive
from etl.curate.statistics import load_statistics, statistics_facts, statistics_sources
from etl.extract.facts import Fact, article_region, extract_article
from etl.extract.indicators import Taxonomy, load_taxonomy
from etl.extract.regions import Gazetteer, load_gazetteer
from etl.extract.sources import Article, Rejection
from etl.extract.units import load_units
from etl.parallel import worker_count
from etl.paths import REFERENCE_DIR
from etl.vocabulary import FACT_COLUMNS

Progress = Callable[[int, int, str], None]


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


def _extract_chunk(reference_dir: Path, chunk: list[Article]) -> list[tuple[str, list[Fact]]]:
    """Worker-process entry: the reference data is loaded once per process through its cache."""
    gazetteer, taxonomy = load_gazetteer(reference_dir), load_taxonomy(reference_dir)
    return [(a.article_id, extract_article(a, gazetteer, taxonomy)) for a in chunk]


@dataclass
class ExtractedBatch:
    """One batch of articles: the facts of those extracted, and those the extractor failed on."""

    articles: list[Article]
    facts: dict[str, list[Fact]]
    failures: list[Rejection]


def _isolate(chunk: list[Article], gazetteer: Gazetteer, taxonomy: Taxonomy
             ) -> tuple[dict[str, list[Fact]], list[Rejection]]:
    """Extract a chunk that failed as a whole one article at a time, setting aside only those at fault."""
    out, failures = {}, []
    for article in chunk:
        try:
            out[article.article_id] = extract_article(article, gazetteer, taxonomy)
        except Exception as exc:  # noqa: BLE001 - the article is set aside with the reason
            failures.append(Rejection(article.file, "extraction_failed",
                                      f"{article.file}: the extractor failed ({type(exc).__name__}: {exc})"))
    return out, failures


def extract_batches(batches: Iterable[list[Article]], gazetteer: Gazetteer, taxonomy: Taxonomy,
                    progress: Progress | None = None, total: int = 0,
                    reference_dir: Path = REFERENCE_DIR) -> Iterator[ExtractedBatch]:
    """Facts of each batch of articles, batch by batch, so a caller can finish one before the next arrives.

    Big jobs are spread over the machine's cores; the next batch is handed to the workers before the
    current one is returned, so they keep busy while the caller stores it. An article the extractor fails
    on is set aside alone.
    """
    done = 0

    def report(batch: ExtractedBatch) -> ExtractedBatch:
        nonlocal done
        for article in batch.articles:
            done += 1
            if progress:
                progress(done, total, article.article_id)
        return batch

    workers = worker_count(total)
    if workers == 1:
        for batch in batches:
            facts, failures = _isolate(batch, gazetteer, taxonomy)
            yield report(ExtractedBatch(batch, facts, failures))
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        def submit(batch: list[Article]) -> list[tuple[list[Article], Future]]:
            size = max(1, min(64, len(batch) // (workers * 4)))
            chunks = [batch[i:i + size] for i in range(0, len(batch), size)]
            return [(chunk, pool.submit(_extract_chunk, reference_dir, chunk)) for chunk in chunks]

        def collect(batch: list[Article], submitted: list[tuple[list[Article], Future]]) -> ExtractedBatch:
            facts: dict[str, list[Fact]] = {}
            failures: list[Rejection] = []
            for chunk, future in submitted:
                try:
                    facts.update(future.result())
                except Exception:  # noqa: BLE001 - find the article(s) at fault one by one
                    found, failed = _isolate(chunk, gazetteer, taxonomy)
                    facts.update(found)
                    failures.extend(failed)
            return report(ExtractedBatch(batch, facts, failures))

        pending: tuple[list[Article], list] | None = None
        for batch in batches:
            submitted = submit(batch)
            if pending is not None:
                yield collect(*pending)
            pending = (batch, submitted)
        if pending is not None:
            yield collect(*pending)


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
    if len(sources):  # a table's `articles` row: its file is what was read, so its hash is the file's
        sources = sources.assign(url="", format=sources["file"].str.rsplit(".", n=1).str[-1].str.lower(),
                                 raw_sha256=sources["sha256"])
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
            "url": a.url, "format": a.format, "raw_sha256": a.raw_sha256,
        })
    return pd.DataFrame(rows)


def texts_frame(articles: list[Article]) -> pd.DataFrame:
    """The text each page, PDF or Word article was read as (a text file's own bytes are its text)."""
    return pd.DataFrame([{"article_id": a.article_id, "file": a.file, "format": a.format, "raw_sha256": a.raw_sha256,
                          "sha256": a.sha256, "text": a.text} for a in articles if a.format != "txt"],
                        columns=["article_id", "file", "format", "raw_sha256", "sha256", "text"])


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
        "unit": i.unit, "headline": i.headline, "description": i.description, "description_zh": i.description_zh,
    } for i in taxonomy.indicators.values()])


FAIRNESS_TABLES = ("derived_facts", "crosscheck")
FAIRNESS_COLUMNS = [  # the columns of the facts `fairness_tables` reads
    "fact_id", "indicator_code", "indicator_name_zh", "status", "source_kind", "region_code", "region_name",
    "region_level", "year", "value", "value_high", "unit", "qualifier", "article_id", "quote", "number_text",
    "source_title", "source_url", "source_tier", "period_kind", "period_start", "period_end",
]


def fairness_tables(facts: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, pd.DataFrame]:
    """Per-capita values and the article-versus-official cross-check, from the final facts table."""
    return {"derived_facts": derive(facts, taxonomy), "crosscheck": crosscheck(facts, taxonomy)}


def fairness_indicators(taxonomy: Taxonomy) -> set[str]:
    """The indicators `fairness_tables` reads: a refresh passes it only these facts, and recomputes the
    tables only when one of them changed."""
    derived = {code for spec in taxonomy.derived.values() for code in (spec.numerator, spec.denominator)}
    return derived | {i.code for i in taxonomy.indicators.values() if i.statistics_names}

