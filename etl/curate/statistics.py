"""Statistics tables as a second source: tables of region, year, indicator, value, unit, source and its tier.

They land in the same facts model as article figures, with `source_kind = statistics` and their own
source title, URL and quote. Rows that cannot be trusted (unknown region, non-numeric value, a unit that
does not fit the indicator) are set aside with the file, line and reason, like bad articles.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from etl.extract.facts import Fact, make_fact_id
from etl.extract.indicators import Taxonomy
from etl.extract.regions import Gazetteer
from etl.extract.sources import Rejection, decode_article, irregular_message
from etl.vocabulary import PRESS, SOURCE_TIERS, STATISTICS

STATISTICS_DIR = "statistics"
REQUIRED_COLUMNS = ("year", "indicator", "value", "unit")
CENSUS_TITLE_PREFIX = "[census"
CENSUS_DAY = date(2020, 11, 1)
CENSUS_SUFFIX = "_census"
LINE = re.compile(r"[^\n]*\n|[^\n]+$")
STATUS = "extracted"
# What a row's `source_tier` may say (population_README.md defines them); a row or table without one is
# `unverified`: nobody has said what its page is.
TABLE_TIERS = tuple(t for t in SOURCE_TIERS if t != PRESS)
UNSTATED_TIER = "unverified"


@dataclass(frozen=True)
class StatisticsRow:
    """One row of a statistics table as read, with where it sits in its file."""

    file: str
    line: int
    char_start: int
    char_end: int
    fields: dict[str, str]


@dataclass(frozen=True)
class StatisticsTable:
    file: str
    sha256: str
    rows: tuple[StatisticsRow, ...]


def read_csv_table(name: str, data: bytes) -> StatisticsTable:
    """A CSV table with each row's line number and character span in the decoded file."""
    text, _ = decode_article(data)
    lines = LINE.findall(text)  # only \n ends a row: str.splitlines would also cut at U+2028 and friends
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    header = next(csv.reader([lines[0]]))
    rows = []
    for index, line in enumerate(lines[1:], start=1):
        if not line.strip():
            continue
        values = next(csv.reader(io.StringIO(line)))
        fields = dict(zip([h.strip().lstrip("\ufeff") for h in header], values, strict=False))
        if len(values) != len(header):
            fields["__malformed__"] = f"expected {len(header)} fields, found {len(values)}"
        rows.append(StatisticsRow(name, index + 1, offsets[index], offsets[index] + len(line.rstrip("\r\n")), fields))
    return StatisticsTable(name, hashlib.sha256(data).hexdigest(), tuple(rows))


def read_xlsx_table(name: str, path: Path) -> StatisticsTable:
    """An XLSX table as statistics bureaus publish it; offsets are the row numbers of the first sheet."""
    frame = pd.read_excel(path, dtype=str).fillna("")
    rows = tuple(StatisticsRow(name, i + 2, i + 2, i + 3, {str(k): str(v) for k, v in record.items()})
                 for i, record in enumerate(frame.to_dict("records")))
    return StatisticsTable(name, hashlib.sha256(path.read_bytes()).hexdigest(), rows)


def load_statistics(raw_dir: Path) -> tuple[list[StatisticsTable], list[Rejection]]:
    """Every statistics table under `raw_dir/statistics`; unreadable files become rejections."""
    folder = raw_dir / STATISTICS_DIR
    tables: list[StatisticsTable] = []
    rejections: list[Rejection] = []
    if not folder.is_dir():
        return tables, rejections
    for path in sorted(folder.iterdir()):
        name = f"{STATISTICS_DIR}/{path.name}"
        if path.suffix.lower() in (".csv", ".xlsx") and (path.is_symlink() or not path.is_file()):
            rejections.append(Rejection(name, "not_regular_file", f"{name}: {irregular_message(path.lstat().st_mode)}"))
            continue
        try:
            if path.suffix.lower() == ".csv":
                tables.append(read_csv_table(name, path.read_bytes()))
            elif path.suffix.lower() == ".xlsx":
                tables.append(read_xlsx_table(name, path))
        except (OSError, ValueError, StopIteration, KeyError) as exc:
            rejections.append(Rejection(name, "statistics_unreadable", f"{name}: {exc or 'no header row'}"))
    return tables, rejections


def unit_code(raw: str, units: dict[str, dict]) -> str | None:
    """The declared unit a table's unit spelling stands for ('persons' → person)."""
    raw = raw.strip()
    for code, spec in units.items():
        if raw == code or raw in spec.get("aliases", []) or raw in spec.get("measures", []):
            return code
    return None


def statistics_indicator_name(fields: dict[str, str]) -> str:
    """The table's indicator name; census counts are their own series, never mixed with year-end estimates."""
    name = fields.get("indicator", "").strip()
    series = fields.get("series", "").strip().lower()
    if series == "census" or fields.get("source_title", "").strip().lower().startswith(CENSUS_TITLE_PREFIX):
        return name + CENSUS_SUFFIX
    return name


def row_tier(fields: dict[str, str]) -> str:
    """The row's source tier as written, `unverified` when the table or the cell says nothing."""
    return fields.get("source_tier", "").strip().lower() or UNSTATED_TIER


def statistics_period(indicator_code: str, unit: str, year: int, census: bool) -> tuple[str | None, str, str]:
    """(start, end, kind): census day, a year-end stock, or a calendar-year flow such as GDP."""
    if census:
        return CENSUS_DAY.isoformat(), CENSUS_DAY.isoformat(), "as_of"
    if unit == "person":
        end = date(year, 12, 31).isoformat()
        return end, end, "as_of"
    return date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat(), "year"


def row_problem(row: StatisticsRow, gazetteer: Gazetteer, taxonomy: Taxonomy,
                units: dict[str, dict]) -> tuple[str, str] | None:
    """(reason, detail) why a row cannot become a fact, or None when it can."""
    fields, where = row.fields, f"{row.file} line {row.line}"
    if "__malformed__" in fields:
        return "statistics_row_malformed", f"{where}: {fields['__malformed__']}"
    missing = [c for c in REQUIRED_COLUMNS if not fields.get(c, "").strip()]
    if missing:
        return "statistics_row_malformed", f"{where}: empty or missing column(s) {missing}"
    region = gazetteer.lookup(fields.get("region_code", "")) or gazetteer.lookup(fields.get("region_name", ""))
    if region is None:
        return "statistics_region_unknown", (f"{where}: region {fields.get('region_name', '')!r} "
                                             f"(code {fields.get('region_code', '')!r}) is not in the gazetteer")
    try:
        value = float(fields["value"].replace(",", ""))
        int(fields["year"])
    except ValueError:
        return "statistics_value_invalid", f"{where}: value {fields['value']!r} or year {fields['year']!r} is not a number"
    if value < 0:
        return "statistics_value_invalid", f"{where}: value {value} is negative"
    indicator = taxonomy.by_statistics_name(statistics_indicator_name(fields))
    if indicator is None:
        return "statistics_indicator_unknown", f"{where}: indicator {fields['indicator']!r} is not in the taxonomy"
    tier = row_tier(fields)
    if tier not in TABLE_TIERS:
        return "statistics_tier_unknown", (f"{where}: source_tier {tier!r} is none of {', '.join(TABLE_TIERS)} "
                                           "(see population_README.md)")
    unit = unit_code(fields["unit"], units)
    if unit != indicator.unit:
        return "statistics_unit_mismatch", (f"{where}: unit {fields['unit']!r} does not fit {indicator.code}, "
                                            f"which is measured in {indicator.unit}")
    return None


def statistics_facts(tables: list[StatisticsTable], gazetteer: Gazetteer, taxonomy: Taxonomy,
                     units: dict[str, dict]) -> tuple[list[Fact], list[Rejection]]:
    """Facts from the good rows, rejections naming file, line and reason for the others."""
    facts: list[Fact] = []
    rejections: list[Rejection] = []
    for table in tables:
        for row in table.rows:
            problem = row_problem(row, gazetteer, taxonomy, units)
            if problem:
                rejections.append(Rejection(f"{row.file} line {row.line}", *problem))
                continue
            fields = row.fields
            name = statistics_indicator_name(fields)
            indicator = taxonomy.by_statistics_name(name)
            region = gazetteer.lookup(fields.get("region_code", "")) or gazetteer.lookup(fields["region_name"])
            year = int(fields["year"])
            start, end, kind = statistics_period(indicator.code, indicator.unit, year, name.endswith(CENSUS_SUFFIX))
            quote = fields.get("quote", "").strip() or fields["value"]
            facts.append(Fact(
                fact_id=make_fact_id(table.sha256, row.char_start, row.char_end, indicator.code),
                article_id=statistics_article_id(table.file),
                region_code=region.code, region_name=region.name_zh, region_level=region.level,
                indicator_code=indicator.code, indicator_name_zh=indicator.name_zh,
                indicator_name_en=indicator.name_en, family=indicator.family,
                value=float(fields["value"].replace(",", "")), value_high=None, unit=indicator.unit,
                qualifier="exact", period_start=start, period_end=end, period_kind=kind, year=year,
                quote=quote, char_start=row.char_start, char_end=row.char_end,
                quote_start=row.char_start, quote_end=row.char_end, number_text=fields["value"],
                region_source=STATISTICS, period_source=STATISTICS, status=STATUS, review_reason="", source_kind=STATISTICS,
                source_title=fields.get("source_title", "").strip(), source_url=fields.get("source_url", "").strip(),
                source_tier=row_tier(fields),
            ))
    return facts, rejections


def statistics_article_id(file: str) -> str:
    """The id under which a statistics table is listed among the sources (`articles` table)."""
    return file.rsplit(".", 1)[0]


def statistics_sources(tables: list[StatisticsTable], facts: list[Fact]) -> list[dict]:
    """One `articles` row per statistics table, so every fact's source is listed in one place."""
    rows = []
    for table in tables:
        own = [f for f in facts if f.article_id == statistics_article_id(table.file)]
        latest = max((f.year for f in own), default=date.today().year)
        rows.append({
            "article_id": statistics_article_id(table.file), "file": table.file, "sha256": table.sha256,
            "title": f"统计数据表 Statistics table: {Path(table.file).name}",
            "outlet": "统计公报及其转载、汇编 bulletins, reposts, compilations",
            "published": date(latest, 12, 31), "published_precision": "year", "published_source": STATISTICS,
            "published_note": "表中最新年份；每行注明其出处与来源类别 latest year in the table; each row names its own "
                              "source and its tier", "primary_region_code": "330000",
            "primary_region_name": "浙江省", "encoding": "utf-8", "n_chars": 0, "n_facts": len(own),
        })
    return rows
