"""The facts table as shown on screen and downloaded: its columns, its order, a page of rows, the CSV file."""

from __future__ import annotations

import csv
import io

import pandas as pd

from dashboard import fmt
from etl.vocabulary import STATISTICS

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
                "source_text": "source_kind"}
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
        "source_text": _labels(facts["source_kind"], fmt.source_text),
        "quote": facts["quote"],
        "title": facts["title"],
        "outlet": facts["outlet"],
        "published": facts["published"],
        "fact_id": facts["fact_id"],
    })
    frame["inexact"] = facts["inexact"].to_numpy()
    frame["needs_review"] = facts["needs_review"].to_numpy()
    frame["statistics"] = (facts["source_kind"] == STATISTICS).to_numpy()
    return frame


def _labels(codes: pd.Series, label) -> pd.Series:
    """Label a coded column once per distinct code rather than once per row."""
    mapping = {code: label(str(code)) for code in codes.unique()}
    return codes.map(mapping).astype(str)


def table_page(ordered: pd.DataFrame, start: int, end: int) -> tuple[list[dict], int]:
    """One block of already-sorted rows for the grid's infinite row model, and the total row count."""
    block = table_records(ordered.iloc[max(start, 0):max(end, 0)])
    return block.to_dict("records"), len(ordered)


def table_csv(ordered: pd.DataFrame) -> bytes:
    """The table as CSV with its on-screen headers; UTF-8 with BOM so Excel reads the Chinese text."""
    frame = table_records(ordered)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in TABLE_COLUMNS])
    writer.writerows(zip(*(frame[column].tolist() for column, _ in TABLE_COLUMNS), strict=True))
    return buffer.getvalue().encode("utf-8-sig")
