"""The officials' workbook: sheets, headers, numbers equal to the database's, formats, safety, filters."""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from etl.curate.comparable import period_label
from etl.jobs.cli import main
from etl.jobs.refresh import run
from etl.paths import PROJECT_ROOT
from etl.store import schema
from etl.store.publish import read_table
from etl.store.schema import make_engine
from etl.vocabulary import PERIOD_SOURCE_LABELS
from etl.workbook.data import ExportData, ExportFilters, load_export_data
from etl.workbook.export import export_to_file, workbook_bytes, write_workbook
from etl.workbook.frames import RegionTree, crosscheck_rows, pivot_cells, text_lines
from etl.workbook.grids import CHECK_COLUMNS, FACT_SHEET_COLUMNS, PER_CAPITA_COLUMNS
from etl.workbook.layout import SHEET_CHECK, SHEET_FACTS, SHEET_NAMES, SHEET_PER_CAPITA, SHEET_SUMMARY

FACT_HEADERS_ZH = [c.zh for c in FACT_SHEET_COLUMNS]
PER_CAPITA_HEADERS_ZH = [c.zh for c in PER_CAPITA_COLUMNS]
CHECK_HEADERS_ZH = [c.zh for c in CHECK_COLUMNS]
FIRST_DATA_ROW = 5  # title, note, Chinese header, English header
OWN_FORMULA = re.compile(r"=[A-Z]+\d+/[A-Z]+\d+\*[A-Z]+\d+")  # numerator / denominator * scale
INJECTED_QUOTE = '=HYPERLINK("http://x","点击")嘉兴新增就业大学生1.8万人。'
INJECTED_TITLE = "@SUM(1+1)嘉兴人才快讯"
INJECTED_OUTLET = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def seed_workbook(seed_db_url, tmp_path_factory) -> Path:
    return export_to_file(seed_db_url, tmp_path_factory.mktemp("export") / "talent.xlsx")


@pytest.fixture(scope="module")
def seed_book(seed_workbook) -> Workbook:
    """The seed workbook loaded once (formulas as written), for tests that only read it."""
    return load_workbook(seed_workbook)


def seed_table(db_url: str, name: str) -> pd.DataFrame:
    engine = make_engine(db_url)
    try:
        return read_table(engine, name)
    finally:
        engine.dispose()


def read_facts_sheet(path: Path) -> pd.DataFrame:
    """The facts sheet as pandas sees it: Chinese header row, English row skipped."""
    return pd.read_excel(path, sheet_name=SHEET_FACTS, header=0, skiprows=[1], dtype={"事实编号": str})


def cover_section(source: Path | Workbook, title: str) -> dict[str, object]:
    """Label → value rows of one section of the cover."""
    workbook = source if isinstance(source, Workbook) else load_workbook(source)
    rows = list(workbook["说明"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == title) + 1
    section = {}
    for label, value, *_ in rows[start:]:
        if label is None or str(label).endswith(tuple("abcdefghijklmnopqrstuvwxyz")):
            break
        section[label] = value
    return section


def test_sheets_are_named_in_reading_order(seed_workbook):
    assert load_workbook(seed_workbook).sheetnames == list(SHEET_NAMES)
    assert list(SHEET_NAMES) == ["说明", "汇总", "图表", "人均指标", "明细", "核对", "来源", "指标", "地区"]


def test_facts_sheet_has_bilingual_headers_filter_and_frozen_panes(seed_workbook):
    ws = load_workbook(seed_workbook)[SHEET_FACTS]
    assert [c.value for c in ws[1]] == FACT_HEADERS_ZH
    assert [c.value for c in ws[2]] == [c.en for c in FACT_SHEET_COLUMNS]
    assert ws.freeze_panes == "B3"
    assert ws.auto_filter.ref.startswith("A2:")
    assert ws.print_title_rows == "$1:$2"
    assert ws.page_setup.orientation == "landscape"


def test_every_current_fact_is_in_the_sheet_with_the_databases_number(seed_workbook, db_facts):
    sheet = read_facts_sheet(seed_workbook).set_index("事实编号")
    assert sorted(sheet.index) == sorted(db_facts["fact_id"])
    db = db_facts.set_index("fact_id")
    scale = db["unit"].eq("percent").map({True: 100.0, False: 1.0})
    assert (sheet.loc[db.index, "数值"] * scale).to_numpy() == pytest.approx(db["value"].to_numpy())
    assert (sheet.loc[db.index, "年份"] == db["year"]).all()
    assert (sheet.loc[db.index, "原文摘录"] == db["quote"]).all()
    labels = {code: zh for code, (zh, _) in PERIOD_SOURCE_LABELS.items()}
    assert (sheet.loc[db.index, "时期依据"] == db["period_source"].map(labels)).all()


def test_numbers_carry_formats_an_official_expects(seed_workbook, db_facts):
    ws = load_workbook(seed_workbook)[SHEET_FACTS]
    by_id = {ws.cell(row=r, column=len(FACT_SHEET_COLUMNS)).value: r for r in range(3, ws.max_row + 1)}
    value_col = FACT_HEADERS_ZH.index("数值") + 1
    for fact in db_facts.itertuples():
        cell = ws.cell(row=by_id[fact.fact_id], column=value_col)
        assert isinstance(cell.value, (int, float))
        if fact.unit == "percent":
            assert cell.number_format.endswith("%")
        elif fact.unit == "person" and float(fact.value).is_integer():
            assert "#,##0" in cell.number_format
        if fact.qualifier == "over":
            assert cell.number_format.startswith('"≥"')
        if fact.qualifier == "approx":
            assert cell.number_format.startswith('"≈"')
    quote = ws.cell(row=3, column=FACT_HEADERS_ZH.index("原文摘录") + 1)
    assert quote.alignment.wrap_text
    published = ws.cell(row=3, column=FACT_HEADERS_ZH.index("发布日期") + 1)
    assert published.is_date


def test_summary_shows_the_headline_figure_in_the_articles_wan_with_the_unit_in_the_header(seed_workbook, db_facts):
    ws = load_workbook(seed_workbook)[SHEET_SUMMARY]
    talent = db_facts[(db_facts["indicator_code"] == "talent_total") & (db_facts["region_name"] == "嘉兴市")]
    assert len(talent) and "万" in talent["number_text"].iloc[0], "the seed articles write Jiaxing's talent in 万"
    rows = list(ws.iter_rows(values_only=False))
    block = next(i for i, row in enumerate(rows) if str(row[0].value).startswith("人才资源总量（单位："))
    assert rows[block][0].value == "人才资源总量（单位：万人）"
    header = [c.value for c in rows[block + 1]]
    assert header[0] == "时点数 · 地级市" and header[1] == f"截至{int(talent['year'].iloc[0])}年"
    jiaxing = rows[block + 2]
    assert jiaxing[0].value == "嘉兴市"
    assert jiaxing[1].value == pytest.approx(talent["value"].iloc[0] / 1e4)
    assert jiaxing[1].data_type == "n" and "#,##0.0#" in jiaxing[1].number_format


def test_summary_marks_lower_bounds_in_the_format_not_the_value(seed_workbook):
    ws = load_workbook(seed_workbook)[SHEET_SUMMARY]
    marked = [c for row in ws.iter_rows() for c in row if c.number_format.startswith('"≥"')]
    assert marked, "the seed data has 超/以上 figures among the headline indicators"
    assert all(isinstance(c.value, (int, float)) for c in marked)


def test_the_seed_has_no_two_comparable_regions_so_the_chart_sheet_says_why(seed_workbook):
    with zipfile.ZipFile(seed_workbook) as package:
        charts = [n for n in package.namelist() if n.startswith("xl/charts/chart")]
    assert not charts, "the seed's figures are of different kinds, periods or levels: nothing to chart"
    ws = load_workbook(seed_workbook)["图表"]
    assert ws.cell(row=4, column=1).value.startswith("筛选后的数据不足以作对比图：需要同一指标、同一口径")
    width = sum(ws.column_dimensions[letter].width for letter in "ABCDEFGHIJK")
    assert "A4:K4" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.row_dimensions[4].height >= text_lines(ws.cell(row=4, column=1).value, width) * 14.5, \
        "the message's row shows all of it"


def test_cover_states_date_counts_and_reading_guide(seed_book, db_facts):
    ws = seed_book["说明"]
    values = {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row[0]}
    assert values["数据截至"]
    assert cover_section(seed_book, "数量")["数字（条）"] == len(db_facts)
    assert cover_section(seed_book, "数量")["统计数字：官方统计（条）"] == (db_facts["source_tier"] == "official").sum()
    assert {"≥", "≤", "≈", "口径", "时期不符"} <= set(cover_section(seed_book, "如何阅读数值"))
    assert set(cover_section(seed_book, "来源类别")) == {"官方统计", "官方公报转载", "二手来源", "来源未核实", "新闻报道"}
    assert "最近一次成功更新" not in str(values["数据截至"]), "数据截至 is the data's period, not the refresh time"
    assert re.fullmatch(r"\d{4}年\d{1,2}月（所收数字所指时期的最晚月份）", values["数据截至"])
    assert values["数据更新时间"]
    assert ws.page_setup.scale == 100 and not ws.sheet_properties.pageSetUpPr.fitToPage


def test_reference_sheets_describe_indicators_and_regions(seed_workbook, db_facts, db_derived):
    workbook = load_workbook(seed_workbook)
    indicators = pd.read_excel(seed_workbook, sheet_name="指标", header=0, skiprows=[1])
    regions = pd.read_excel(seed_workbook, sheet_name="地区", header=0, skiprows=[1])
    assert set(indicators["指标代码"]) == set(db_facts["indicator_code"]) | set(db_derived["indicator_code"])
    assert set(db_facts["region_code"]) <= set(regions["地区代码"])
    assert {"英文名称", "单位", "含义"} <= set(indicators.columns)
    assert {"英文名称", "上级地区", "层级"} <= set(regions.columns)
    assert workbook["地区"].freeze_panes == "B3"


@pytest.fixture(scope="module")
def injected_workbook(tmp_path_factory) -> Path:
    """The seed articles plus one whose text, title and outlet start with formula characters."""
    base = tmp_path_factory.mktemp("inject")
    raw, curated = base / "raw", base / "curated"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", raw)
    curated.mkdir()
    (raw / "900_injection.txt").write_text(f"# {INJECTED_TITLE}\n\n{INJECTED_QUOTE}\n", encoding="utf-8")
    with (raw / "manifest.csv").open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(["900_injection.txt", INJECTED_TITLE, INJECTED_OUTLET, "2024-11",
                                 "test article", "嘉兴市"])
    db_url = f"sqlite:///{curated / 'talent.sqlite'}"
    run(raw, curated, db_url)
    return export_to_file(db_url, base / "talent.xlsx")


def test_text_that_looks_like_a_formula_stays_text(injected_workbook):
    ws = load_workbook(injected_workbook)[SHEET_FACTS]
    cells = {c.value: c for row in ws.iter_rows(min_row=3) for c in row if isinstance(c.value, str)}
    for text in (INJECTED_QUOTE, INJECTED_TITLE, INJECTED_OUTLET):
        assert text in cells, f"{text!r} should be in the facts sheet"
        assert cells[text].data_type == "s"
        assert cells[text].quotePrefix, "Excel's quote prefix keeps it text even when the cell is edited"
    per_capita = load_workbook(injected_workbook)[SHEET_PER_CAPITA]
    quoted = [c for row in per_capita.iter_rows(min_row=FIRST_DATA_ROW) for c in row if c.value == INJECTED_QUOTE]
    assert quoted, "the injected figure is a numerator, so its quote is on the per-capita sheet too"
    assert all(c.data_type == "s" and c.quotePrefix for c in quoted)
    workbook = load_workbook(injected_workbook)
    formulas = {ws.title: [c.value for row in ws.iter_rows() for c in row if c.data_type == "f"]
                for ws in workbook.worksheets}
    assert {title for title, found in formulas.items() if found} == {SHEET_PER_CAPITA}
    assert all(OWN_FORMULA.fullmatch(f) for f in formulas[SHEET_PER_CAPITA]), "only the export's own arithmetic"


def test_sources_sheet_guards_titles_too(injected_workbook):
    ws = load_workbook(injected_workbook)["来源"]
    title = next(c for row in ws.iter_rows(min_row=3) for c in row if c.value == INJECTED_TITLE)
    assert title.data_type == "s" and title.quotePrefix


def test_region_filter_keeps_the_region_and_everything_beneath_it(seed_db_url, tmp_path, db_facts):
    path = export_to_file(seed_db_url, tmp_path / "jx.xlsx", ExportFilters(regions=["嘉兴"], year_from=2024))
    sheet = read_facts_sheet(path)
    regions = pd.read_excel(path, sheet_name="地区", header=0, skiprows=[1])
    engine = make_engine(seed_db_url)
    with engine.connect() as conn:
        all_regions = pd.read_sql(select(schema.regions), conn)
    engine.dispose()
    jiaxing = RegionTree.from_frame(all_regions).descendants(["330400"])
    expected = db_facts[db_facts["region_code"].isin(jiaxing) & (db_facts["year"] >= 2024)]
    assert sorted(sheet["事实编号"]) == sorted(expected["fact_id"])
    assert sheet["地区代码"].astype(str).nunique() > 1, "counties of Jiaxing are kept, not only the city"
    assert "330100" not in set(regions["地区代码"].astype(str))
    assert cover_section(path, "筛选条件") == {"地区": "嘉兴市（含下辖地区）", "年份": "2024年起"}
    for ws in load_workbook(path).worksheets:  # every printed page names the filter
        assert ws.oddHeader.right.text == "筛选：地区 嘉兴市（含下辖地区）；年份 2024年起"


def test_family_and_indicator_filters_combine(seed_db_url, db_facts):
    data = load_export_data(make_engine(seed_db_url), ExportFilters(families=("high_level_talent",),
                                                                  indicators=("doctors",)))
    assert set(data.facts["indicator_code"]) == {"doctors"}
    assert len(data.facts) == ((db_facts["family"] == "high_level_talent")
                               & (db_facts["indicator_code"] == "doctors")).sum()
    assert set(data.derived["indicator_code"]) == {"doctors_per_10k_residents"}, "matched on its numerator"
    assert set(data.indicators["code"]) == {"doctors", "doctors_per_10k_residents"}


@pytest.mark.parametrize("filters, message", [
    (ExportFilters(regions=("上海",)), "unknown region"),
    (ExportFilters(families=("talent",)), "unknown family"),
    (ExportFilters(indicators=("nope",)), "unknown indicator"),
    (ExportFilters(year_from=2025, year_to=2024), "after year_to"),
])
def test_a_filter_naming_nothing_known_stops_with_a_sentence(seed_db_url, filters, message):
    with pytest.raises(ValueError, match=message):
        load_export_data(make_engine(seed_db_url), filters)


def test_rejected_and_retired_facts_are_not_exported(seed_db_url):
    engine = make_engine(seed_db_url)
    with engine.connect() as conn:
        tables = {name: pd.read_sql(select(schema.metadata.tables[name]), conn)
                  for name in ("facts", "articles", "indicators", "regions")}
    engine.dispose()
    facts = tables["facts"].copy()
    facts.loc[0, "status"], facts.loc[1, "status"] = "rejected", "retired"
    data = ExportData.from_frames(facts, tables["articles"], tables["indicators"], tables["regions"],
                                  ExportFilters(), "2025-01-01")
    assert set(facts["fact_id"][:2]).isdisjoint(data.facts["fact_id"])
    assert len(data.facts) == (~facts["status"].isin(["rejected", "retired"])).sum()
    workbook = load_workbook(io.BytesIO(workbook_bytes(data)))
    assert workbook.sheetnames == list(SHEET_NAMES)


def test_crash_while_writing_keeps_the_last_good_workbook(seed_db_url, tmp_path, monkeypatch):
    target = export_to_file(seed_db_url, tmp_path / "talent.xlsx")
    good = target.read_bytes()

    def broken_save(workbook, streamed, out):
        out.write(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr("etl.workbook.export.save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_to_file(seed_db_url, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["talent.xlsx"]


def test_control_characters_and_spaces_survive_the_streamed_sheet(seed_db_url):
    data = load_export_data(make_engine(seed_db_url))
    data.facts.loc[0, "quote"] = "  leading spaces\x01 and a bell\x07"
    data.facts.loc[1, "review_reason"] = "a < b & c > d"
    sheet = read_facts_sheet(io.BytesIO(workbook_bytes(data)))
    assert "  leading spaces and a bell" in set(sheet["原文摘录"])
    assert "a < b & c > d" in set(sheet["复核原因"])


def test_cli_writes_the_workbook_and_refuses_unknown_names(seed_db_url, tmp_path, capsys):
    out = tmp_path / "cli.xlsx"
    assert main(["export", "--out", str(out), "--db", seed_db_url, "--family", "talent_total",
                 "graduates_and_young", "--year-to", "2025"]) == 0
    families = set(read_facts_sheet(out)["指标族"])
    assert families <= {"人才总量", "大学生与青年人才"}
    bad = tmp_path / "bad.xlsx"
    assert main(["export", "--out", str(bad), "--db", seed_db_url, "--region", "上海"]) == 2
    assert not bad.exists()
    assert "unknown region" in capsys.readouterr().err


def test_a_summary_cell_holds_one_comparable_set_and_prefers_a_checked_figure():
    facts = pd.DataFrame({
        "indicator_code": ["x"] * 4, "region_code": ["330400"] * 4, "region_level": ["city"] * 4,
        "year": [2024] * 4, "status": ["extracted", "corrected", "extracted", "extracted"],
        "period_kind": ["year", "year", "partial_year", "cumulative"],
        "period_start": ["2024-01-01", "2024-01-01", "2024-01-01", "2019-01-01"],
        "period_end": ["2024-12-31", "2024-12-31", "2024-08-31", "2024-10-01"],
        "published": pd.to_datetime(["2025-01-01"] * 4), "char_start": [1, 2, 3, 4],
        "value": [10.0, 8.0, 6.0, 30.0], "qualifier": ["exact"] * 4, "source_kind": ["article"] * 4,
        "source_tier": ["press"] * 4,
    })
    cells = pivot_cells(facts, ["x"]).set_index("cmp_kind")
    assert sorted(cells.index) == ["cumulative:2019-01", "partial_year:01-08", "year"]
    assert cells.loc["year", "value"] == 8.0 and cells.loc["year", "n_values"] == 2
    assert (cells.loc["cumulative:2019-01", "value"], cells.loc["cumulative:2019-01", "cmp_period"]) == (30.0, "2024-10")
    targets = facts.assign(qualifier="target")
    assert pivot_cells(targets, ["x"]).empty


@pytest.mark.parametrize("kind, start, end, label", [
    ("year", "2023-01-01", "2023-12-31", "2023年"),
    ("partial_year", "2024-01-01", "2024-08-31", "2024年1–8月"),
    ("cumulative", "2019-01-01", "2024-10-01", "2019年以来累计（至2024年10月）"),
    ("as_of", "2024-10-01", "2024-10-01", "截至2024年10月"),
    ("as_of_publication", None, "2025-12-01", "截至发稿（2025年12月）"),
])
def test_periods_read_as_an_official_writes_them(kind, start, end, label):
    assert period_label(kind, start, end) == label


def test_write_workbook_replaces_an_existing_file(seed_db_url, tmp_path):
    data = load_export_data(make_engine(seed_db_url))
    target = tmp_path / "out" / "talent.xlsx"
    write_workbook(data, target)
    first = target.stat().st_ino
    write_workbook(data, target)
    assert target.stat().st_ino != first, "a new file is renamed into place, not rewritten in place"
    assert target.stat().st_mode & 0o044 == 0o044


# --- 人均指标 (per-capita values) and 核对 (cross-check)


def read_fair_sheet(path: Path | io.BytesIO, sheet: str) -> pd.DataFrame:
    """A per-capita or cross-check sheet as pandas sees it (cached results): Chinese headers, one row a value."""
    return pd.read_excel(path, sheet_name=sheet, header=0, skiprows=[0, 1, 3],
                         dtype={"地区代码": str, "分子事实编号": str, "报道事实编号": str})


def sheet_row(ws, column_zh: list[str], **match: object) -> int:
    """The sheet row whose cells equal `match` (Chinese header → value); exactly one must."""
    index = {name: column_zh.index(name) + 1 for name in match}
    rows = [r for r in range(FIRST_DATA_ROW, ws.max_row + 1)
            if all(ws.cell(row=r, column=index[name]).value == value for name, value in match.items())]
    assert len(rows) == 1, f"{match} matches rows {rows}"
    return rows[0]


def evaluate(ws, formula: str) -> float:
    """`=D5/H5*K5` worked out from the cells it names, as Excel would."""
    numerator, denominator, scale = re.findall(r"[A-Z]+\d+", formula)
    return ws[numerator].value / ws[denominator].value * ws[scale].value


@pytest.fixture(scope="module")
def db_derived(seed_db_url) -> pd.DataFrame:
    return seed_table(seed_db_url, "derived_facts")


def test_fair_comparison_sheets_have_bilingual_headers_and_frozen_panes(seed_book):
    for sheet, columns in ((SHEET_PER_CAPITA, PER_CAPITA_COLUMNS), (SHEET_CHECK, CHECK_COLUMNS)):
        ws = seed_book[sheet]
        assert [c.value for c in ws[3]] == [c.zh for c in columns]
        assert [c.value for c in ws[4]] == [c.en for c in columns]
        assert ws.freeze_panes == f"B{FIRST_DATA_ROW}"
        assert ws.print_title_rows == "$3:$4"
        assert ws.page_setup.orientation == "landscape"
    assert {"地区", "指标", "年份", "分子时期", "分子：报道数字", "分子单位", "分子出处（文章）", "分母：统计数字",
            "分母年份", "分母来源类别", "分母出处", "换算", "结果", "状态", "说明"} <= set(PER_CAPITA_HEADERS_ZH)
    assert {"报道数字", "统计数字", "报道年份", "统计年份", "统计来源类别", "相对差异", "相符", "原文摘录",
            "统计来源"} <= set(CHECK_HEADERS_ZH)
    printed = seed_book[SHEET_PER_CAPITA].print_area
    assert printed.endswith(f"$L${seed_book[SHEET_PER_CAPITA].max_row}") and PER_CAPITA_HEADERS_ZH[11] == "说明", \
        "the printed page ends with the note that says why a rate is missing"


def test_per_capita_sheet_lists_every_derived_value(seed_workbook, db_derived):
    sheet = read_fair_sheet(seed_workbook, SHEET_PER_CAPITA)
    assert sorted(sheet["分子事实编号"]) == sorted(db_derived["numerator_fact_id"])
    has_value = sheet["结果"].notna()
    assert list(has_value) == sorted(has_value, reverse=True), "results first, rows without a denominator last"


def test_jiaxing_talent_per_10k_residents_shows_its_arithmetic(seed_workbook, seed_book):
    ws = seed_book[SHEET_PER_CAPITA]
    r = sheet_row(ws, PER_CAPITA_HEADERS_ZH, 地区代码="330400", 指标代码="talent_total_per_10k_residents")
    cell = {name: ws.cell(row=r, column=i) for i, name in enumerate(PER_CAPITA_HEADERS_ZH, start=1)}
    expected = 1290700 / 5584000 * 10000
    assert cell["分子：报道数字"].value == 1290700
    assert cell["分母：统计数字"].value == 5584000
    assert cell["分子时期"].value == "截至2024年10月"
    assert cell["分母来源类别"].value in ("官方统计", "官方公报转载", "二手来源", "来源未核实")
    assert cell["换算"].value == 10000
    assert cell["分母年份"].value == 2023 and cell["年份"].value == 2024
    assert cell["状态"].value == "代用年份"
    assert "2023" in cell["说明"].value
    assert cell["分母出处"].value, "the denominator names its statistics source"
    assert cell["分子出处（文章）"].value, "the numerator names its article"
    formula = cell["结果"].value
    assert OWN_FORMULA.fullmatch(formula) and evaluate(ws, formula) == pytest.approx(expected)
    assert cell["结果"].number_format == "#,##0.00"
    cached = load_workbook(seed_workbook, data_only=True)[SHEET_PER_CAPITA].cell(row=r, column=cell["结果"].column)
    assert cached.value == pytest.approx(expected), "the stored value is the formula's cached result"


def test_per_capita_result_carries_the_numerators_qualifier_mark(seed_book):
    ws = seed_book[SHEET_PER_CAPITA]
    r = sheet_row(ws, PER_CAPITA_HEADERS_ZH, 地区代码="330400", 指标代码="skilled_talent_per_10k_residents")
    result = ws.cell(row=r, column=PER_CAPITA_HEADERS_ZH.index("结果") + 1)
    numerator = ws.cell(row=r, column=PER_CAPITA_HEADERS_ZH.index("分子：报道数字") + 1)
    assert result.number_format.startswith('"≥"') and numerator.number_format.startswith('"≥"')
    assert result.data_type == "f", "the mark is in the format; the cell stays arithmetic"


def test_a_row_without_denominator_shows_the_reason_and_no_number(seed_book, db_derived):
    ws = seed_book[SHEET_PER_CAPITA]
    missing = db_derived[(db_derived["status"] == "no_denominator")
                         & (db_derived["indicator_code"] == "doctors_per_10k_residents")
                         & (db_derived["region_name"] == "秀洲区")]
    assert len(missing) == 1, "the seed data has no population figure for 秀洲区"
    r = sheet_row(ws, PER_CAPITA_HEADERS_ZH, 分子事实编号=missing["numerator_fact_id"].iloc[0])
    cell = {name: ws.cell(row=r, column=i) for i, name in enumerate(PER_CAPITA_HEADERS_ZH, start=1)}
    assert cell["结果"].value is None, "empty, never 0"
    assert cell["分母：统计数字"].value is None and cell["分母年份"].value is None
    assert cell["状态"].value == "无分母"
    assert cell["说明"].value.startswith("没有秀洲区") and "统计数字" in cell["说明"].value
    assert cell["分子：报道数字"].value == 84


def test_crosscheck_sheet_puts_the_article_figure_beside_the_official_one(seed_book):
    ws = seed_book[SHEET_CHECK]
    r = sheet_row(ws, CHECK_HEADERS_ZH, 地区="嘉兴市", 指标代码="resident_population")
    cell = {name: ws.cell(row=r, column=i) for i, name in enumerate(CHECK_HEADERS_ZH, start=1)}
    assert cell["报道数字"].value == 5500000 and cell["报道数字"].number_format.startswith('"≥"')
    assert cell["统计数字"].value == 5584000 and cell["统计年份"].value == 2023
    assert cell["统计来源类别"].value == "官方公报转载"
    assert cell["报道年份"].value == 2024
    assert cell["相对差异"].value == pytest.approx((5500000 - 5584000) / 5584000)
    assert cell["相对差异"].number_format.endswith("%")
    assert cell["相符"].value == "是" and cell["相符"].style == "zt_yes"
    assert cell["原文摘录"].value.startswith("在嘉兴550多万常住人口中")
    assert "人口" in cell["统计来源"].value


def test_crosscheck_rows_put_the_worst_first():
    frame = pd.DataFrame({
        "article_fact_id": ["a", "b", "c"], "region_code": ["1", "2", "3"], "article_id": ["x"] * 3,
        "indicator_code": ["gdp"] * 3, "article_qualifier": ["approx", "over", "exact"],
        "relative_difference": [0.30, -0.02, 0.001], "consistent": [True, False, True],
    })
    rows = crosscheck_rows(frame, pd.DataFrame({"article_id": ["x"], "title": ["t"]}),
                           pd.DataFrame({"code": ["gdp"], "unit": ["yuan"]}))
    assert list(rows["article_fact_id"]) == ["b", "a", "c"], "not consistent first, then the larger gap"
    assert list(rows["consistent_zh"]) == ["否", "是", "是"]


def test_cover_guides_to_the_new_sheets(seed_book, db_derived):
    assert {SHEET_PER_CAPITA, SHEET_CHECK} <= set(cover_section(seed_book, "工作表"))
    assert {"代用年份", "无分母", "时期不符"} <= set(cover_section(seed_book, "如何阅读数值"))
    counts = cover_section(seed_book, "数量")
    assert counts["人均指标（条）"] == len(db_derived)
    assert counts["其中已计算"] == db_derived["value"].notna().sum()
    assert counts["核对（条）"] == 1


def test_filters_apply_to_per_capita_and_crosscheck_rows(seed_db_url):
    engine = make_engine(seed_db_url)
    jiaxing = load_export_data(engine, ExportFilters(regions=("嘉兴",)))
    assert set(jiaxing.derived["region_name"]) >= {"嘉兴市", "秀洲区"}
    assert not {"拱墅区", "衢州智造新城"} & set(jiaxing.derived["region_name"])
    assert list(jiaxing.crosscheck["region_name"]) == ["嘉兴市"]
    hangzhou = load_export_data(engine, ExportFilters(regions=("杭州",)))
    assert set(hangzhou.derived["region_name"]) == {"拱墅区"} and hangzhou.crosscheck.empty
    talent = load_export_data(engine, ExportFilters(families=("talent_total",)))
    assert set(talent.derived["indicator_code"]) == {"talent_total_per_10k_residents"}
    assert talent.crosscheck.empty
    graduates = load_export_data(engine, ExportFilters(indicators=("new_graduates",)))
    assert set(graduates.derived["indicator_code"]) == {"new_graduates_per_10k_residents"}
    early = load_export_data(engine, ExportFilters(year_to=2023))
    assert set(early.derived["year"]) <= {2022, 2023} and len(early.derived)
    assert early.crosscheck.empty, "the article figure is from 2024"
    engine.dispose()
    sheet = read_fair_sheet(io.BytesIO(workbook_bytes(talent)), SHEET_PER_CAPITA)
    assert set(sheet["指标代码"]) == {"talent_total_per_10k_residents"}
    empty = load_workbook(io.BytesIO(workbook_bytes(talent)))[SHEET_CHECK]
    assert empty.cell(row=4, column=1).value.startswith("本工作簿中没有"), "an empty sheet says why"


def test_database_without_the_fair_comparison_tables_still_exports(seed_db_url, tmp_path):
    copy = tmp_path / "old.sqlite"
    shutil.copy(seed_db_url.removeprefix("sqlite:///"), copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DROP TABLE derived_facts")
        conn.execute("DROP TABLE crosscheck")
    data = load_export_data(make_engine(f"sqlite:///{copy}"))
    assert data.derived.empty and data.crosscheck.empty and len(data.facts)
    workbook = load_workbook(io.BytesIO(workbook_bytes(data)))
    assert workbook.sheetnames == list(SHEET_NAMES)
    assert workbook[SHEET_PER_CAPITA].cell(row=4, column=1).value.startswith("本工作簿中没有人均指标")
