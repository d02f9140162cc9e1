"""The officials' Excel workbook: read the curated tables, apply the filters, write the workbook atomically.

Three callers share this module: `python -m etl export`, the dashboard's download button (`ExportData.
from_frames` + `workbook_bytes`) and the refresh job (`export_to_file` after each successful refresh).
Filtering lives in `ExportData.from_frames` only, so all three show exactly the same figures for the same
filters. The sheets are laid out in `export_sheets`, their styles in `export_styles`, and the facts rows
are streamed by `export_stream`.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine

from etl import schema
from etl.export_frames import EXCLUDED_STATUSES, RegionTree, resolve_regions
from etl.export_sheets import build_workbook
from etl.export_stream import save
from etl.indicators import FAMILIES
from etl.paths import resolve_db_url
from etl.schema import make_engine

BEIJING = timezone(timedelta(hours=8), "北京时间")  # China keeps one zone and no daylight saving
# Columns the workbook cannot do without, and the others with the value a missing one takes, so callers
# holding a narrower frame (the dashboard) or an older database still get a workbook.
REQUIRED = {
    "facts": ["fact_id", "article_id", "region_code", "region_name", "indicator_code", "indicator_name_zh",
              "family", "value", "unit", "qualifier", "period_end", "period_kind", "year", "quote", "status"],
    "articles": ["article_id", "title", "published"],
    "indicators": ["code", "name_zh", "family", "unit"],
    "regions": ["code", "name_zh", "level", "parent_code"],
}
OPTIONAL = {
    "facts": {"region_level": "", "indicator_name_en": "", "value_high": None, "period_start": None,
              "char_start": 0, "number_text": "", "review_reason": "", "source_kind": "article",
              "source_title": "", "source_url": ""},
    "articles": {"file": "", "outlet": "", "published_precision": "day", "published_note": "",
                 "primary_region_name": ""},
    "indicators": {"name_en": "", "family_name_zh": "", "family_name_en": "", "headline": False,
                   "description": ""},
    "regions": {"name_en": "", "aliases": "", "note": ""},
}


@dataclass(frozen=True)
class ExportFilters:
    """What the reader asked for; empty means everything. Regions may be codes, names or aliases."""

    families: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def __post_init__(self) -> None:
        for name in ("families", "indicators", "regions"):  # lists from argparse or Dash become hashable
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))


def now_beijing() -> datetime:
    return datetime.now(BEIJING)


@dataclass
class ExportData:
    """Everything the workbook shows, already filtered to current facts and the reader's filters."""

    facts: pd.DataFrame
    articles: pd.DataFrame
    indicators: pd.DataFrame
    regions: pd.DataFrame
    filters: ExportFilters
    data_as_of: str
    generated_at: datetime = field(default_factory=now_beijing)
    region_filter_labels: tuple[str, ...] = ()

    @classmethod
    def from_frames(cls, facts: pd.DataFrame, articles: pd.DataFrame, indicators: pd.DataFrame,
                    regions: pd.DataFrame, filters: ExportFilters | None = None,
                    data_as_of: str = "") -> ExportData:
        """Filter full tables as every caller must: current facts, then families, indicators, regions, years.

        The region filter keeps a chosen region and everything beneath it. The reference tables are cut to
        what the kept facts use (regions with their parents, so the hierarchy still reads).
        """
        filters = filters or ExportFilters()
        _check_columns({"facts": facts, "articles": articles, "indicators": indicators, "regions": regions})
        facts, articles = _normalise_facts(facts), _normalise_articles(articles)
        indicators, regions = _normalise_indicators(indicators), _normalise_regions(regions)
        tree = RegionTree.from_frame(regions)
        region_codes = resolve_regions(filters.regions, regions)
        keep = _filter_mask(facts, indicators, filters, tree, region_codes)
        facts = facts[keep].reset_index(drop=True)
        used_regions = tree.with_ancestors(facts["region_code"])
        names = regions.set_index("code")["name_zh"].to_dict()
        return cls(
            facts=facts,
            articles=_rows_in(articles, "article_id", facts["article_id"]),
            indicators=_rows_in(indicators, "code", facts["indicator_code"]),
            regions=_rows_in(regions, "code", used_regions),
            filters=filters,
            data_as_of=data_as_of or latest_article_month(articles),
            region_filter_labels=tuple(names.get(c, c) for c in region_codes),
        )


def _rows_in(frame: pd.DataFrame, column: str, values) -> pd.DataFrame:
    return frame[frame[column].isin(set(values))].reset_index(drop=True)


def _check_columns(frames: dict[str, pd.DataFrame]) -> None:
    missing = {name: sorted(set(REQUIRED[name]) - set(frame.columns)) for name, frame in frames.items()}
    missing = {name: cols for name, cols in missing.items() if cols}
    if missing:
        raise ValueError(f"export needs columns the tables lack: {missing}")


def _complete(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The optional columns a frame lacks, added with their defaults; missing text becomes ''."""
    added = {c: default for c, default in OPTIONAL[table].items() if c not in frame.columns}
    frame = frame.assign(**added)
    text = [c for c, default in OPTIONAL[table].items() if isinstance(default, str)]
    return frame.assign(**{c: frame[c].fillna("") for c in text})


def _normalise_facts(facts: pd.DataFrame) -> pd.DataFrame:
    facts = _complete(facts[~facts["status"].isin(EXCLUDED_STATUSES)], "facts")
    return facts.assign(
        value=pd.to_numeric(facts["value"], errors="coerce").astype(float),
        value_high=pd.to_numeric(facts["value_high"], errors="coerce").astype(float),
        year=pd.to_numeric(facts["year"], errors="coerce").astype(int),
        period_start=facts["period_start"].astype(object).where(facts["period_start"].notna(), None),
        char_start=pd.to_numeric(facts["char_start"], errors="coerce").fillna(0).astype(int),
    )


def _normalise_articles(articles: pd.DataFrame) -> pd.DataFrame:
    articles = _complete(articles, "articles")
    return articles.assign(published=pd.to_datetime(articles["published"], errors="coerce"))


def _normalise_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    indicators = _complete(indicators, "indicators")
    return indicators.assign(
        headline=indicators["headline"].fillna(False).astype(bool),
        family_name_zh=indicators["family_name_zh"].where(indicators["family_name_zh"] != "",
                                                          indicators["family"]),
    )


def _normalise_regions(regions: pd.DataFrame) -> pd.DataFrame:
    return _complete(regions, "regions").assign(parent_code=regions["parent_code"].fillna(""))


def _filter_mask(facts: pd.DataFrame, indicators: pd.DataFrame, filters: ExportFilters, tree: RegionTree,
                 region_codes: list[str]) -> pd.Series:
    """Rows kept by every filter; a family or indicator nobody declared is a typo and stops the export."""
    unknown_families = sorted(set(filters.families) - set(FAMILIES) - set(indicators["family"]))
    unknown_indicators = sorted(set(filters.indicators) - set(indicators["code"]))
    if unknown_families:
        raise ValueError(f"unknown family {unknown_families}; known: {', '.join(FAMILIES)}")
    if unknown_indicators:
        raise ValueError(f"unknown indicator {unknown_indicators}; see the indicators table for codes")
    if filters.year_from is not None and filters.year_to is not None and filters.year_from > filters.year_to:
        raise ValueError(f"year_from {filters.year_from} is after year_to {filters.year_to}")
    keep = pd.Series(True, index=facts.index)
    if filters.families:
        keep &= facts["family"].isin(filters.families)
    if filters.indicators:
        keep &= facts["indicator_code"].isin(filters.indicators)
    if region_codes:
        keep &= facts["region_code"].isin(tree.descendants(region_codes))
    if filters.year_from is not None:
        keep &= facts["year"] >= filters.year_from
    if filters.year_to is not None:
        keep &= facts["year"] <= filters.year_to
    return keep


def latest_article_month(articles: pd.DataFrame) -> str:
    """The data date when no refresh has been logged: the month of the newest article."""
    published = pd.to_datetime(articles["published"], errors="coerce").dropna()
    return f"{published.max().year}年{published.max().month}月（最新报道）" if len(published) else "—"


def last_refresh(conn: Connection) -> str:
    """Finish time of the latest successful run in Beijing time, '' when the run log is empty or absent."""
    if not inspect(conn).has_table("runs"):
        return ""
    runs = schema.runs
    finished = conn.execute(
        select(runs.c.finished_at).where(runs.c.outcome == "success", runs.c.finished_at.is_not(None))
        .order_by(runs.c.finished_at.desc()).limit(1)).scalar()
    if finished is None:
        return ""
    stamp = pd.Timestamp(finished)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp  # the run log writes UTC
    return f"{stamp.tz_convert(BEIJING):%Y-%m-%d %H:%M}（北京时间，最近一次成功更新）"


def load_export_data(engine: Engine, filters: ExportFilters | None = None) -> ExportData:
    """Read the curated tables (current facts only) and apply the filters."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("facts"):
            raise ValueError(f"{engine.url!r} has no facts table; run `python -m etl run` first")
        facts = pd.read_sql(select(schema.facts).where(schema.facts.c.status.not_in(EXCLUDED_STATUSES)), conn)
        articles = pd.read_sql(select(schema.articles), conn)
        indicators = pd.read_sql(select(schema.indicators), conn)
        regions = pd.read_sql(select(schema.regions), conn)
        as_of = last_refresh(conn)
    return ExportData.from_frames(facts, articles, indicators, regions, filters, as_of)


def workbook_bytes(data: ExportData) -> bytes:
    """The workbook in memory, for the dashboard's download button."""
    workbook, streamed = build_workbook(data)
    buffer = io.BytesIO()
    save(workbook, streamed, buffer)
    return buffer.getvalue()


def write_workbook(data: ExportData, target: Path) -> Path:
    """Write beside the target and rename: a crash never replaces the last good workbook with half a file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook, streamed = build_workbook(data)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".xlsx.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            save(workbook, streamed, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the workbook from the people it is shared with
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def export_to_file(db_url: str, target: Path, filters: ExportFilters | None = None) -> Path:
    """Read `db_url`, write the workbook to `target`; for the CLI and the refresh job."""
    engine = make_engine(db_url)
    try:
        return write_workbook(load_export_data(engine, filters), Path(target))
    finally:
        engine.dispose()


def add_export_command(subparsers: argparse._SubParsersAction) -> None:
    """Register `python -m etl export`."""
    parser = subparsers.add_parser(
        "export", help="write the officials' Excel workbook",
        description="Write the Excel workbook (cover, summary, chart, facts, sources, indicators, regions). "
                    "Repeat a filter or give it several values; filters of different kinds all apply.")
    parser.add_argument("--out", required=True, type=Path,
                        help="the .xlsx file to write (replaced atomically)")
    parser.add_argument("--db", default=None,
                        help="database URL (default: $DATABASE_URL, else the SQLite file)")
    parser.add_argument("--family", nargs="+", action="extend", default=[], metavar="F",
                        help="indicator family code, e.g. talent_total")
    parser.add_argument("--indicator", nargs="+", action="extend", default=[], metavar="I",
                        help="indicator code, e.g. new_graduates")
    parser.add_argument("--region", nargs="+", action="extend", default=[], metavar="CODE_OR_NAME",
                        help="region code, name or alias; includes the regions beneath it")
    parser.add_argument("--year-from", type=int, default=None, metavar="Y")
    parser.add_argument("--year-to", type=int, default=None, metavar="Y")
    parser.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    filters = ExportFilters(args.family, args.indicator, args.region, args.year_from, args.year_to)
    try:
        path = export_to_file(resolve_db_url(args.db), args.out, filters)
    except ValueError as exc:
        print(f"export failed, nothing was written: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0
