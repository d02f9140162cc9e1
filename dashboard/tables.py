"""The tables as shown on screen and downloaded: the facts table (its columns, its order, a page of rows, the CSV
file and the workbook of the same facts) and the rows of the cross-check grid."""

from __future__ import annotations

import csv
import io

import pandas as pd

from dashboard import fmt
from dashboard.queries import Query
from dashboard.snapshot import Snapshot
from etl.store.cells import neutralise_texts
from etl.vocabulary import FACT_COLUMNS, STATISTICS

TABLE_COLUMNS = [
    ("region_name", "地区 Region"),
    ("indicator_name_zh", "指标 Indicator"),
    ("display", "数值 Value"),
    ("year", "年份 Year"),
    ("source_text", "来源 Source"),
    ("quote", "原文 Quote"),
    ("title", "文章 Article"),
    ("outlet", "媒体 Outlet"),
    ("published", "发布日期 Published"),
    ("qualifier_text", "限定 Qualifier"),
    ("status_text", "状态 Status"),
    ("value", "精确值 Exact value"),
    ("unit", "单位 Unit"),
    ("period", "期间 Period"),
    ("fact_id", "编号 Fact ID"),
]
SORT_ALIASES = {"display": "value", "qualifier_text": "qualifier", "status_text": "status",
                "source_text": "source_tier"}
MAX_GRID_ROWS = 500  # rows one grid request may ask for: a block is 50 or 100, so a few blocks at most
CHECK_QUOTE_CHARS = 44  # the grid shows the start of the quote; its tooltip and the quote panel the whole
DEFAULT_TABLE_ORDER = (["region_code", "indicator_code", "year"], [True, True, False])


def sort_table(facts: pd.DataFrame, sort_model: list[dict] | None) -> pd.DataFrame:
    """The table's order: the grid's sort model, else region, indicator, newest year."""
    columns, ascending = [], []
    for item in sort_model or []:
        column = SORT_ALIASES.get(item.get("colId", ""), item.get("colId", ""))
        if column in facts.columns:
            columns.append(column)
            ascending.append(item.get("sort") != "desc")
    if not columns:
        columns, ascending = DEFAULT_TABLE_ORDER
        columns = [c for c in columns if c in facts.columns]
        ascending = ascending[: len(columns)]
    return facts.sort_values(columns, ascending=ascending, kind="stable")


def table_records(facts: pd.DataFrame) -> pd.DataFrame:
    """The table's columns, as shown on screen (and downloaded)."""
    frame = pd.DataFrame({
        "region_name": facts["region_name"].astype(str),
        "indicator_name_zh": facts["indicator_name_zh"].astype(str),
        "display": facts["display"],
        "value": facts["value"],
        "unit": _labels(facts["unit"], fmt.unit_label),
        "year": facts["year"],
        "period": facts["period"],
        "qualifier_text": _labels(facts["qualifier"], fmt.qualifier_text),
        "status_text": _labels(facts["status"], fmt.status_text),
        "source_text": _labels(facts["source_tier"], fmt.tier_text),
        "quote": facts["quote"],
        "title": facts["title"],
        "outlet": _labels(facts["outlet"], fmt.outlet_text).where(facts["source_kind"] != STATISTICS, ""),
        "published": facts["published"],
        "fact_id": facts["fact_id"],
    })
    frame["inexact"] = facts["inexact"].to_numpy()
    frame["needs_review"] = facts["needs_review"].to_numpy()
    frame["statistics"] = (facts["source_kind"] == STATISTICS).to_numpy()
    frame["tier"] = facts["source_tier"].astype(str).to_numpy()
    return frame


def _labels(codes: pd.Series, label) -> pd.Series:
    """Label a coded column once per distinct code rather than once per row."""
    mapping = {code: label(str(code)) for code in codes.unique()}
    return codes.map(mapping).astype(str)


def grid_window(request: dict, block: int) -> tuple[int, int]:
    """The rows [start, end) a grid's getRowsRequest asks for, at most `MAX_GRID_ROWS` of them; a request
    with no numbers there raises ValueError or TypeError (answered 400, see dashboard.security)."""
    start = max(int(request.get("startRow", 0)), 0)
    end = max(int(request.get("endRow", start + block)), start)
    return start, min(end, start + MAX_GRID_ROWS)


def table_page(ordered: pd.DataFrame, start: int, end: int) -> tuple[list[dict], int]:
    """One block of already-sorted rows for the grid's infinite row model, and the total row count."""
    block = table_records(ordered.iloc[max(start, 0):max(end, 0)])
    return block.to_dict("records"), len(ordered)


def table_csv(ordered: pd.DataFrame) -> bytes:
    """The table as CSV with its on-screen headers; UTF-8 with BOM so Excel reads the Chinese text; texts a
    spreadsheet would run as formulas are neutralised (etl.store.cells)."""
    frame = neutralise_texts(table_records(ordered))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in TABLE_COLUMNS])
    writer.writerows(zip(*(frame[column].tolist() for column, _ in TABLE_COLUMNS), strict=True))
    return buffer.getvalue().encode("utf-8-sig")


def table_workbook(snap: Snapshot, ordered: pd.DataFrame, query: Query, regions: tuple[str, ...]) -> bytes:
    """The officials' workbook (etl.workbook) of the facts on screen, with the table's filters on its cover;
    `regions` are the regions chosen, not those they expand to."""
    from etl.workbook.data import ExportData, ExportFilters  # openpyxl loads on the first download
    from etl.workbook.export import workbook_bytes

    facts = ordered[[c for c in FACT_COLUMNS if c in ordered.columns]].copy()
    for column in facts.columns:
        if isinstance(facts[column].dtype, pd.CategoricalDtype):
            facts[column] = facts[column].astype(str)
    filters = ExportFilters(families=list(query.families), indicators=list(query.indicators),
                            regions=list(regions), year_from=query.year_from, year_to=query.year_to)
    export = ExportData.from_frames(facts=facts, articles=snap.articles, indicators=snap.indicators.reset_index(drop=True),
                                    regions=snap.regions.reset_index(drop=True), filters=filters,
                                    refreshed_at=snap.as_of.when)
    return workbook_bytes(export)


def check_records(frame: pd.DataFrame) -> list[dict]:
    """The grid's rows: verdict and gap, region and indicator, both figures with their years, quote and link."""
    rows = []
    for row in frame.itertuples(index=False):
        rows.append({
            "article_fact_id": row.article_fact_id, "statistics_fact_id": row.statistics_fact_id,
            "consistent": bool(row.consistent), "relative_difference": float(row.relative_difference),
            "check_verdict": f"{row.verdict_text}\n{fmt.percent_change(row.relative_difference)}",
            "check_what": f"{row.region_name}\n{row.indicator_name_zh}",
            "check_values": (f"文章 {row.article_display}（{row.article_year}年，原文“{row.article_number_text}”）\n"
                             f"官方 {row.official_display}（{row.official_year}年）"),
            "check_source_md": f"“{_md_text(fmt.clip(str(row.article_quote), CHECK_QUOTE_CHARS))}”\n\n官方来源："
                               + _md_link(str(row.official_source_title), str(row.official_source_url)),
            "article_quote": str(row.article_quote),
        })
    return rows


def _md_text(text: str) -> str:
    """Article text shown through the markdown cell renderer, with markdown's own characters escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>" else c for c in text)


def _md_link(title: str, url: str) -> str:
    """A markdown link for the grid's markdown cells; the title's brackets would end the link text."""
    label = _md_text(str(title or url or ""))
    if not url:
        return label
    return f"[{label}]({str(url).replace(' ', '%20').replace(')', '%29')})"
