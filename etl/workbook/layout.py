"""What every sheet of the officials' workbook shares: the `Layout` computed once from an `ExportData`, the
`Column` of a table, and the helpers that give every table Chinese and English header rows, fitted column
widths, frozen headers and an A4 page set-up that repeats the headers on every page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from etl.extract.indicators import load_taxonomy
from etl.extract.units import load_units
from etl.workbook.data import ExportData
from etl.workbook.frames import (
    RegionTree,
    crosscheck_rows,
    display_width,
    line_counts,
    per_capita_rows,
    pivot_cells,
    pivot_indicators,
    sorted_facts,
    text_lines,
    with_articles,
)
from etl.workbook.styles import (
    BODY_SIZE,
    PERCENT_UNITS,
    SMALLEST_SIZE,
    apply_style,
    put_text,
)

TITLE = "浙江省各地人才发展指标汇编"
SUBTITLE = "据新闻报道与统计数据整理 · Talent indicators of Zhejiang localities, from the press and statistics"
SHEET_COVER, SHEET_SUMMARY, SHEET_CHART, SHEET_PER_CAPITA = "说明", "汇总", "图表", "人均指标"
SHEET_FACTS, SHEET_CHECK = "明细", "核对"
SHEET_SOURCES, SHEET_INDICATORS, SHEET_REGIONS = "来源", "指标", "地区"
SHEET_NAMES = (SHEET_COVER, SHEET_SUMMARY, SHEET_CHART, SHEET_PER_CAPITA, SHEET_FACTS, SHEET_CHECK,
               SHEET_SOURCES, SHEET_INDICATORS, SHEET_REGIONS)
WRAPPING_STYLES = ("zt_wrap", "zt_small", "zt_para")
LINE_HEIGHT = 14.5  # points per line of 10.5 pt text, as LibreOffice and Excel lay out CJK
MAX_LINES = 20
SMALL_TEXT_SCALE = 10.5 / 9  # zt_small is 9 pt: more characters fit a line
MARGIN_INCHES = 0.4
HEADER_CHARS = 250
HEADER_LINES = 2  # a column's header may wrap once rather than widen the column


@dataclass(frozen=True)
class Column:
    """A table column: Chinese and English header, the frame column it shows, its style and widest width."""

    zh: str
    en: str
    key: str
    style: str = "zt_text"
    max_width: float = 30


def filter_lines(data: ExportData) -> list[tuple[str, str]]:
    """The filters as sentences an official can check at a glance; none when the workbook is not filtered."""
    f, ind = data.filters, data.indicators
    family_names = ind.set_index("family")["family_name_zh"].to_dict()
    indicator_names = ind.set_index("code")["name_zh"].to_dict()
    lines = []
    if f.families:
        lines.append(("指标族", "、".join(family_names.get(x, x) for x in f.families)))
    if f.indicators:
        lines.append(("指标", "、".join(indicator_names.get(x, x) for x in f.indicators)))
    if f.regions:
        lines.append(("地区", "、".join(data.region_filter_labels or f.regions) + "（含下辖地区）"))
    if f.year_from is not None or f.year_to is not None:
        years = (f"{f.year_from}–{f.year_to}年" if f.year_from is not None and f.year_to is not None
                 else f"{f.year_from}年起" if f.year_from is not None else f"至{f.year_to}年")
        lines.append(("年份", years))
    return lines


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
        self.filter_text = "；".join(f"{label} {value}" for label, value in filter_lines(data))

    def unit_zh(self, unit: str) -> str:
        return "%" if unit in PERCENT_UNITS else self.units.get(unit, {}).get("name_zh", unit)

    def unit_en(self, unit: str) -> str:
        return self.units.get(unit, {}).get("name_en", unit)



# --- shared layout helpers


def page_setup(ws: Worksheet, layout: Layout, cover: bool = False) -> None:
    """A4 (landscape; the cover portrait) printed at 100 %, so no text shrinks below its 9 pt: a sheet too
    wide for the page is cut to its reading columns by its print area, or printed in parts. Every page
    header names the sheet and, for a filtered workbook, the filter; the footer the data's period, the
    refresh time and the page."""
    ws.page_setup.orientation = "portrait" if cover else "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.scale = 100
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=MARGIN_INCHES, right=MARGIN_INCHES, top=0.7, bottom=0.6, header=0.25,
                                  footer=0.25)
    ws.oddHeader.left.text = _header_text(f"{TITLE} · {ws.title}")
    ws.oddHeader.left.size = 9
    if layout.filter_text:
        ws.oddHeader.right.text = _header_text(f"筛选：{layout.filter_text}")
        ws.oddHeader.right.size = 9
    refreshed = f"；更新于 {layout.data.refreshed_at}" if layout.data.refreshed_at else ""
    ws.oddFooter.left.text = _header_text(f"数据截至 {layout.data.data_as_of}{refreshed}")
    ws.oddFooter.left.size = 9
    ws.oddFooter.right.text = "第 &P 页，共 &N 页"
    ws.oddFooter.right.size = 9


def _header_text(text: str) -> str:
    """Text for a page header or footer: '&' is a header code there, and Excel keeps 255 characters in all."""
    text = text.replace("&", "&&")
    return text if len(text) <= HEADER_CHARS else text[: HEADER_CHARS - 1] + "…"


def column_points(width: float) -> float:
    """A column's printed width in points, the wider of Excel's (7 pixels a character and 5 of padding) and
    LibreOffice's (measured: 5.54 points a character)."""
    return max((width * 7 + 5) * 0.75, width * 5.55 + 0.5)


def printed_columns(widths: dict[int, float], landscape: bool = True) -> int:
    """How many leading columns fit the A4 page at 100 % (at least one)."""
    room = ((297 if landscape else 210) / 25.4 * 72 - 2 * MARGIN_INCHES * 72) * 0.98  # 2 % to spare
    used, count = 0.0, 0
    for i in sorted(widths):
        used += column_points(widths[i])
        if used > room:
            break
        count = i
    return max(count, 1)


def put_message(ws: Worksheet, row: int, text: str, n_columns: int, style: str = "zt_para") -> None:
    """A sentence across `n_columns` columns, its row tall enough to show all of it."""
    put_text(ws, row, 1, text, style)
    if n_columns > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=n_columns)
    width = sum(ws.column_dimensions[get_column_letter(i)].width or 8.43 for i in range(1, n_columns + 1))
    scale = SMALL_TEXT_SCALE if style in ("zt_note", "zt_small") else 1.0
    ws.row_dimensions[row].height = text_lines(text, width * scale) * LINE_HEIGHT + 4


def header_rows(ws: Worksheet, row: int, columns: list[Column]) -> None:
    """The Chinese header and its English beneath, each tall enough for a header wrapped on two lines."""
    for i, column in enumerate(columns, start=1):
        put_text(ws, row, i, column.zh, "zt_head")
        put_text(ws, row + 1, i, column.en, "zt_head_en")
    ws.row_dimensions[row].height = HEADER_LINES * LINE_HEIGHT + 2
    ws.row_dimensions[row + 1].height = HEADER_LINES * LINE_HEIGHT * SMALLEST_SIZE / BODY_SIZE + 2


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
        longest_word = max(len(word) for word in column.en.split()) * 0.8 if column.en.strip() else 0
        widths[i] = max(min(max(widest, 6) + 2, column.max_width), math.ceil(header / HEADER_LINES) + 2,
                        math.ceil(longest_word) + 2)  # the English header breaks between words, never inside
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


def write_table(ws: Worksheet, columns: list[Column], frame: pd.DataFrame, first_row: int = 1,
                printed: int | None = None) -> None:
    """A small table through openpyxl: header rows, then one row per frame row; `printed` leading columns
    make the print area (those that fit the page), the others are for reference on screen."""
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
    if printed is not None:
        fitting = printed_columns({i: widths[i] for i in range(1, printed + 1)})
        ws.print_area = f"A1:{get_column_letter(fitting)}{first_row + 1 + max(len(frame), 1)}"


def format_number(value: float, unit: str) -> str:
    if unit in PERCENT_UNITS:
        return f"{value:g}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def region_label(layout: Layout, code: str) -> str:
    return layout.region_names.get(code, code)
