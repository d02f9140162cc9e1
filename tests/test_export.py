"""The officials' workbook: sheets, headers, numbers equal to the database's, formats, safety, filters."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from etl import schema
from etl.__main__ import main
from etl.export import (
    ExportData,
    ExportFilters,
    export_to_file,
    load_export_data,
    workbook_bytes,
    write_workbook,
)
from etl.export_frames import RegionTree, period_label, pivot_cells
from etl.export_sheets import FACT_COLUMNS, SHEET_FACTS, SHEET_NAMES, SHEET_SUMMARY
from etl.paths import PROJECT_ROOT
from etl.pipeline import run
from etl.schema import make_engine

FACT_HEADERS_ZH = [c.zh for c in FACT_COLUMNS]
INJECTED_QUOTE = '=HYPERLINK("http://x","点击")嘉兴新增就业大学生1.8万人。'
INJECTED_TITLE = "@SUM(1+1)嘉兴人才快讯"
INJECTED_OUTLET = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def seed_workbook(seed_db_url, tmp_path_factory) -> Path:
    return export_to_file(seed_db_url, tmp_path_factory.mktemp("export") / "talent.xlsx")


@pytest.fixture(scope="module")
def db_facts(seed_db_url) -> pd.DataFrame:
    engine = make_engine(seed_db_url)
    with engine.connect() as conn:
        facts = pd.read_sql(select(schema.facts), conn)
    engine.dispose()
    return facts[~facts["status"].isin(["rejected", "retired"])]


def read_facts_sheet(path: Path) -> pd.DataFrame:
    """The facts sheet as pandas sees it: Chinese header row, English row skipped."""
    return pd.read_excel(path, sheet_name=SHEET_FACTS, header=0, skiprows=[1], dtype={"事实编号": str})


def cover_section(path: Path, title: str) -> dict[str, object]:
    """Label → value rows of one section of the cover."""
    rows = list(load_workbook(path)["说明"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == title) + 1
    section = {}
    for label, value, *_ in rows[start:]:
        if label is None or str(label).endswith(tuple("abcdefghijklmnopqrstuvwxyz")):
            break
        section[label] = value
    return section


def test_sheets_are_named_in_reading_order(seed_workbook):
    assert load_workbook(seed_workbook).sheetnames == list(SHEET_NAMES)


def test_facts_sheet_has_bilingual_headers_filter_and_frozen_panes(seed_workbook):
    ws = load_workbook(seed_workbook)[SHEET_FACTS]
    assert [c.value for c in ws[1]] == FACT_HEADERS_ZH
    assert [c.value for c in ws[2]] == [c.en for c in FACT_COLUMNS]
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


def test_numbers_carry_formats_an_official_expects(seed_workbook, db_facts):
    ws = load_workbook(seed_workbook)[SHEET_FACTS]
    by_id = {ws.cell(row=r, column=len(FACT_COLUMNS)).value: r for r in range(3, ws.max_row + 1)}
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


def test_summary_shows_the_headline_figure_numeric_with_its_unit(seed_workbook, db_facts):
    ws = load_workbook(seed_workbook)[SHEET_SUMMARY]
    talent = db_facts[(db_facts["indicator_code"] == "talent_total") & (db_facts["region_name"] == "嘉兴市")]
    assert len(talent), "the seed articles report Jiaxing's talent total"
    rows = list(ws.iter_rows(values_only=False))
    block = next(i for i, row in enumerate(rows) if str(row[0].value).startswith("人才资源总量（单位：人）"))
    years = [c.value for c in rows[block + 1]]
    jiaxing = next(row for row in rows[block + 3:] if row[0].value == "嘉兴市")
    year = int(talent["year"].iloc[0])
    cell = jiaxing[years.index(f"{year}年")]
    assert cell.value == pytest.approx(talent["value"].iloc[0])
    assert cell.data_type == "n" and "#,##0" in cell.number_format


def test_summary_marks_lower_bounds_in_the_format_not_the_value(seed_workbook):
    ws = load_workbook(seed_workbook)[SHEET_SUMMARY]
    marked = [c for row in ws.iter_rows() for c in row if c.number_format.startswith('"≥"')]
    assert marked, "the seed data has 超/以上 figures among the headline indicators"
    assert all(isinstance(c.value, (int, float)) for c in marked)


def test_workbook_has_a_native_chart(seed_workbook):
    with zipfile.ZipFile(seed_workbook) as package:
        charts = [n for n in package.namelist() if n.startswith("xl/charts/chart")]
    assert charts


def test_cover_states_date_counts_and_reading_guide(seed_workbook, db_facts):
    ws = load_workbook(seed_workbook)["说明"]
    values = {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row[0]}
    assert values["数据截至"]
    assert cover_section(seed_workbook, "数量 Counts")["数字（条）"] == len(db_facts)
    assert {"≥", "≤", "≈"} <= set(cover_section(seed_workbook, "如何阅读数值 Reading the figures"))
    assert ws.page_setup.fitToHeight == 1


def test_reference_sheets_describe_indicators_and_regions(seed_workbook, db_facts):
    workbook = load_workbook(seed_workbook)
    indicators = pd.read_excel(seed_workbook, sheet_name="指标", header=0, skiprows=[1])
    regions = pd.read_excel(seed_workbook, sheet_name="地区", header=0, skiprows=[1])
    assert set(indicators["指标代码"]) == set(db_facts["indicator_code"])
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
    with zipfile.ZipFile(injected_workbook) as package:
        sheets = [package.read(n) for n in package.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any(b"<f>" in xml or b"<f " in xml for xml in sheets)


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
    assert cover_section(path, "筛选条件 Filters") == {"地区": "嘉兴市（含下辖地区）", "年份": "2024年起"}


def test_family_and_indicator_filters_combine(seed_db_url, db_facts):
    data = load_export_data(make_engine(seed_db_url), ExportFilters(families=("high_level_talent",),
                                                                  indicators=("doctors",)))
    assert set(data.facts["indicator_code"]) == {"doctors"}
    assert len(data.facts) == ((db_facts["family"] == "high_level_talent")
                               & (db_facts["indicator_code"] == "doctors")).sum()
    assert set(data.indicators["code"]) == {"doctors"}


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

    monkeypatch.setattr("etl.export.save", broken_save)
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


def test_pivot_cell_prefers_a_checked_whole_year_figure_and_counts_the_others():
    facts = pd.DataFrame({
        "indicator_code": ["x"] * 3, "region_code": ["330400"] * 3, "year": [2024] * 3,
        "status": ["extracted", "corrected", "extracted"], "period_kind": ["year", "partial_year", "cumulative"],
        "period_end": ["2024-12-31", "2024-08-31", "2024-10-01"], "published": pd.to_datetime(["2025-01-01"] * 3),
        "char_start": [1, 2, 3], "value": [10.0, 8.0, 30.0], "qualifier": ["exact"] * 3,
        "source_kind": ["article"] * 3,
    })
    cells = pivot_cells(facts, ["x"])
    assert len(cells) == 1
    assert cells.loc[0, "value"] == 8.0 and cells.loc[0, "n_values"] == 3
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


@pytest.mark.slow
def test_workbook_renders_to_pdf(seed_workbook, tmp_path):
    if shutil.which("libreoffice") is None or shutil.which("pdftoppm") is None:
        pytest.skip("libreoffice or pdftoppm is not installed (apt-get install libreoffice-calc poppler-utils)")
    script = PROJECT_ROOT / "scripts" / "render_workbook.sh"
    result = subprocess.run([str(script), str(seed_workbook), str(tmp_path), "2"], capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "talent.pdf").stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.glob("page-*.png")) == ["page-01.png", "page-02.png"]


def test_write_workbook_replaces_an_existing_file(seed_db_url, tmp_path):
    data = load_export_data(make_engine(seed_db_url))
    target = tmp_path / "out" / "talent.xlsx"
    write_workbook(data, target)
    first = target.stat().st_ino
    write_workbook(data, target)
    assert target.stat().st_ino != first, "a new file is renamed into place, not rewritten in place"
    assert target.stat().st_mode & 0o044 == 0o044
