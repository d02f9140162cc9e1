"""汇总 and 图表: the workbook's comparisons, each of one comparable set (etl.curate.comparable) at a time.

汇总 gives each indicator a small table per set (the cities' annual figures, the counties' stocks, the
January–September figures, a running total since 2019) with that set's periods as columns, so no column
puts kinds of figure, periods or levels together. 图表 charts the largest sets and lists under each chart the
figures of the same year it leaves out, with the reason.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from etl.curate.comparable import Basis, kind_label, pick, set_label, when_label
from etl.vocabulary import LEVEL_LABELS
from etl.workbook.frames import block_scale, cell_note, chart_comparisons, summary_sets, text_lines
from etl.workbook.layout import (
    LINE_HEIGHT,
    MAX_LINES,
    SMALL_TEXT_SCALE,
    Layout,
    format_number,
    put_message,
    region_label,
)
from etl.workbook.styles import (
    PERCENT_UNITS,
    QUALIFIER_MARKS,
    apply_style,
    display_value,
    number_style,
    put_text,
    value_kind,
)

SUMMARY_ROWS_PER_PAGE = 30
SUMMARY_NOTE_WIDTH = 34
SUMMARY_NOTE = (
    "每个小表只列同一口径、同一层级地区的数字：年度数、时点数（截至某日）、同一时段的部分月份数、同一起点的累计数"
    "各自成表，每列是该口径的一个时期，不同口径的数字从不同列比较。≥ 超过（下限），≤ 不足（上限），≈ 约数；"
    "黄色底纹为待复核。大数按原文的写法以万或亿为单位，精确值见“明细”。"
)
CHART_NOTE = (
    "每张图只比较同一指标、同一口径、同一时期、同级地区的数字（数据取自“汇总”）；同年未列入图中的数字列在图下，"
    "并写明原因。图中标题已写明口径与时期，可直接复制到演示文稿。"
)
CHART_ROWS = 16  # rows a 7.5 cm chart covers
CHART_WIDTH_CM = 15.0  # with the table beside it, one A4 landscape page at 100 %
CHART_COLUMNS = 11  # A–C the chart's data, D–K under the chart
LEFT_OUT_SHOWN = 10
FONT_SIZE = 1000  # chart text in hundredths of a point: never under 9 pt in print
CHART_SCALES = {
    "yuan": ((1e8, 1e8, "亿元"), (1e5, 1e4, "万元")),
    "person": ((1e5, 1e4, "万人"),),
    "person_time": ((1e5, 1e4, "万人次"),),
}


# --- 汇总


def write_summary(layout: Layout, ws: Worksheet) -> None:
    """Each indicator's comparable sets, one small table each, page breaks between indicators."""
    cells = layout.cells
    n_periods = max((part["cmp_period"].nunique() for code in layout.pivot_codes
                     for _, _, part in summary_sets(cells, code)), default=1)
    n_cols = n_periods + 2
    ws.column_dimensions["A"].width = 26
    for i in range(2, n_cols):
        ws.column_dimensions[get_column_letter(i)].width = 13
    ws.column_dimensions[get_column_letter(n_cols)].width = SUMMARY_NOTE_WIDTH
    put_text(ws, 1, 1, "重点指标汇总：各地区分口径、分时期", "zt_title")
    put_message(ws, 2, SUMMARY_NOTE, n_cols, "zt_note")
    ws.print_title_rows = "1:2"
    if cells.empty:
        put_message(ws, 4, "没有符合筛选条件的重点指标数字。", n_cols)
        return
    row, page_used = 4, 3
    for code in layout.pivot_codes:
        sets = summary_sets(cells, code)
        height = 2 + sum(len(part["region_code"].unique()) + 1 for _, _, part in sets)
        if page_used + height > SUMMARY_ROWS_PER_PAGE and page_used > 3:
            ws.row_breaks.append(Break(id=row - 1))
            page_used = 0
        row = _indicator_block(layout, ws, row, code, sets, n_cols) + 1
        page_used += height
    ws.print_area = f"A1:{get_column_letter(n_cols)}{row}"


def _indicator_block(layout: Layout, ws: Worksheet, row: int, code: str, sets: list, n_cols: int) -> int:
    """The indicator's title with its unit (万 or 亿 where the articles write so), then one table per set."""
    indicator = layout.indicators.loc[code]
    unit = indicator["unit"]
    every = pd.concat([part for _, _, part in sets])
    divisor, prefix = block_scale(unit, every["number_text"])
    unit_zh = prefix + layout.unit_zh(unit)
    put_text(ws, row, 1, f"{indicator['name_zh']}（单位：{unit_zh}）", "zt_block")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=n_cols)
    ws.row_dimensions[row].height = 22
    row += 1
    for kind, level, part in sets:
        row = _set_table(layout, ws, row, (kind, level, part), (unit, divisor), n_cols)
    return row


def _set_table(layout: Layout, ws: Worksheet, row: int, the_set: tuple, scale: tuple[float, float],
               n_cols: int) -> int:
    """One comparable set: its name and periods as the header, a row per region, notes at the right."""
    kind, level, part = the_set
    unit, divisor = scale
    periods = sorted(part["cmp_period"].unique())
    label = f"{kind_label(kind)[0]} · {LEVEL_LABELS.get(level, (level,))[0]}"
    put_text(ws, row, 1, label, "zt_head")
    ws.row_dimensions[row].height = text_lines(label, ws.column_dimensions["A"].width) * LINE_HEIGHT + 2
    for i, period in enumerate(periods, start=2):
        put_text(ws, row, i, when_label(kind, period)[0], "zt_head")
    for i in range(len(periods) + 2, n_cols):
        apply_style(ws.cell(row=row, column=i), "zt_head")
    put_text(ws, row, n_cols, "注", "zt_head")
    column_of = {period: i for i, period in enumerate(periods, start=2)}
    order = sorted(part["region_code"].unique(), key=lambda c: layout.tree.order.get(c, len(layout.tree.order)))
    for r, region in enumerate(order, start=row + 1):
        put_text(ws, r, 1, _region_with_parent(layout, region), "zt_text")
        for column in range(2, n_cols):
            apply_style(ws.cell(row=r, column=column), "zt_text")
        notes = []
        for fact in part[part["region_code"] == region].to_dict("records"):
            value = display_value(unit, fact["value"]) / divisor
            cell = ws.cell(row=r, column=column_of[fact["cmp_period"]], value=value)
            kind_of_value = value_kind(unit, fact["value"]) if divisor == 1 else "dec"
            apply_style(cell, number_style(layout.workbook, kind_of_value, fact["qualifier"],
                                           fact["status"] == "needs_review"))
            note = cell_note(fact, lambda v: format_number(v, unit))
            if note:
                notes.append(f"{when_label(kind, fact['cmp_period'])[0]}：{note}")
        text = "；".join(notes)
        put_text(ws, r, n_cols, text, "zt_small")
        lines = text_lines(text, SUMMARY_NOTE_WIDTH * SMALL_TEXT_SCALE)
        if lines > 1:
            ws.row_dimensions[r].height = float(min(lines, MAX_LINES) * LINE_HEIGHT + 3)
    return row + 1 + len(order)


def _region_with_parent(layout: Layout, code: str) -> str:
    """A county, zone or town with its city beside it (南湖区（嘉兴市）): the tables list one level each."""
    name = region_label(layout, code)
    parent = layout.tree.parent.get(code, "")
    if layout.region_levels.get(code) in ("county", "zone", "town") and parent in layout.region_names:
        return f"{name}（{layout.region_names[parent]}）"
    return name


# --- 图表


def write_chart(layout: Layout, ws: Worksheet) -> None:
    """Native bar charts of the largest comparable sets, each with the same year's figures it leaves out."""
    widths = {"A": 22, "B": 14, "C": 12, **{get_column_letter(i): 9.2 for i in range(4, CHART_COLUMNS + 1)}}
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width
    put_text(ws, 1, 1, "地区对比图", "zt_title")
    put_message(ws, 2, CHART_NOTE, CHART_COLUMNS, "zt_note")
    comparisons = chart_comparisons(layout.cells)
    if not comparisons:
        put_message(ws, 4, "筛选后的数据不足以作对比图：需要同一指标、同一口径、同一时期、同级的至少两个地区。"
                           "各地区的数字见“汇总”和“明细”。", CHART_COLUMNS)
        ws.print_area = f"A1:{get_column_letter(CHART_COLUMNS)}4"
        return
    row = 4
    for part in comparisons:
        row = _chart_block(layout, ws, row, part)
    ws.print_area = f"A1:{get_column_letter(CHART_COLUMNS)}{row}"


def chart_scale(unit: str, largest: float, unit_zh: str) -> tuple[float, str]:
    """Divisor and unit label that keep a chart's labels short: 亿元 and 万元, 万人; the tables stay exact."""
    for threshold, divisor, label in CHART_SCALES.get(unit, ()):
        if largest >= threshold:
            return divisor, label
    return 1.0, unit_zh


def _chart_block(layout: Layout, ws: Worksheet, row: int, part: pd.DataFrame) -> int:
    """The chart's data (regions and values, scaled to 亿/万 where large), the chart beside it, and under
    them the same year's figures the chart leaves out."""
    first_fact = part.iloc[0]
    code, basis = first_fact["indicator_code"], Basis(first_fact["cmp_kind"], first_fact["cmp_period"],
                                                       first_fact["cmp_level"])
    indicator = layout.indicators.loc[code]
    unit = indicator["unit"]
    divisor, unit_label = chart_scale(unit, float(part["value"].max()), layout.unit_zh(unit))
    title = f"{indicator['name_zh']}：{basis.label()[0]}（{unit_label}）"
    put_text(ws, row, 1, title, "zt_block")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
    put_text(ws, row + 1, 1, "地区", "zt_head")
    put_text(ws, row + 1, 2, f"{set_label(basis.kind, basis.period)[0]}（{unit_label}）", "zt_head")
    first = row + 2
    for r, fact in enumerate(part.to_dict("records"), start=first):
        put_text(ws, r, 1, region_label(layout, fact["region_code"]), "zt_text")
        kind = value_kind(unit, fact["value"]) if divisor == 1 else "dec"
        cell = ws.cell(row=r, column=2, value=display_value(unit, fact["value"]) / divisor)
        apply_style(cell, number_style(layout.workbook, kind, fact["qualifier"], fact["status"] == "needs_review"))
    last = first + len(part) - 1
    ws.add_chart(column_chart(ws, title, unit, first, last), f"D{row}")
    return _left_out_list(layout, ws, max(last, row + CHART_ROWS) + 2, code, basis, part)


def _left_out_list(layout: Layout, ws: Worksheet, row: int, code: str, basis: Basis, part: pd.DataFrame) -> int:
    """The figures of the chart's indicator and year that it does not show, each with its reason."""
    facts = layout.facts[layout.facts["indicator_code"] == code]
    year = int(part["cmp_year"].iloc[0])
    left_out = pick(facts, basis, year=year).left_out
    left_out = left_out[(left_out["cmp_year"] == year) & ~left_out["fact_id"].isin(part["fact_id"])]
    if left_out.empty:
        return row
    put_text(ws, row, 1, f"同年未列入本图的数字（{len(left_out)}个）", "zt_label")
    row += 1
    unit_zh = layout.unit_zh(str(part["unit"].iloc[0]))
    for fact in left_out.head(LEFT_OUT_SHOWN).to_dict("records"):
        put_text(ws, row, 1, _region_with_parent(layout, fact["region_code"]), "zt_text")
        put_text(ws, row, 2, figure_text(fact["value"], str(fact["unit"]), str(fact["qualifier"]), unit_zh), "zt_text")
        ws.merge_cells(start_row=row, start_column=3, end_row=row, end_column=CHART_COLUMNS)
        put_text(ws, row, 3, fact["reason_zh"], "zt_wrap")
        width = sum(ws.column_dimensions[get_column_letter(i)].width for i in range(3, CHART_COLUMNS + 1))
        ws.row_dimensions[row].height = text_lines(fact["reason_zh"], width) * LINE_HEIGHT + 3
        row += 1
    if len(left_out) > LEFT_OUT_SHOWN:
        put_text(ws, row, 1, f"另有{len(left_out) - LEFT_OUT_SHOWN}个，见“明细”。", "zt_note")
        row += 1
    return row + 1


def figure_text(value: float, unit: str, qualifier: str, unit_zh: str) -> str:
    """A figure as a sentence writes it: ≥200个, ≈3.5%."""
    number = format_number(value, unit)
    return f"{QUALIFIER_MARKS.get(qualifier, '')}{number}{'' if unit in PERCENT_UNITS else unit_zh}"


def _rich(size: int, bold: bool = False) -> RichText:
    properties = CharacterProperties(sz=size, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=properties), endParaRPr=properties)])


def column_chart(ws: Worksheet, title: str, unit: str, first: int, last: int) -> BarChart:
    """Vertical bars in table order (largest first), values labelled in the cells' own format, every text
    at 10 pt or more."""
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
    chart.x_axis.txPr = _rich(FONT_SIZE)
    chart.y_axis.txPr = _rich(FONT_SIZE)
    chart.y_axis.number_format = "0%" if unit in PERCENT_UNITS else "#,##0"
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                     showPercent=False, txPr=_rich(FONT_SIZE))
    chart.width, chart.height = CHART_WIDTH_CM, 7.5
    return chart
