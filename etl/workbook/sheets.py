"""The sheets of the officials' workbook, laid out from an `ExportData`, one function per sheet.

Sheets come in reading order: the cover explains, the summary, chart and per-capita sheet compare, the facts
and cross-check sheets prove, and the reference sheets define. Every table has a Chinese header row with English beneath it, fitted
column widths, frozen headers and an A4 landscape page set-up that repeats the headers on every page.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from etl.extract.indicators import load_taxonomy
from etl.extract.numbers import load_units
from etl.workbook.frames import (
    DERIVED_HAS_VALUE,
    LEVEL_GROUP_ZH,
    LEVEL_ZH,
    QUALIFIER_ZH,
    STATUS_ZH,
    RegionTree,
    cell_note,
    chart_comparisons,
    crosscheck_rows,
    display_width,
    excel_serial,
    line_counts,
    objects,
    per_capita_rows,
    period_label,
    pivot_cells,
    pivot_indicators,
    sorted_facts,
    text_lines,
    with_articles,
)
from etl.workbook.stream import StreamColumn, StreamedSheet
from etl.workbook.styles import (
    PERCENT_UNITS,
    UNIT_KIND,
    apply_style,
    display_value,
    number_style,
    put_text,
    register_styles,
    style_id,
    value_kind,
)

if TYPE_CHECKING:
    from etl.workbook.export import ExportData

TITLE = "浙江省各地人才发展指标汇编"
TITLE_EN = "Talent indicators of Zhejiang localities, as reported in the press"
SHEET_COVER, SHEET_SUMMARY, SHEET_CHART, SHEET_PER_CAPITA = "说明", "汇总", "图表", "人均指标"
SHEET_FACTS, SHEET_CHECK = "明细", "核对"
SHEET_SOURCES, SHEET_INDICATORS, SHEET_REGIONS = "来源", "指标", "地区"
SHEET_NAMES = (SHEET_COVER, SHEET_SUMMARY, SHEET_CHART, SHEET_PER_CAPITA, SHEET_FACTS, SHEET_CHECK,
               SHEET_SOURCES, SHEET_INDICATORS, SHEET_REGIONS)
FACTS_PRINTED_COLUMNS = 12  # the reading columns; codes and technical columns sit to the right of the page
SUMMARY_ROWS_PER_PAGE = 30
SUMMARY_NOTE_WIDTH = 40  # a block that would straddle a printed page starts on a new one
WRAPPING_STYLES = ("zt_wrap", "zt_small", "zt_para")
LINE_HEIGHT = 14.5  # points per line of 10.5 pt text, as LibreOffice and Excel lay out CJK
MAX_LINES = 20
SMALL_TEXT_SCALE = 10.5 / 9  # zt_small is 9 pt: more characters fit a line
CHART_ROWS = 16  # rows a 7.5 cm chart covers
CHART_SCALES = {
    "yuan": ((1e8, 1e8, "亿元"), (1e5, 1e4, "万元")),
    "person": ((1e5, 1e4, "万人"),),
    "person_time": ((1e5, 1e4, "万人次"),),
}


@dataclass(frozen=True)
class Column:
    """A table column: Chinese and English header, the frame column it shows, its style and widest width."""

    zh: str
    en: str
    key: str
    style: str = "zt_text"
    max_width: float = 30


class Layout:
    """What every sheet needs from the data: region tree, unit names, facts in order, the summary's cells."""

    def __init__(self, data: ExportData, workbook: Workbook) -> None:
        self.data, self.workbook = data, workbook
        self.tree = RegionTree.from_frame(data.regions)
        self.units = load_units()
        self.indicators = data.indicators.set_index("code", drop=False)
        by_code = data.regions.set_index("code")
        self.region_names = by_code["name_zh"].to_dict()
        self.region_levels = by_code["level"].to_dict()
        self.facts = sorted_facts(with_articles(data.facts, data.articles), data.indicators, self.tree)
        self.pivot_codes = pivot_indicators(self.facts, data.indicators, data.filters.indicators)
        self.cells = pivot_cells(self.facts, self.pivot_codes)
        scales = {code: spec.scale for code, spec in load_taxonomy().derived.items()}
        self.per_capita = per_capita_rows(data.derived, data.articles, data.indicators, self.tree, scales)
        self.checks = crosscheck_rows(data.crosscheck, data.articles, data.indicators)

    def unit_zh(self, unit: str) -> str:
        return "%" if unit in PERCENT_UNITS else self.units.get(unit, {}).get("name_zh", unit)

    def unit_en(self, unit: str) -> str:
        return self.units.get(unit, {}).get("name_en", unit)


def build_workbook(data: ExportData) -> tuple[Workbook, list[StreamedSheet]]:
    """The workbook with every sheet but the facts rows, which come back as a `StreamedSheet` to splice in."""
    workbook = Workbook()
    register_styles(workbook)
    workbook.properties.title = TITLE
    workbook.properties.creator = "zj-talent etl export"
    layout = Layout(data, workbook)
    sheets = {name: workbook.create_sheet(name) for name in SHEET_NAMES}
    workbook.remove(workbook.worksheets[0])
    write_cover(layout, sheets[SHEET_COVER])
    write_summary(layout, sheets[SHEET_SUMMARY])
    write_chart(layout, sheets[SHEET_CHART])
    streamed = [
        write_per_capita(layout, sheets[SHEET_PER_CAPITA]),
        write_facts(layout, sheets[SHEET_FACTS]),
        write_crosscheck(layout, sheets[SHEET_CHECK]),
    ]
    write_sources(layout, sheets[SHEET_SOURCES])
    write_indicators(layout, sheets[SHEET_INDICATORS])
    write_regions(layout, sheets[SHEET_REGIONS])
    for ws in workbook.worksheets:
        page_setup(ws, layout, cover=ws.title == SHEET_COVER)
    return workbook, streamed


# --- shared layout helpers


def page_setup(ws: Worksheet, layout: Layout, cover: bool = False) -> None:
    """A4 landscape one page wide (cover: portrait, one page); page numbers and data date in the footer."""
    ws.page_setup.orientation = "portrait" if cover else "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if cover else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.25, footer=0.25)
    ws.oddHeader.left.text = f"{TITLE} · {ws.title}"
    ws.oddHeader.left.size = 9
    ws.oddFooter.left.text = f"数据截至 {layout.data.data_as_of}"
    ws.oddFooter.left.size = 9
    ws.oddFooter.right.text = "第 &P 页，共 &N 页"
    ws.oddFooter.right.size = 9


def header_rows(ws: Worksheet, row: int, columns: list[Column]) -> None:
    for i, column in enumerate(columns, start=1):
        put_text(ws, row, i, column.zh, "zt_head")
        put_text(ws, row + 1, i, column.en, "zt_head_en")


def fit_widths(ws: Worksheet, columns: list[Column], frame: pd.DataFrame) -> dict[int, float]:
    """Widths that fit the widest value (Chinese characters count double), within each column's cap."""
    widths = {}
    for i, column in enumerate(columns, start=1):
        values = frame[column.key] if column.key in frame else pd.Series(dtype=str)
        if column.style.startswith(("zt_int", "zt_dec", "zt_pct", "zt_count", "zt_rate", "zt_scale")):
            widest = number_width(values)
        elif column.style.startswith("zt_date"):
            widest = 10
        elif column.style.startswith("zt_year"):
            widest = 4
        else:
            widest = display_width(values)
        header = max(display_width(pd.Series([column.zh])), display_width(pd.Series([column.en])) * 0.8)
        widths[i] = max(min(max(widest, 6) + 2, column.max_width), header + 2)
        ws.column_dimensions[get_column_letter(i)].width = widths[i]
    return widths


def number_width(values: pd.Series) -> int:
    """Characters the largest number takes with thousands separators, a mark (≥) and two decimals."""
    numbers = pd.to_numeric(values, errors="coerce").abs()
    largest = numbers.max() if numbers.notna().any() else 0
    return len(f"{largest:,.0f}") + 4


def row_heights(columns: list[Column], frame: pd.DataFrame, widths: dict[int, float]) -> np.ndarray:
    """Heights (points) that show wrapped text whole; 0 where one line is enough.

    LibreOffice, and Excel until a cell is edited, keep rows at the default height whatever they wrap.
    """
    lines = np.ones(len(frame))
    for i, column in enumerate(columns, start=1):
        if column.style in WRAPPING_STYLES and column.key in frame:
            scale = SMALL_TEXT_SCALE if column.style == "zt_small" else 1.0
            lines = np.maximum(lines, line_counts(frame[column.key], widths[i] * scale))
    lines = np.minimum(lines, MAX_LINES)
    return np.where(lines > 1, lines * LINE_HEIGHT + 3, 0)


def finish_table(ws: Worksheet, columns: list[Column], first_data_row: int, n_rows: int) -> None:
    """Frozen headers, a filter on the header row, headers repeated on each printed page."""
    last = get_column_letter(len(columns))
    ws.freeze_panes = f"B{first_data_row}"
    ws.auto_filter.ref = f"A{first_data_row - 1}:{last}{first_data_row - 1 + max(n_rows, 1)}"
    ws.print_title_rows = f"{first_data_row - 2}:{first_data_row - 1}"


def write_table(ws: Worksheet, columns: list[Column], frame: pd.DataFrame, first_row: int = 1) -> None:
    """A small table through openpyxl: header rows, then one row per frame row."""
    header_rows(ws, first_row, columns)
    for r, record in enumerate(frame.to_dict("records"), start=first_row + 2):
        for c, column in enumerate(columns, start=1):
            value = record.get(column.key)
            if column.style in ("zt_text", "zt_wrap", "zt_small") or column.style.startswith("zt_region"):
                put_text(ws, r, c, "" if value is None or value != value else value, column.style)
            elif value is not None and value == value:
                cell = ws.cell(row=r, column=c, value=value)
                apply_style(cell, column.style)
    widths = fit_widths(ws, columns, frame)
    for r, height in enumerate(row_heights(columns, frame, widths), start=first_row + 2):
        if height:
            ws.row_dimensions[r].height = float(height)
    finish_table(ws, columns, first_row + 2, len(frame))


def format_number(value: float, unit: str) -> str:
    if unit in PERCENT_UNITS:
        return f"{value:g}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def region_label(layout: Layout, code: str) -> str:
    return layout.region_names.get(code, code)


# --- 说明: the cover


def filter_lines(layout: Layout) -> list[tuple[str, str]]:
    """The filters as sentences an official can check at a glance."""
    f, ind = layout.data.filters, layout.data.indicators
    family_names = ind.set_index("family")["family_name_zh"].to_dict()
    indicator_names = ind.set_index("code")["name_zh"].to_dict()
    lines = []
    if f.families:
        lines.append(("指标族", "、".join(family_names.get(x, x) for x in f.families)))
    if f.indicators:
        lines.append(("指标", "、".join(indicator_names.get(x, x) for x in f.indicators)))
    if f.regions:
        lines.append(("地区", "、".join(layout.data.region_filter_labels or f.regions) + "（含下辖地区）"))
    if f.year_from is not None or f.year_to is not None:
        years = (f"{f.year_from}–{f.year_to}年" if f.year_from is not None and f.year_to is not None
                 else f"{f.year_from}年起" if f.year_from is not None else f"至{f.year_to}年")
        lines.append(("年份", years))
    return lines or [("", "未筛选：包含数据库中全部现行数字")]


SHEET_GUIDE = (
    (SHEET_SUMMARY, "重点指标按地区（市 → 县（市、区））和年份汇总；每格为该地区当年最新报道的数字。"),
    (SHEET_CHART, "同级地区对比图（Excel 原生图表，可直接复制到演示文稿）。"),
    (SHEET_PER_CAPITA, "每万常住人口、每亿元地区生产总值的数值，便于大小不同的地区公平比较：分子为报道数字，"
                       "分母为官方统计，结果是可核算的 Excel 公式；分母缺当年数据时用相邻年份（代用年份），"
                       "没有分母的不计算并写明原因。"),
    (SHEET_FACTS, "全部数字及出处：原文摘录、文章标题、媒体、发布日期、复核状态；可按列筛选。"),
    (SHEET_CHECK, "报道数字与官方统计（同年或上一年）对照：相对差异，报道的说法是否相符（是/否）；"
                  "不相符、差异大的在前。"),
    (SHEET_SOURCES, "数字所出自的新闻报道。"),
    (SHEET_INDICATORS, "指标的中英文名称、单位和含义。"),
    (SHEET_REGIONS, "地区代码、中英文名称、层级和上级地区。"),
)
READING_GUIDE = (
    ("≥", "原文为“超过、逾、以上”等，数字是下限。"),
    ("≤", "原文为“不到、以内、不超过”等，数字是上限。"),
    ("≈", "原文为“约、近、左右”等，数字是约数。"),
    ("区间", "原文给出范围（如“3至5万”）：汇总表显示下限（≥），“注”列写明区间。"),
    ("目标值", "计划或目标数，不进入汇总表，只列在“明细”中。"),
    ("黄色底纹", "程序不能确定的数字（地区、指标或数值），待人工复核，引用前请核对原文。"),
    ("% 与 第N位", "比重按百分数显示；排名显示为“第N位”。单元格中都是可计算的数值。"),
    ("注", "汇总表最右列说明口径：部分月份、累计数、同年另有不同数值等。"),
    ("代用年份", "人均指标的分母（官方统计）没有当年数据，用相邻年份代替；分母年份以橙色标出。"),
    ("无分母", "没有该地区的官方常住人口或地区生产总值，不计算人均指标，结果留空（不是 0）。"),
    ("是 / 否", "核对表中报道数字与官方统计是否相符：绿色“是”，红色“否”。"),
)


def write_cover(layout: Layout, ws: Worksheet) -> None:
    """Title, dates, counts, filters, a guide to sheets and marks, and where the figures come from."""
    data, facts = layout.data, layout.facts
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 92
    ws.sheet_view.showGridLines = False
    put_text(ws, 1, 1, TITLE, "zt_title")
    put_text(ws, 2, 1, TITLE_EN, "zt_subtitle")
    ws.row_dimensions[1].height = 30
    published = pd.to_datetime(data.articles["published"], errors="coerce").dropna()
    span = f"{_month(published.min())} 至 {_month(published.max())}" if len(published) else "—"
    r = _label_rows(ws, 4, [
        ("数据截至", data.data_as_of),
        ("报道时间", span),
        ("生成时间", f"{data.generated_at:%Y-%m-%d %H:%M}（北京时间）"),
    ])
    r = _section(ws, r + 1, "数量 Counts")
    from_statistics = facts["source_kind"] == "statistics"
    n_articles = facts.loc[~from_statistics, "article_id"].nunique()
    per_capita, checks = layout.per_capita, layout.checks
    counts = [
        ("数字（条）", len(facts)), ("其中待复核", int((facts["status"] == "needs_review").sum())),
        ("来源报道（篇）", n_articles), ("官方统计数字（条）", int(from_statistics.sum())),
        ("地区（个）", facts["region_code"].nunique()), ("指标（个）", facts["indicator_code"].nunique()),
    ]
    counts = [(label, value) for label, value in counts if value or not label.startswith("官方统计")]
    if len(per_capita):  # shown only when the fair-comparison tables have rows, like the statistics count
        counts += [("人均指标（条）", len(per_capita)), ("其中已计算", int(per_capita["value"].notna().sum()))]
    if len(checks):
        counts += [("核对（条）", len(checks)), ("其中不相符", int((~checks["consistent"]).sum()))]
    for label, value in counts:
        put_text(ws, r, 1, label, "zt_label")
        apply_style(ws.cell(row=r, column=2, value=int(value)), "zt_count_plain")
        r += 1
    r = _section(ws, r + 1, "筛选条件 Filters")
    r = _label_rows(ws, r, filter_lines(layout))
    r = _section(ws, r + 1, "工作表 Sheets")
    r = _label_rows(ws, r, SHEET_GUIDE)
    r = _section(ws, r + 1, "如何阅读数值 Reading the figures")
    r = _label_rows(ws, r, READING_GUIDE)
    r = _section(ws, r + 1, "数据来源 Where the figures come from")
    source_text = (
        f"本工作簿的数字由程序从 {n_articles} 篇新闻报道中自动摘录（报道列表见“{SHEET_SOURCES}”），"
        f"每个数字都附有原文摘录，可在“{SHEET_FACTS}”中逐条核对。报道中的数字不是统计部门发布的正式统计数据，"
        "对外引用前请核对原文。"
        f"报道的发布日期多为根据内容推定，推定依据见“{SHEET_SOURCES}”的“日期依据”列。"
    )
    if from_statistics.any():
        source_text += (f"另有 {int(from_statistics.sum())} 条官方统计数字（如常住人口、地区生产总值），"
                        "“明细”中列出其出处与链接；同一地区同一年份两者都有时，汇总表采用统计数字。")
    if len(per_capita) or len(checks):
        source_text += (f"“{SHEET_PER_CAPITA}”用官方统计作分母，把报道数字换算为每万常住人口或每亿元地区生产"
                        f"总值的数值；“{SHEET_CHECK}”把报道中的人口、经济数字与官方统计逐条对照。")
    put_text(ws, r, 1, "说明", "zt_label")
    put_text(ws, r, 2, source_text, "zt_para")
    ws.row_dimensions[r].height = text_lines(source_text, 92) * LINE_HEIGHT + 3
    ws.print_area = f"A1:B{r}"


def _month(date: pd.Timestamp) -> str:
    return f"{date.year}年{date.month}月"


def _section(ws: Worksheet, row: int, title: str) -> int:
    put_text(ws, row, 1, title, "zt_section")
    apply_style(ws.cell(row=row, column=2), "zt_section")
    return row + 1


def _label_rows(ws: Worksheet, row: int, pairs) -> int:
    """Label and text rows; a text longer than the column grows its row (no reader does it by itself)."""
    width = ws.column_dimensions["B"].width
    for label, value in pairs:
        put_text(ws, row, 1, label, "zt_label")
        put_text(ws, row, 2, value, "zt_para")
        lines = text_lines(str(value), width)
        if lines > 1:
            ws.row_dimensions[row].height = lines * LINE_HEIGHT + 3
        row += 1
    return row


# --- 汇总: regions × years, one block per indicator


def write_summary(layout: Layout, ws: Worksheet) -> None:
    cells = layout.cells
    years = sorted(int(y) for y in cells["year"].unique())
    n_cols = len(years) + 2
    ws.sheet_properties.outlinePr.summaryBelow = False
    put_text(ws, 1, 1, "重点指标汇总：各地区分年度", "zt_title")
    put_text(ws, 2, 1, "每格为该地区当年最新报道的数字；≥ 超过（下限），≤ 不足（上限），≈ 约数；"
                       "黄色底纹为待复核；“注”列说明部分月份、累计数等口径。详见“说明”。", "zt_note")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=max(n_cols, 2))
    ws.row_dimensions[2].height = 30
    ws.column_dimensions["A"].width = 26
    year_width = min(max(12, number_width(cells["value"]) + 2), 24) if len(cells) else 12
    for i in range(len(years)):
        ws.column_dimensions[get_column_letter(i + 2)].width = year_width
    ws.column_dimensions[get_column_letter(n_cols)].width = SUMMARY_NOTE_WIDTH
    ws.print_title_rows = "1:2"
    if cells.empty:
        put_text(ws, 4, 1, "没有符合筛选条件的重点指标数字。", "zt_para")
        return
    by_row: dict[tuple[str, str], list[dict]] = {}
    for record in cells.to_dict("records"):
        by_row.setdefault((record["indicator_code"], record["region_code"]), []).append(record)
    row, page_used = 4, 3
    for code in layout.pivot_codes:
        present = {region for indicator, region in by_row if indicator == code}
        regions = sorted(layout.tree.with_ancestors(present, top=False), key=lambda c: layout.tree.order.get(c, 0))
        height = len(regions) + 4
        if page_used + height > SUMMARY_ROWS_PER_PAGE and page_used > 3:
            ws.row_breaks.append(Break(id=row - 1))
            page_used = 0
        _summary_block(layout, ws, row, code, {r: by_row.get((code, r), []) for r in regions}, years)
        row += height
        page_used += height
    ws.freeze_panes = "B3"


def _summary_block(layout: Layout, ws: Worksheet, row: int, code: str, rows: dict[str, list[dict]],
                   years: list[int]) -> None:
    """One indicator: a title with its unit, the year headers, then a row per region (parents first)."""
    indicator = layout.indicators.loc[code]
    unit = indicator["unit"]
    n_cols = len(years) + 2
    title = (f"{indicator['name_zh']}（单位：{layout.unit_zh(unit)}）　"
             f"{indicator['name_en']} ({layout.unit_en(unit)})")
    put_text(ws, row, 1, title, "zt_block")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=n_cols)
    ws.row_dimensions[row].height = 22
    columns = [Column("地区", "Region", "")] + [Column(f"{y}年", str(y), "") for y in years]
    header_rows(ws, row + 1, [*columns, Column("注", "Notes", "")])
    column_of = {y: i + 2 for i, y in enumerate(years)}
    for r, (region, facts) in enumerate(rows.items(), start=row + 3):
        depth = layout.tree.depth.get(region, 0)
        put_text(ws, r, 1, region_label(layout, region), f"zt_region{min(depth, 3)}")
        ws.row_dimensions[r].outline_level = max(depth - 1, 0)
        for column in column_of.values():
            apply_style(ws.cell(row=r, column=column), "zt_text")
        notes = []
        for fact in facts:
            cell = ws.cell(row=r, column=column_of[int(fact["year"])], value=display_value(unit, fact["value"]))
            apply_style(cell, number_style(layout.workbook, value_kind(unit, fact["value"]), fact["qualifier"],
                                           fact["status"] == "needs_review"))
            note = cell_note(fact, lambda v: format_number(v, unit))
            if note:
                notes.append(f"{int(fact['year'])}年：{note}")
        text = "；".join(notes)
        put_text(ws, r, n_cols, text, "zt_small")
        lines = text_lines(text, SUMMARY_NOTE_WIDTH * SMALL_TEXT_SCALE)
        if lines > 1:
            ws.row_dimensions[r].height = float(min(lines, MAX_LINES) * LINE_HEIGHT + 3)


# --- 图表: native bar charts of like-for-like comparisons


def write_chart(layout: Layout, ws: Worksheet) -> None:
    put_text(ws, 1, 1, "地区对比图", "zt_title")
    put_text(ws, 2, 1, "同一指标、同一年份、同级地区的对比，数据取自“汇总”；左侧是作图数据。", "zt_note")
    ws.merge_cells("A2:L2")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 12
    comparisons = chart_comparisons(layout.cells, layout.tree, layout.region_levels)
    if not comparisons:
        put_text(ws, 4, 1, "筛选后的数据不足以作对比图：同一指标同一年份至少需要两个同级地区。", "zt_para")
        return
    row = 4
    for code, year, level, part in comparisons:
        row = _chart_block(layout, ws, row, code, year, level, part)


def chart_scale(unit: str, largest: float, unit_zh: str) -> tuple[float, str]:
    """Divisor and unit label that keep a chart's labels short: 亿元 and 万元, 万人; the tables stay exact."""
    for threshold, divisor, label in CHART_SCALES.get(unit, ()):
        if largest >= threshold:
            return divisor, label
    return 1.0, unit_zh


def _chart_block(layout: Layout, ws: Worksheet, row: int, code: str, year: int, level: str,
                 part: pd.DataFrame) -> int:
    """The chart's data (regions and values, scaled to 亿/万 where large) with the chart beside it."""
    indicator = layout.indicators.loc[code]
    unit = indicator["unit"]
    divisor, unit_label = chart_scale(unit, float(part["value"].max()), layout.unit_zh(unit))
    title = f"{indicator['name_zh']}：{year}年{LEVEL_GROUP_ZH.get(level, '')}（{unit_label}）"
    put_text(ws, row, 1, title, "zt_block")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
    header_rows(ws, row + 1, [Column("地区", "Region", ""), Column(f"{year}年（{unit_label}）", str(year), "")])
    first = row + 3
    for r, fact in enumerate(part.to_dict("records"), start=first):
        put_text(ws, r, 1, region_label(layout, fact["region_code"]), "zt_text")
        shown = display_value(unit, fact["value"]) / divisor
        kind = value_kind(unit, fact["value"]) if divisor == 1 else "dec"
        cell = ws.cell(row=r, column=2, value=shown)
        apply_style(cell, number_style(layout.workbook, kind, fact["qualifier"], fact["status"] == "needs_review"))
    last = first + len(part) - 1
    ws.add_chart(column_chart(ws, title, unit, first, last), f"D{row}")
    return max(last, row + CHART_ROWS) + 2


def column_chart(ws: Worksheet, title: str, unit: str, first: int, last: int) -> BarChart:
    """Vertical bars in table order (largest first), values labelled in the cells' own format."""
    chart = BarChart()
    chart.type, chart.style, chart.grouping = "col", 10, "clustered"
    chart.title = Title(tx=Text(rich=RichText(p=[Paragraph(
        pPr=ParagraphProperties(defRPr=CharacterProperties(sz=1200, b=True)),
        r=[RegularTextRun(rPr=CharacterProperties(sz=1200, b=True), t=title)])])), overlay=False)
    chart.add_data(Reference(ws, min_col=2, min_row=first, max_row=last))
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.legend = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.number_format = "0%" if unit in PERCENT_UNITS else "#,##0"
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                     showPercent=False)
    n = last - first + 1
    chart.width, chart.height = min(max(16.0, 1.6 * n + 4), 32.0), 7.5
    return chart


# --- 人均指标 and 核对: the fair-comparison sheets, streamed below a title and a note

FAIR_FIRST_ROW = 3  # title, note, then the two header rows


PER_CAPITA_COLUMNS = [
    Column("地区", "Region", "region_name", "zt_wrap", 12),
    Column("指标", "Indicator", "indicator_name_zh", "zt_wrap", 18),
    Column("年份", "Year", "year", "zt_year", 7),
    Column("分子：报道数字", "Numerator (press)", "numerator_value", "zt_int", 18),
    Column("分子单位", "Unit", "numerator_unit_zh", max_width=8),
    Column("分子出处（文章）", "Numerator source (article)", "article_title", "zt_wrap", 22),
    Column("分母：官方统计", "Denominator (official)", "denominator_value", "zt_int", 18),
    Column("分母年份", "Denominator year", "denominator_year", "zt_year", 9),
    Column("分母出处", "Denominator source", "denominator_source_title", "zt_small", 26),
    Column("换算", "Scale", "scale", "zt_scale", 13),
    Column("结果", "Result", "value", "zt_rate", 14),
    Column("结果单位", "Unit of result", "unit_zh", max_width=13),
    Column("状态", "Status", "status_zh", max_width=9),
    Column("说明", "Note", "note_zh", "zt_small", 30),
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
PER_CAPITA_PRINTED_COLUMNS = 14
PER_CAPITA_NOTE = (
    "结果 = 分子（报道数字）÷ 分母（官方统计）× 换算；“结果”列是 Excel 公式，选中单元格即可看到算式。"
    "分子是下限（≥）或约数（≈）时，结果同样是下限或约数。分母缺当年数据时用相邻年份（状态“代用年份”，"
    "分母年份以橙色标出）；没有官方分母时不计算（状态“无分母”，结果留空），“说明”列写明原因。"
)
CHECK_COLUMNS = [
    Column("地区", "Region", "region_name", "zt_wrap", 12),
    Column("指标", "Indicator", "indicator_name_zh", "zt_wrap", 16),
    Column("单位", "Unit", "unit_zh", max_width=8),
    Column("报道数字", "Article figure", "article_value", "zt_int", 16),
    Column("原文数字", "As written", "article_number_text", max_width=12),
    Column("报道年份", "Article year", "article_year", "zt_year", 9),
    Column("官方数字", "Official figure", "official_value", "zt_int", 16),
    Column("官方年份", "Official year", "official_year", "zt_year", 9),
    Column("相对差异", "Relative difference", "relative_difference", "zt_pct_signed", 11),
    Column("相符", "Consistent", "consistent_zh", max_width=8),
    Column("核对规则", "Rule", "rule", "zt_small", 26),
    Column("原文摘录", "Quote", "article_quote", "zt_small", 36),
    Column("来源（文章标题）", "Source (article title)", "article_title", "zt_wrap", 22),
    Column("官方来源", "Official source", "official_source_title", "zt_small", 26),
    Column("官方来源链接", "Official source URL", "official_source_url", max_width=30),
    Column("地区代码", "Region code", "region_code", max_width=12),
    Column("指标代码", "Indicator code", "indicator_code", max_width=30),
    Column("报道事实编号", "Article fact ID", "article_fact_id", max_width=18),
    Column("统计事实编号", "Statistics fact ID", "statistics_fact_id", max_width=18),
]
CHECK_PRINTED_COLUMNS = 14
CHECK_NOTE = (
    "报道中的数字与同一地区、同一指标的官方统计（同年，没有时取上一年）对照。相对差异 =（报道数字 − 官方数字）"
    "÷ 官方数字。“相符”看报道的说法是否与官方数字吻合：“超过、多”要求官方数字不低于报道数字，“约、近”允许"
    "相差5%，确数允许相差1%。不相符、差异大的排在前面。"
)


def _sheet_heading(ws: Worksheet, title: str, note: str, n_columns: int) -> None:
    """A title and a note that says how to read the sheet, merged across the printed columns."""
    put_text(ws, 1, 1, title, "zt_title")
    ws.row_dimensions[1].height = 26
    put_text(ws, 2, 1, note, "zt_note")
    if n_columns > 1:
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n_columns)


def _note_height(ws: Worksheet, note: str, widths: dict[int, float], n_columns: int) -> None:
    """Grow the merged note row to show its text whole (no reader grows merged rows by itself)."""
    width = sum(widths[i] for i in range(1, n_columns + 1))
    ws.row_dimensions[2].height = text_lines(note, width * SMALL_TEXT_SCALE) * LINE_HEIGHT * 0.9 + 4


def _streamed_table(ws: Worksheet, columns: list[Column], frame: pd.DataFrame, printed: int,
                    streamed: list[StreamColumn], note: str) -> StreamedSheet:
    """Widths, row heights, filter, frozen headers and print area for a table below `_sheet_heading`.

    Rows are as tall as the printed columns need: a long quote to the right of the page is read in the
    formula bar rather than stretching every printed row.
    """
    widths = fit_widths(ws, columns, frame)
    for i, column in enumerate(columns, start=1):
        if column.style.startswith(("zt_int", "zt_rate", "zt_scale", "zt_pct")):  # room for ≥ and decimals
            widths[i] += 2
            ws.column_dimensions[get_column_letter(i)].width = widths[i]
    _note_height(ws, note, widths, printed)
    first = FAIR_FIRST_ROW + 2
    finish_table(ws, columns, first, len(frame))
    ws.print_area = f"A1:{get_column_letter(printed)}{first - 1 + len(frame)}"
    heights = [h or None for h in row_heights(columns[:printed], frame, widths).tolist()]
    return StreamedSheet(ws.title, first_row=first, columns=streamed, row_heights=heights)


def _empty_sheet(ws: Worksheet, title: str, note: str, sentence: str) -> StreamedSheet:
    """Title, note and a sentence saying why there are no rows, in one wide column."""
    _sheet_heading(ws, title, note, 1)
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
    n_columns = PER_CAPITA_PRINTED_COLUMNS
    title = "人均指标：每万常住人口、每亿元地区生产总值"
    if rows.empty:
        return _empty_sheet(ws, title, PER_CAPITA_NOTE, "本工作簿中没有人均指标（筛选条件下没有，或导出时未附人均"
                            "指标表）。人均指标需要报道中的人才、项目或资金数字，以及同一地区官方统计的常住人口或"
                            "地区生产总值，由数据更新程序计算。")
    _sheet_heading(ws, title, PER_CAPITA_NOTE, n_columns)
    units = {u: layout.unit_zh(u) for u in pd.concat([rows["numerator_unit"], rows["unit"]]).unique()}
    rows = rows.assign(numerator_unit_zh=rows["numerator_unit"].map(units), unit_zh=rows["unit"].map(units))
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
            styles = ["zt_text" if s == "derived" else "zt_flag" for s in rows["status"].tolist()]
            streamed.append(_text_column(ws, rows, column, styles))
        else:
            streamed.append(_text_column(ws, rows, column))
    return _streamed_table(ws, PER_CAPITA_COLUMNS, rows, n_columns, streamed, PER_CAPITA_NOTE)


def write_crosscheck(layout: Layout, ws: Worksheet) -> StreamedSheet:
    """Article figures beside the official ones, worst first, with the rule that decides 是/否."""
    rows = layout.checks
    n_columns = CHECK_PRINTED_COLUMNS
    title = "核对：报道数字与官方统计"
    if rows.empty:
        return _empty_sheet(ws, title, CHECK_NOTE, "本工作簿中没有可与官方统计对照的报道数字（筛选条件下没有，"
                            "或导出时未附核对表）。目前对照常住人口、地区生产总值等有官方统计的指标。")
    _sheet_heading(ws, title, CHECK_NOTE, n_columns)
    rows = rows.assign(unit_zh=rows["unit"].map(layout.unit_zh))
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
    return _streamed_table(ws, CHECK_COLUMNS, rows, n_columns, streamed, CHECK_NOTE)


# --- 明细: every fact with its provenance, streamed


FACT_COLUMNS = [
    Column("地区", "Region", "region_name", "zt_wrap", 14),
    Column("指标", "Indicator", "indicator_name_zh", "zt_wrap", 18),
    Column("年份", "Year", "year", "zt_year", 7),
    Column("时期", "Period", "period", "zt_wrap", 16),
    Column("数值", "Value", "value", "zt_int", 24),
    Column("单位", "Unit", "unit_zh", max_width=8),
    Column("数值说明", "Qualifier", "qualifier_zh", "zt_wrap", 10),
    Column("原文摘录", "Quote", "quote", "zt_wrap", 44),
    Column("来源（文章标题）", "Source (article title)", "source", "zt_wrap", 20),
    Column("媒体", "Outlet", "outlet", "zt_wrap", 10),
    Column("发布日期", "Published", "published", "zt_date_month", 11),
    Column("状态", "Status", "status_zh", max_width=10),
    Column("复核原因", "Review reason", "review_reason", "zt_small", 30),
    Column("上限", "Upper value", "value_high", "zt_int", 24),
    Column("原文数字", "As written", "number_text", max_width=14),
    Column("来源链接", "Source URL", "source_url", max_width=30),
    Column("层级", "Level", "level_zh", max_width=12),
    Column("指标族", "Family", "family_zh", max_width=14),
    Column("地区代码", "Region code", "region_code", max_width=12),
    Column("指标代码", "Indicator code", "indicator_code", max_width=30),
    Column("事实编号", "Fact ID", "fact_id", max_width=18),
]


def facts_for_sheet(layout: Layout) -> pd.DataFrame:
    """The facts with every column the sheet shows, in Chinese where a reader sees words."""
    facts = layout.facts
    family_names = layout.data.indicators.set_index("family")["family_name_zh"].to_dict()
    unit_names = {u: layout.unit_zh(u) for u in facts["unit"].unique()}
    label = functools.cache(period_label)  # a few hundred distinct periods among 100,000 facts
    periods = list(map(label, objects(facts["period_kind"]), objects(facts["period_start"]),
                       objects(facts["period_end"])))
    return facts.assign(
        period=periods,
        source=facts["source_title"].where(facts["source_title"] != "", facts["title"]),
        unit_zh=facts["unit"].map(unit_names),
        qualifier_zh=facts["qualifier"].map(QUALIFIER_ZH).fillna(facts["qualifier"]),
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
    header_rows(ws, 1, FACT_COLUMNS)
    columns = []
    review = facts["status"] == "needs_review"
    for column in FACT_COLUMNS:
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
    widths = fit_widths(ws, FACT_COLUMNS, facts)
    finish_table(ws, FACT_COLUMNS, 3, len(facts))
    ws.print_area = f"A1:{get_column_letter(FACTS_PRINTED_COLUMNS)}{max(len(facts) + 2, 2)}"
    heights = [h or None for h in row_heights(FACT_COLUMNS, facts, widths).tolist()]
    return StreamedSheet(ws.title, first_row=3, columns=columns, row_heights=heights)


# --- 来源, 指标, 地区: reference sheets


def write_sources(layout: Layout, ws: Worksheet) -> None:
    articles = layout.data.articles
    counts = layout.facts["article_id"].value_counts()
    dated = articles[["published", "published_precision"]].itertuples(index=False)
    articles = articles.assign(
        n_in_export=articles["article_id"].map(counts).fillna(0).astype(int),
        region=articles["primary_region_name"],
        published_text=[_published_text(p, q) for p, q in dated],
    ).sort_values(["published", "article_id"], kind="stable")
    columns = [
        Column("文章标题", "Title", "title", "zt_wrap", 40),
        Column("媒体", "Outlet", "outlet", max_width=14),
        Column("发布日期", "Published", "published_text", max_width=14),
        Column("日期依据", "Date basis", "published_note", "zt_small", 50),
        Column("主要地区", "Main region", "region", max_width=14),
        Column("本表数字", "Figures here", "n_in_export", "zt_count", 10),
        Column("文件", "File", "file", "zt_small", 20),
    ]
    write_table(ws, columns, articles)


def _published_text(published: object, precision: object) -> str:
    date = pd.to_datetime(published, errors="coerce")
    if pd.isna(date):
        return ""
    return {"year": f"{date:%Y}年", "month": f"{date.year}年{date.month}月"}.get(str(precision),
                                                                            f"{date:%Y-%m-%d}")


def write_indicators(layout: Layout, ws: Worksheet) -> None:
    counts = layout.facts["indicator_code"].value_counts().add(
        layout.per_capita["indicator_code"].value_counts(), fill_value=0)  # derived ones count their rows
    indicators = layout.data.indicators.assign(
        unit_zh=layout.data.indicators["unit"].map(layout.unit_zh),
        unit_en=layout.data.indicators["unit"].map(layout.unit_en),
        headline_zh=np.where(layout.data.indicators["headline"].astype(bool), "是", ""),
        n_in_export=layout.data.indicators["code"].map(counts).fillna(0).astype(int),
    )
    columns = [
        Column("指标", "Indicator", "name_zh", max_width=24),
        Column("英文名称", "Name (English)", "name_en", max_width=34),
        Column("指标族", "Family", "family_name_zh", max_width=16),
        Column("指标族（英文）", "Family (English)", "family_name_en", max_width=26),
        Column("单位", "Unit", "unit_zh", max_width=10),
        Column("单位（英文）", "Unit (English)", "unit_en", max_width=18),
        Column("重点指标", "Headline", "headline_zh", max_width=9),
        Column("含义", "Description", "description", "zt_small", 50),
        Column("本表数字", "Figures here", "n_in_export", "zt_count", 10),
        Column("指标代码", "Code", "code", max_width=32),
    ]
    write_table(ws, columns, indicators)


def write_regions(layout: Layout, ws: Worksheet) -> None:
    regions = layout.data.regions
    counts = layout.facts["region_code"].value_counts()
    ordered = regions.assign(
        _order=layout.tree.sort_key(regions["code"]),
        level_zh=regions["level"].map(LEVEL_ZH).fillna(regions["level"]),
        parent_name=regions["parent_code"].map(layout.region_names).fillna(""),
        aliases_text=regions["aliases"].fillna("").str.replace("|", "、", regex=False),
        n_in_export=regions["code"].map(counts).fillna(0).astype(int),
    ).sort_values("_order")
    columns = [
        Column("地区", "Region", "name_zh", max_width=30),
        Column("英文名称", "Name (English)", "name_en", "zt_wrap", 40),
        Column("层级", "Level", "level_zh", max_width=14),
        Column("上级地区", "Parent", "parent_name", max_width=14),
        Column("别名", "Aliases", "aliases_text", "zt_wrap", 24),
        Column("本表数字", "Figures here", "n_in_export", "zt_count", 10),
        Column("地区代码", "Code", "code", max_width=12),
        Column("上级代码", "Parent code", "parent_code", max_width=12),
        Column("备注", "Note", "note", "zt_small", 50),
    ]
    write_table(ws, columns, ordered)
    for r, (code, name) in enumerate(zip(ordered["code"], ordered["name_zh"], strict=True), start=3):
        put_text(ws, r, 1, name, f"zt_region{min(layout.tree.depth.get(code, 0), 3)}")
