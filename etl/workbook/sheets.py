"""The sheets of the officials' workbook, laid out from an `ExportData`, one function per sheet.

Sheets come in reading order: the cover explains, the summary, chart and per-capita sheet compare, the facts
and cross-check sheets prove (their grids are in `grids`), and the reference sheets define.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from etl.vocabulary import NO_SOURCE, SOURCE_TIER_LABELS, STATISTICS
from etl.workbook.comparisons import write_chart, write_summary
from etl.workbook.data import ExportData
from etl.workbook.frames import LEVEL_ZH, text_lines
from etl.workbook.grids import write_crosscheck, write_facts, write_per_capita
from etl.workbook.layout import (
    LINE_HEIGHT,
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
    SUBTITLE,
    TITLE,
    Column,
    Layout,
    filter_lines,
    page_setup,
    write_table,
)
from etl.workbook.stream import StreamedSheet
from etl.workbook.styles import apply_style, put_text, register_styles


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


SHEET_GUIDE = (
    (SHEET_SUMMARY, "重点指标按口径（年度数、时点数、部分月份数、累计数）和地区层级分表汇总，每列是一个时期；"
                    "不同口径、不同层级的数字不放在同一列。"),
    (SHEET_CHART, "同一指标、同一口径、同一时期、同级地区的对比图（Excel 原生图表，标题写明口径与时期，可直接复制到"
                  "演示文稿）；图下列出同年未列入的数字及原因。"),
    (SHEET_PER_CAPITA, "每万常住人口、每亿元地区生产总值的数值，便于大小不同的地区公平比较：分子为报道中的年度数或"
                       "时点数（部分月份数、多年累计数不计算，写明原因），分母为统计数字并注明来源类别，结果是可核算的"
                       " Excel 公式；分母缺当年数据时用相邻年份（代用年份），没有分母的不计算并写明原因。"),
    (SHEET_FACTS, "全部数字及出处：时期、原文摘录、文章标题、媒体、发布日期、来源类别、复核状态；可按列筛选。"),
    (SHEET_CHECK, "报道数字与统计数字（同年或上一年）对照：相对差异，报道的说法是否相符（是/否）；"
                  "不相符、差异大的在前。"),
    (SHEET_SOURCES, "数字所出自的新闻报道和统计数据表。"),
    (SHEET_INDICATORS, "指标的名称、单位和含义。"),
    (SHEET_REGIONS, "地区代码、名称、层级和上级地区。"),
)
TIER_GUIDE = (  # the tiers' words as etl.vocabulary.SOURCE_TIER_LABELS gives them
    ("官方统计", "统计部门或政府网站（或全文刊载公报的官方报纸）发布的数字。"),
    ("官方公报转载", "官方公报全文（或全表）在非官方网站上的转载，数字同公报，页面非官方。"),
    ("二手来源", "引用官方数据的第三方汇总、排行或新闻报道，引用前宜核对公报原文。"),
    ("来源未核实", "页面给出数字，但无法判断其出处。"),
    ("新闻报道", "从新闻报道中摘录的数字，不是统计部门发布的正式统计数据。"),
)
READING_GUIDE = (
    ("≥", "原文为“超过、逾、以上”等，数字是下限。"),
    ("≤", "原文为“不到、以内、不超过”等，数字是上限。"),
    ("≈", "原文为“约、近、左右”等，数字是约数。"),
    ("区间", "原文给出范围（如“3至5万”）：汇总表显示下限（≥），“注”列写明区间。"),
    ("目标值", "计划或目标数，不进入汇总表和对比图，只列在“明细”中。"),
    ("口径", "年度数（一个日历年的增量）、时点数（截至某日的存量）、部分月份数（年内若干月）、累计数（多年合计）"
             "互不可比，分别列示。"),
    ("黄色底纹", "程序不能确定的数字（地区、指标或数值），待人工复核，引用前请核对原文。"),
    ("% 与 第N位", "比重按百分数显示；排名显示为“第N位”。单元格中都是可计算的数值。"),
    ("万、亿", "原文以万、亿为单位的指标，汇总表也以万、亿为单位（见表头），精确值见“明细”。"),
    ("注", "汇总表最右列说明同期另有不同数值、区间、待复核等。"),
    ("代用年份", "人均指标的分母（统计数字）没有当年数据，用相邻年份代替；分母年份以橙色标出。"),
    ("无分母", "没有该地区的常住人口或地区生产总值统计数字，不计算人均指标，结果留空（不是 0）。"),
    ("时期不符", "分子是部分月份数或多年累计数，不能换算为一年的人均值，不计算，结果留空。"),
    ("是 / 否", "核对表中报道数字与统计数字是否相符：绿色“是”，红色“否”。"),
)
COVER_WIDTHS = (20, 73)  # A4 portrait at 100 % (see layout.column_points)


def write_cover(layout: Layout, ws: Worksheet) -> None:
    """Title, dates, counts, filters, a guide to sheets, sources and marks, and where the figures come from."""
    data = layout.data
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = COVER_WIDTHS
    ws.sheet_view.showGridLines = False
    put_text(ws, 1, 1, TITLE, "zt_title")
    put_text(ws, 2, 1, SUBTITLE, "zt_subtitle")
    ws.row_dimensions[1].height = 30
    published = pd.to_datetime(data.articles["published"], errors="coerce").dropna()
    span = f"{_month(published.min())} 至 {_month(published.max())}" if len(published) else "—"
    r = _label_rows(ws, 4, [
        ("数据截至", f"{data.data_as_of}（所收数字所指时期的最晚月份）"),
        ("报道时间", span),
        ("数据更新时间", data.refreshed_at or "—（未记录数据更新）"),
        ("本表生成时间", f"{data.generated_at:%Y-%m-%d %H:%M}（北京时间）"),
    ])
    r = _section(ws, r + 1, "数量")
    r = _count_rows(ws, r, layout)
    r = _section(ws, r + 1, "筛选条件")
    r = _label_rows(ws, r, filter_lines(data) or [("", "未筛选：包含数据库中全部现行数字")])
    r = _section(ws, r + 1, "工作表")
    r = _label_rows(ws, r, SHEET_GUIDE)
    r = _section(ws, r + 1, "来源类别")
    r = _label_rows(ws, r, TIER_GUIDE)
    r = _section(ws, r + 1, "如何阅读数值")
    r = _label_rows(ws, r, READING_GUIDE)
    r = _section(ws, r + 1, "数据来源")
    source_text = _source_text(layout)
    put_text(ws, r, 1, "说明", "zt_label")
    put_text(ws, r, 2, source_text, "zt_para")
    ws.row_dimensions[r].height = text_lines(source_text, COVER_WIDTHS[1]) * LINE_HEIGHT + 3
    ws.print_area = f"A1:B{r}"


def tier_counts(facts: pd.DataFrame) -> dict[str, int]:
    """Statistics by source tier, in the vocabulary's order."""
    counts = facts.loc[facts["source_kind"] == STATISTICS, "source_tier"].value_counts()
    return {tier: int(counts[tier]) for tier in SOURCE_TIER_LABELS if tier in counts.index}


def _count_rows(ws: Worksheet, r: int, layout: Layout) -> int:
    """Figures, reviews, articles, statistics by tier, regions, indicators, rates and checks."""
    facts, per_capita, checks = layout.facts, layout.per_capita, layout.checks
    from_statistics = facts["source_kind"] == STATISTICS
    counts = [
        ("数字（条）", len(facts)), ("其中待复核", int((facts["status"] == "needs_review").sum())),
        ("来源报道（篇）", facts.loc[~from_statistics, "article_id"].nunique()),
        ("报道中的数字（条）", int((~from_statistics).sum())),
    ]
    counts += [(f"统计数字：{SOURCE_TIER_LABELS[tier][0]}（条）", n) for tier, n in tier_counts(facts).items()]
    counts += [("地区（个）", facts["region_code"].nunique()), ("指标（个）", facts["indicator_code"].nunique())]
    if len(per_capita):  # shown only when the fair-comparison tables have rows
        counts += [("人均指标（条）", len(per_capita)), ("其中已计算", int(per_capita["value"].notna().sum()))]
    if len(checks):
        counts += [("核对（条）", len(checks)), ("其中不相符", int((~checks["consistent"]).sum()))]
    for label, value in counts:
        put_text(ws, r, 1, label, "zt_label")
        apply_style(ws.cell(row=r, column=2, value=int(value)), "zt_count_plain")
        r += 1
    return r


def _source_text(layout: Layout) -> str:
    """Where the figures come from and how far each kind can be trusted, in a paragraph."""
    facts = layout.facts
    n_articles = facts.loc[facts["source_kind"] != STATISTICS, "article_id"].nunique()
    text = (
        f"本工作簿的数字由程序从 {n_articles} 篇新闻报道中自动摘录（报道列表见“{SHEET_SOURCES}”），"
        f"每个数字都附有原文摘录，可在“{SHEET_FACTS}”中逐条核对。报道中的数字不是统计部门发布的正式统计数据，"
        f"对外引用前请核对原文。报道的发布日期多为根据内容推定，推定依据见“{SHEET_SOURCES}”的“日期依据”列。"
    )
    tiers = tier_counts(facts)
    if tiers:
        official = tiers.get("official", 0)
        text += (f"另有 {sum(tiers.values())} 条统计数字（如常住人口、地区生产总值），其中 {official} 条来自统计部门"
                 "或政府网站（官方统计），其余为公报转载、二手来源或来源未核实；“明细”的“来源类别”列逐条注明，"
                 "并列出出处与链接。同一地区同一时期两者都有时，汇总表采用来源类别较可靠的数字。")
    if len(layout.per_capita) or len(layout.checks):
        text += (f"“{SHEET_PER_CAPITA}”用统计数字作分母，把报道数字换算为每万常住人口或每亿元地区生产"
                 f"总值的数值；“{SHEET_CHECK}”把报道中的人口、经济数字与统计数字逐条对照。")
    return text


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


# --- 来源, 指标, 地区: reference sheets


def write_sources(layout: Layout, ws: Worksheet) -> None:
    """The articles and statistics tables the figures come from; the printed part reads in Chinese, the
    manifest's own notes, files and links sit to its right."""
    articles = layout.data.articles
    counts = layout.facts["article_id"].value_counts()
    dated = articles[["published", "published_precision"]].itertuples(index=False)
    articles = articles.assign(
        n_in_export=articles["article_id"].map(counts).fillna(0).astype(int),
        region=articles["primary_region_name"],
        outlet_text=articles["outlet"].where(articles["outlet"].astype(str).str.strip() != "", NO_SOURCE[0]),
        published_text=[_published_text(p, q) for p, q in dated],
        date_basis=[date_basis(s, n) for s, n in zip(articles["published_source"], articles["published_note"],
                                                     strict=True)],
    ).sort_values(["published", "article_id"], kind="stable")
    columns = [
        Column("文章标题", "Title", "title", "zt_wrap", 40),
        Column("媒体", "Outlet", "outlet_text", "zt_wrap", 16),
        Column("发布日期", "Published", "published_text", max_width=12),
        Column("日期依据", "Date basis", "date_basis", "zt_small", 22),
        Column("主要地区", "Main region", "region", max_width=10),
        Column("本表数字", "Figures here", "n_in_export", "zt_count", 9),
        Column("链接", "URL", "url", max_width=30),
        Column("清单原注", "Manifest note", "published_note", "zt_small", 40),
        Column("文件", "File", "file", "zt_small", 20),
    ]
    write_table(ws, columns, articles, printed=6)


DATE_BASIS = {"manifest": "清单所列日期", "inferred": "据正文所提最晚年月推定", STATISTICS: "表中最新年份的年末"}


def date_basis(source: object, note: object) -> str:
    """Where an article's date comes from, in Chinese (the manifest's own note is kept beside, as written)."""
    basis = DATE_BASIS.get(str(source), "清单所列日期")
    if str(source) == "manifest" and "estimat" in str(note).lower():
        return f"{basis}（据内容估计）"
    return basis


def _published_text(published: object, precision: object) -> str:
    date = pd.to_datetime(published, errors="coerce")
    if pd.isna(date):
        return ""
    return {"year": f"{date:%Y}年", "month": f"{date.year}年{date.month}月"}.get(str(precision),
                                                                            f"{date:%Y-%m-%d}")


def write_indicators(layout: Layout, ws: Worksheet) -> None:
    counts = layout.facts["indicator_code"].value_counts().add(
        layout.per_capita["indicator_code"].value_counts(), fill_value=0)  # derived ones count their rows
    indicators = layout.data.indicators
    indicators = indicators.assign(
        unit_zh=indicators["unit"].map(layout.unit_zh),
        unit_en=indicators["unit"].map(layout.unit_en),
        headline_zh=np.where(indicators["headline"].astype(bool), "是", ""),
        n_in_export=indicators["code"].map(counts).fillna(0).astype(int),
        description_text=indicators["description_zh"].where(indicators["description_zh"] != "", "（未写明）"),
    )
    columns = [
        Column("指标", "Indicator", "name_zh", max_width=24),
        Column("指标族", "Family", "family_name_zh", max_width=14),
        Column("单位", "Unit", "unit_zh", max_width=10),
        Column("重点指标", "Headline", "headline_zh", max_width=9),
        Column("含义", "Definition", "description_text", "zt_small", 50),
        Column("本表数字", "Figures here", "n_in_export", "zt_count", 9),
        Column("英文名称", "Name (English)", "name_en", max_width=34),
        Column("指标族（英文）", "Family (English)", "family_name_en", max_width=26),
        Column("单位（英文）", "Unit (English)", "unit_en", max_width=18),
        Column("含义（英文）", "Definition (English)", "description", "zt_small", 50),
        Column("指标代码", "Code", "code", max_width=32),
    ]
    write_table(ws, columns, indicators, printed=6)


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
        Column("层级", "Level", "level_zh", max_width=14),
        Column("上级地区", "Parent", "parent_name", max_width=14),
        Column("别名", "Aliases", "aliases_text", "zt_wrap", 24),
        Column("本表数字", "Figures here", "n_in_export", "zt_count", 9),
        Column("地区代码", "Code", "code", max_width=12),
        Column("英文名称", "Name (English)", "name_en", "zt_wrap", 40),
        Column("上级代码", "Parent code", "parent_code", max_width=12),
        Column("备注", "Note", "note", "zt_small", 50),
    ]
    write_table(ws, columns, ordered, printed=6)
    for r, (code, name) in enumerate(zip(ordered["code"], ordered["name_zh"], strict=True), start=3):
        put_text(ws, r, 1, name, f"zt_region{min(layout.tree.depth.get(code, 0), 3)}")
