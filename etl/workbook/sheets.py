"""The sheets of the officials' workbook, laid out from an `ExportData`, one function per sheet.

Sheets come in reading order: the cover explains, the summary, chart and per-capita sheet compare, the facts
and cross-check sheets prove (their grids are in `grids`), and the reference sheets define.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from etl.vocabulary import STATISTICS
from etl.workbook.data import ExportData
from etl.workbook.frames import (
    LEVEL_GROUP_ZH,
    LEVEL_ZH,
    cell_note,
    chart_comparisons,
    text_lines,
)
from etl.workbook.grids import write_crosscheck, write_facts, write_per_capita
from etl.workbook.layout import (
    LINE_HEIGHT,
    MAX_LINES,
    SHEET_CHART,
    SHEET_CHECK,
    SHEET_COVER,
    SHEET_FACTS,
    SHEET_INDICATORS,
    SHEET_NAMES,
    SHEET_PER_CAPITA,
    SHEET_REGIONS,
    SHEET_SOURCES,
    SHEET_SUMMARY,
    SMALL_TEXT_SCALE,
    TITLE,
    TITLE_EN,
    Column,
    Layout,
    format_number,
    header_rows,
    number_width,
    page_setup,
    region_label,
    write_table,
)
from etl.workbook.stream import StreamedSheet
from etl.workbook.styles import (
    PERCENT_UNITS,
    apply_style,
    display_value,
    number_style,
    put_text,
    register_styles,
    value_kind,
)

SUMMARY_ROWS_PER_PAGE = 30
SUMMARY_NOTE_WIDTH = 40  # a block that would straddle a printed page starts on a new one
CHART_ROWS = 16  # rows a 7.5 cm chart covers
CHART_SCALES = {
    "yuan": ((1e8, 1e8, "亿元"), (1e5, 1e4, "万元")),
    "person": ((1e5, 1e4, "万人"),),
    "person_time": ((1e5, 1e4, "万人次"),),
}


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
    from_statistics = facts["source_kind"] == STATISTICS
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
