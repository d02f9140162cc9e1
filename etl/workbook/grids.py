"""The three big grids of the officials' workbook: 人均指标 (per-capita values), 核对 (the cross-check) and
明细 (every fact with its provenance). Their header rows go through openpyxl; their rows come back as
`StreamedSheet`s that etl.workbook.stream writes into the file.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from etl.curate.comparable import period_label
from etl.vocabulary import NO_SOURCE, PERIOD_SOURCE_LABELS, STATISTICS
from etl.workbook.frames import (
    DERIVED_HAS_VALUE,
    LEVEL_ZH,
    QUALIFIER_ZH,
    STATUS_ZH,
    excel_serial,
    objects,
    review_reason_zh,
    text_lines,
    tier_words,
)
from etl.workbook.layout import (
    LINE_HEIGHT,
    SMALL_TEXT_SCALE,
    Column,
    Layout,
    finish_table,
    fit_widths,
    header_rows,
    printed_columns,
    row_heights,
)
from etl.workbook.stream import StreamColumn, StreamedSheet
from etl.workbook.styles import (
    PERCENT_UNITS,
    UNIT_KIND,
    number_style,
    put_text,
    style_id,
)

# --- 人均指标 and 核对: the fair-comparison sheets, streamed below a title and a note
# Columns come in reading order: the print area takes as many as fit an A4 page at 100 %, codes and
# technical columns sit to its right.

FAIR_FIRST_ROW = 3  # title, note, then the two header rows


PER_CAPITA_COLUMNS = [
    Column("地区", "Region", "region_name", "zt_wrap", 10),
    Column("指标", "Indicator", "indicator_name_zh", "zt_wrap", 12),
    Column("分子时期", "Numerator period", "numerator_period", "zt_wrap", 10),
    Column("分子：报道数字", "Numerator (press)", "numerator_value", "zt_int", 12),
    Column("分子单位", "Unit", "numerator_unit_zh", max_width=5),
    Column("分母：统计数字", "Denominator (statistic)", "denominator_value", "zt_int", 12),
    Column("分母年份", "Denom. year", "denominator_year", "zt_year", 7),
    Column("分母来源类别", "Denom. source tier", "denominator_tier_zh", "zt_wrap", 8),
    Column("结果", "Result", "value", "zt_rate", 10),
    Column("结果单位", "Unit of result", "unit_zh", "zt_wrap", 7),
    Column("状态", "Status", "status_zh", max_width=8),
    Column("说明", "Note", "note_zh", "zt_small", 20),
    Column("换算", "Scale", "scale", "zt_scale", 10),
    Column("年份", "Year", "year", "zt_year", 7),
    Column("分子出处（文章）", "Numerator source (article)", "article_title", "zt_wrap", 22),
    Column("分母出处", "Denominator source", "denominator_source_title", "zt_small", 26),
    Column("分子原文摘录", "Numerator quote", "numerator_quote", "zt_small", 40),
    Column("说明（英文）", "Note (English)", "note_en", "zt_small", 40),
    Column("指标（英文）", "Indicator (English)", "indicator_name_en", max_width=30),
    Column("分母指标", "Denominator indicator", "denominator_name_zh", max_width=16),
    Column("分母来源链接", "Denominator source URL", "denominator_source_url", max_width=30),
    Column("地区代码", "Region code", "region_code", max_width=12),
    Column("指标代码", "Indicator code", "indicator_code", max_width=30),
    Column("分子事实编号", "Numerator fact ID", "numerator_fact_id", max_width=18),
    Column("分母事实编号", "Denominator fact ID", "denominator_fact_id", max_width=18),
]
PER_CAPITA_NOTE = (
    "结果 = 分子（报道数字）÷ 分母（统计数字）× 换算；“结果”列是 Excel 公式，选中单元格即可看到算式。"
    "分子只用年度数或时点数：部分月份数、多年累计数不能换算为一年的人均值，不计算（状态“时期不符”）。"
    "分子是下限（≥）或约数（≈）时，结果同样是下限或约数。分母缺当年数据时用相邻年份（状态“代用年份”，"
    "分母年份以橙色标出）；没有分母时不计算（状态“无分母”，结果留空），“说明”列写明原因。"
    "“分母来源类别”说明分母出自官方统计、公报转载、二手来源还是来源未核实。"
)
CHECK_COLUMNS = [
    Column("地区", "Region", "region_name", "zt_wrap", 10),
    Column("指标", "Indicator", "indicator_name_zh", "zt_wrap", 12),
    Column("报道数字", "Article figure", "article_value", "zt_int", 14),
    Column("统计数字", "Statistic", "official_value", "zt_int", 14),
    Column("相对差异", "Relative difference", "relative_difference", "zt_pct_signed", 9),
    Column("相符", "Consistent", "consistent_zh", max_width=6),
    Column("报道年份", "Article year", "article_year", "zt_year", 7),
    Column("统计年份", "Statistic year", "official_year", "zt_year", 7),
    Column("统计来源类别", "Statistic source tier", "official_tier_zh", "zt_wrap", 8),
    Column("单位", "Unit", "unit_zh", max_width=6),
    Column("核对规则", "Rule", "rule", "zt_small", 22),
    Column("原文摘录", "Quote", "article_quote", "zt_small", 30),
    Column("原文数字", "As written", "article_number_text", max_width=12),
    Column("来源（文章标题）", "Source (article title)", "article_title", "zt_wrap", 22),
    Column("统计来源", "Statistic source", "official_source_title", "zt_small", 26),
    Column("统计来源链接", "Statistic source URL", "official_source_url", max_width=30),
    Column("地区代码", "Region code", "region_code", max_width=12),
    Column("指标代码", "Indicator code", "indicator_code", max_width=30),
    Column("报道事实编号", "Article fact ID", "article_fact_id", max_width=18),
    Column("统计事实编号", "Statistics fact ID", "statistics_fact_id", max_width=18),
]
CHECK_NOTE = (
    "报道中的数字与同一地区、同一指标的统计数字（同年，没有时取上一年）对照。相对差异 =（报道数字 − 统计数字）"
    "÷ 统计数字。“相符”看报道的说法是否与统计数字吻合：“超过、多”要求统计数字不低于报道数字，“约、近”允许"
    "相差5%，确数允许相差1%。不相符、差异大的排在前面。“统计来源类别”说明统计数字出自官方统计、公报转载、"
    "二手来源还是来源未核实。"
)


def _sheet_heading(ws: Worksheet, title: str, note: str) -> None:
    """A title and a note that says how to read the sheet (merged across the printed columns later)."""
    put_text(ws, 1, 1, title, "zt_title")
    ws.row_dimensions[1].height = 26
    put_text(ws, 2, 1, note, "zt_note")


def _note_height(ws: Worksheet, note: str, widths: dict[int, float], n_columns: int) -> None:
    """Grow the merged note row to show its text whole (no reader grows merged rows by itself)."""
    width = sum(widths[i] for i in range(1, n_columns + 1))
    ws.row_dimensions[2].height = text_lines(note, width * SMALL_TEXT_SCALE) * LINE_HEIGHT * 0.9 + 4


def _streamed_table(ws: Worksheet, columns: list[Column], frame: pd.DataFrame,
                    streamed: list[StreamColumn], note: str) -> StreamedSheet:
    """Widths, row heights, filter, frozen headers and print area (the leading columns that fit the page)
    for a table below `_sheet_heading`.

    Rows are as tall as the printed columns need: a long quote to the right of the page is read in the
    formula bar rather than stretching every printed row.
    """
    widths = fit_widths(ws, columns, frame)
    for i, column in enumerate(columns, start=1):
        if column.style.startswith(("zt_int", "zt_rate", "zt_scale", "zt_pct")):  # room for ≥ and decimals
            widths[i] += 2
            ws.column_dimensions[get_column_letter(i)].width = widths[i]
    printed = printed_columns(widths)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=printed)
    _note_height(ws, note, widths, printed)
    first = FAIR_FIRST_ROW + 2
    finish_table(ws, columns, first, len(frame))
    ws.print_area = f"A1:{get_column_letter(printed)}{first - 1 + len(frame)}"
    heights = [h or None for h in row_heights(columns[:printed], frame, widths).tolist()]
    return StreamedSheet(ws.title, first_row=first, columns=streamed, row_heights=heights)


def _empty_sheet(ws: Worksheet, title: str, note: str, sentence: str) -> StreamedSheet:
    """Title, note and a sentence saying why there are no rows, in one wide column."""
    _sheet_heading(ws, title, note)
    ws.column_dimensions["A"].width = 100
    _note_height(ws, note, {1: 100}, 1)
    put_text(ws, FAIR_FIRST_ROW + 1, 1, sentence, "zt_para")
    ws.print_area = f"A1:A{FAIR_FIRST_ROW + 1}"
    return StreamedSheet(ws.title, first_row=FAIR_FIRST_ROW + 2)


def per_capita_formulas(rows: pd.DataFrame, first_row: int) -> list[str | None]:
    """`D5/H5*K5` for each row with a result: the arithmetic in the cell, over the cells beside it."""
    letter = {c.key: get_column_letter(i) for i, c in enumerate(PER_CAPITA_COLUMNS, start=1)}
    numerator, denominator, scale = letter["numerator_value"], letter["denominator_value"], letter["scale"]
    computable = (rows["value"].notna() & rows["numerator_value"].notna() & rows["scale"].notna()
                  & rows["denominator_value"].fillna(0).ne(0)).tolist()
    return [f"{numerator}{r}/{denominator}{r}*{scale}{r}" if ok else None
            for r, ok in enumerate(computable, start=first_row)]


def write_per_capita(layout: Layout, ws: Worksheet) -> StreamedSheet:
    """Per-10,000-residents and per-100-million-yuan-GDP values, each with its numerator, denominator and sum.

    The result cell is the formula over the numerator, denominator and scale cells with the stored value
    cached, so Excel shows the arithmetic and any reader (pandas, a phone) the number; without a
    denominator the cell stays empty and the status and note say why, never a zero.
    """
    rows = layout.per_capita
    title = "人均指标：每万常住人口、每亿元地区生产总值"
    if rows.empty:
        return _empty_sheet(ws, title, PER_CAPITA_NOTE, "本工作簿中没有人均指标（筛选条件下没有，或导出时未附人均"
                            "指标表）。人均指标需要报道中的人才、项目或资金数字，以及同一地区官方统计的常住人口或"
                            "地区生产总值，由数据更新程序计算。")
    _sheet_heading(ws, title, PER_CAPITA_NOTE)
    units = {u: layout.unit_zh(u) for u in pd.concat([rows["numerator_unit"], rows["unit"]]).unique()}
    rows = rows.assign(numerator_unit_zh=rows["numerator_unit"].map(units), unit_zh=rows["unit"].map(units),
                       denominator_tier_zh=tier_words(rows["denominator_source_tier"]))
    header_rows(ws, FAIR_FIRST_ROW, PER_CAPITA_COLUMNS)
    first = FAIR_FIRST_ROW + 2
    has_value = rows["status"].isin(DERIVED_HAS_VALUE)
    exact = pd.Series("exact", index=rows.index)
    streamed = []
    for column in PER_CAPITA_COLUMNS:
        key = column.key
        if key == "numerator_value":
            streamed.append(_number_column(layout, ws, rows[key], rows["numerator_unit"], rows["qualifier"]))
        elif key == "denominator_value":
            streamed.append(_number_column(layout, ws, rows[key], rows["denominator_unit"], exact))
        elif key == "value":
            streamed.append(_number_column(layout, ws, rows[key].where(has_value), rows["unit"],
                                           rows["qualifier"], kind="rate",
                                           formulas=per_capita_formulas(rows, first)))
        elif key in ("year", "denominator_year"):
            flagged = rows["proxy_year"] & (key == "denominator_year")
            ids = {False: style_id(ws, "zt_year"), True: style_id(ws, "zt_year_flag")}
            styles = [ids[bool(f)] for f in flagged.tolist()]
            streamed.append(StreamColumn([None if v != v else int(v) for v in rows[key].tolist()], styles,
                                         numeric=True))
        elif key == "scale":
            streamed.append(StreamColumn(rows[key].tolist(), style_id(ws, "zt_scale"), numeric=True))
        elif key == "status_zh":
            styles = ["zt_text" if status == "derived" else "zt_flag" for status in rows["status"].tolist()]
            streamed.append(_text_column(ws, rows, column, styles))
        else:
            streamed.append(_text_column(ws, rows, column))
    return _streamed_table(ws, PER_CAPITA_COLUMNS, rows, streamed, PER_CAPITA_NOTE)


def write_crosscheck(layout: Layout, ws: Worksheet) -> StreamedSheet:
    """Article figures beside the official ones, worst first, with the rule that decides 是/否."""
    rows = layout.checks
    title = "核对：报道数字与统计数字"
    if rows.empty:
        return _empty_sheet(ws, title, CHECK_NOTE, "本工作簿中没有可与官方统计对照的报道数字（筛选条件下没有，"
                            "或导出时未附核对表）。目前对照常住人口、地区生产总值等有统计数字的指标。")
    _sheet_heading(ws, title, CHECK_NOTE)
    rows = rows.assign(unit_zh=rows["unit"].map(layout.unit_zh), official_tier_zh=tier_words(rows["official_source_tier"]))
    header_rows(ws, FAIR_FIRST_ROW, CHECK_COLUMNS)
    exact = pd.Series("exact", index=rows.index)
    streamed = []
    for column in CHECK_COLUMNS:
        key = column.key
        if key == "article_value":
            streamed.append(_number_column(layout, ws, rows[key], rows["unit"], rows["article_qualifier"]))
        elif key == "official_value":
            streamed.append(_number_column(layout, ws, rows[key], rows["unit"], exact))
        elif key in ("article_year", "official_year"):
            streamed.append(StreamColumn(rows[key].astype(int).tolist(), style_id(ws, "zt_year"), numeric=True))
        elif key == "relative_difference":
            streamed.append(StreamColumn(rows[key].tolist(), style_id(ws, "zt_pct_signed"), numeric=True))
        elif key == "consistent_zh":
            styles = ["zt_yes" if ok else "zt_no" for ok in rows["consistent"].tolist()]
            streamed.append(_text_column(ws, rows, column, styles))
        else:
            streamed.append(_text_column(ws, rows, column))
    return _streamed_table(ws, CHECK_COLUMNS, rows, streamed, CHECK_NOTE)


# --- 明细: every fact with its provenance, streamed


FACT_SHEET_COLUMNS = [
    Column("地区", "Region", "region_name", "zt_wrap", 12),
    Column("指标", "Indicator", "indicator_name_zh", "zt_wrap", 14),
    Column("时期", "Period", "period", "zt_wrap", 14),
    Column("数值", "Value", "value", "zt_int", 16),
    Column("单位", "Unit", "unit_zh", max_width=6),
    Column("原文摘录", "Quote", "quote", "zt_wrap", 36),
    Column("来源类别", "Source tier", "tier_zh", "zt_wrap", 8),
    Column("来源（文章标题）", "Source (article title)", "source", "zt_wrap", 18),
    Column("发布日期", "Published", "published", "zt_date_month", 11),
    Column("媒体", "Outlet", "outlet_text", "zt_wrap", 10),
    Column("数值说明", "Qualifier", "qualifier_zh", "zt_wrap", 10),
    Column("时期依据", "Period from", "period_source_zh", "zt_wrap", 14),
    Column("年份", "Year", "year", "zt_year", 7),
    Column("状态", "Status", "status_zh", max_width=10),
    Column("复核原因", "Review reason", "review_reason_zh", "zt_small", 30),
    Column("上限", "Upper value", "value_high", "zt_int", 24),
    Column("原文数字", "As written", "number_text", max_width=14),
    Column("来源链接", "Source URL", "link", max_width=30),
    Column("层级", "Level", "level_zh", max_width=12),
    Column("指标族", "Family", "family_zh", max_width=14),
    Column("地区代码", "Region code", "region_code", max_width=12),
    Column("指标代码", "Indicator code", "indicator_code", max_width=30),
    Column("事实编号", "Fact ID", "fact_id", max_width=18),
]


def _period_sources(facts: pd.DataFrame) -> pd.Series:
    """What decided each figure's period, in words (an older database without the column shows nothing)."""
    labels = {code: zh for code, (zh, _) in PERIOD_SOURCE_LABELS.items()}
    return facts["period_source"].map(labels).fillna("")


def facts_for_sheet(layout: Layout) -> pd.DataFrame:
    """The facts with every column the sheet shows, in Chinese where a reader sees words."""
    facts = layout.facts
    family_names = layout.data.indicators.set_index("family")["family_name_zh"].to_dict()
    unit_names = {u: layout.unit_zh(u) for u in facts["unit"].unique()}
    label = functools.cache(period_label)  # a few hundred distinct periods among 100,000 facts
    periods = list(map(label, objects(facts["period_kind"]), objects(facts["period_start"]),
                       objects(facts["period_end"])))
    reasons = functools.cache(review_reason_zh)
    outlet = facts["outlet"].fillna("").astype(str).str.strip()
    return facts.assign(
        period=periods,
        source=facts["source_title"].where(facts["source_title"] != "", facts["title"]),
        outlet_text=outlet.where(outlet != "", NO_SOURCE[0]).where(facts["source_kind"] != STATISTICS, ""),
        link=facts["source_url"].where(facts["source_url"] != "", facts["url"].fillna("")),
        tier_zh=tier_words(facts["source_tier"]),
        review_reason_zh=list(map(reasons, objects(facts["review_reason"]))),
        unit_zh=facts["unit"].map(unit_names),
        qualifier_zh=facts["qualifier"].map(QUALIFIER_ZH).fillna(facts["qualifier"]),
        period_source_zh=_period_sources(facts),
        status_zh=facts["status"].map(STATUS_ZH).fillna(facts["status"]),
        level_zh=facts["region_level"].map(LEVEL_ZH).fillna(facts["region_level"]),
        family_zh=facts["family"].map(family_names).fillna(facts["family"]),
    )


def _number_column(layout: Layout, ws: Worksheet, values: pd.Series, units: pd.Series, qualifiers: pd.Series,
                   review: pd.Series | None = None, kind: str | None = None,
                   formulas: list[str | None] | None = None) -> StreamColumn:
    """Values scaled for display, each cell's format chosen from its unit (or `kind`), qualifier and review
    status; `formulas` make the cells formulas with these values cached."""
    values = values.astype(float)
    percent = units.isin(PERCENT_UNITS).to_numpy()
    shown = np.where(percent, values / 100, values)
    if kind is None:
        integral = np.isnan(values.to_numpy()) | (np.mod(values.to_numpy(), 1) == 0)
        by_value = pd.Series(np.where(integral, "int", "dec"), index=values.index)
        kinds = units.map(UNIT_KIND).fillna(by_value)
    else:
        kinds = pd.Series(kind, index=values.index)
    flags = [False] * len(values) if review is None else review.to_numpy(dtype=bool).tolist()
    ids: dict[tuple[str, str, bool], int] = {}
    styles = []
    for key in zip(objects(kinds), objects(qualifiers), flags, strict=True):
        if key not in ids:
            ids[key] = style_id(ws, number_style(layout.workbook, key[0], key[1], bool(key[2])))
        styles.append(ids[key])
    return StreamColumn([None if v != v else float(v) for v in shown.tolist()], styles, numeric=True,
                        formulas=formulas)


def _text_column(ws: Worksheet, frame: pd.DataFrame, column: Column,
                 styles: Sequence[str] | None = None) -> StreamColumn:
    """Texts as strings, never formulas: a text starting with '=' or '@' gets Excel's quote prefix."""
    texts = frame[column.key].to_numpy(dtype=object, na_value=None).tolist()  # fast even for str dtype
    if styles is None:
        return StreamColumn(texts, style_id(ws, column.style),
                            guarded_style=style_id(ws, column.style, quote_prefix=True))
    ids = {name: style_id(ws, name) for name in set(styles)}
    return StreamColumn(texts, [ids[name] for name in styles], guarded_style=style_id(ws, column.style, True))


def write_facts(layout: Layout, ws: Worksheet) -> StreamedSheet:
    """Header rows through openpyxl; the rows themselves are returned to be streamed into the file."""
    facts = facts_for_sheet(layout)
    header_rows(ws, 1, FACT_SHEET_COLUMNS)
    columns = []
    review = facts["status"] == "needs_review"
    for column in FACT_SHEET_COLUMNS:
        if column.key == "value":
            columns.append(_number_column(layout, ws, facts["value"], facts["unit"], facts["qualifier"], review))
        elif column.key == "value_high":
            exact = pd.Series("exact", index=facts.index)
            columns.append(_number_column(layout, ws, facts["value_high"], facts["unit"], exact, review))
        elif column.key == "year":
            years = facts["year"].astype(int).tolist()
            columns.append(StreamColumn(years, style_id(ws, "zt_year"), numeric=True))
        elif column.key == "published":
            serial = excel_serial(facts["published"])
            precision = facts["published_precision"].fillna("day").where(
                facts["published_precision"].isin(["day", "month", "year"]), "day")
            ids = {p: style_id(ws, f"zt_date_{p}") for p in ("day", "month", "year")}
            columns.append(StreamColumn([None if v != v else int(v) for v in serial.tolist()],
                                        [ids[p] for p in objects(precision)], numeric=True))
        else:
            columns.append(_text_column(ws, facts, column))
    widths = fit_widths(ws, FACT_SHEET_COLUMNS, facts)
    finish_table(ws, FACT_SHEET_COLUMNS, 3, len(facts))
    printed = printed_columns(widths)
    ws.print_area = f"A1:{get_column_letter(printed)}{max(len(facts) + 2, 2)}"
    heights = [h or None for h in row_heights(FACT_SHEET_COLUMNS[:printed], facts, widths).tolist()]
    return StreamedSheet(ws.title, first_row=3, columns=columns, row_heights=heights)


