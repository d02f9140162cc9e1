"""Like with like, everywhere: on a data set that mixes kinds of figure (annual, stock, part-year, running
total), years and levels, no workbook 汇总 column or chart, no dashboard chart series and no per-capita rate
puts them together, and the figures left out are listed with the reason.

The data set is written to a real SQLite database; the workbook is built and re-opened with openpyxl, the
dashboard's figures come from its callbacks on that database.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboard import callbacks, repository
from dashboard.urlstate import from_query
from etl.curate.comparable import Basis, basis_columns, kind_label, when_label
from etl.curate.percapita import crosscheck, derive
from etl.extract.indicators import load_taxonomy
from etl.extract.regions import load_gazetteer
from etl.jobs.batches import indicators_frame, regions_frame
from etl.store.publish import write_tables
from etl.store.schema import make_engine
from etl.vocabulary import FACT_COLUMNS, LEVEL_LABELS, RATE_NUMERATOR_KINDS
from etl.workbook.data import ExportData
from etl.workbook.export import workbook_bytes

ARTICLE = "mixed_article"
STATS = "statistics/mixed"
# (region, indicator, value, qualifier, kind, start, end): every value is unique, so a cell names its figure
FIGURES = [
    ("330105", "talent_projects", 200, "over", "partial_year", "2024-01-01", "2024-09-30"),  # 拱墅 1–9月
    ("330421", "talent_projects", 57, "exact", "partial_year", "2024-01-01", "2024-09-30"),  # 嘉善 1–9月
    ("330481", "talent_projects", 83, "exact", "partial_year", "2024-01-01", "2024-09-30"),  # 海宁 1–9月
    ("330402", "talent_projects", 136, "exact", "as_of_publication", "2024-03-01", "2024-03-01"),  # 南湖 存量
    ("330483", "talent_projects", 27, "exact", "partial_year", "2024-01-01", "2024-03-31"),  # 桐乡 1–3月
    ("330400", "talent_projects", 301, "exact", "partial_year", "2024-01-01", "2024-09-30"),  # 嘉兴 a city
    ("330400", "talent_projects", 907, "exact", "cumulative", "2019-01-01", "2024-09-30"),  # 嘉兴 since 2019
    ("330421", "talent_projects", 95, "target", "year", "2025-01-01", "2025-12-31"),  # a plan
    ("330411", "new_graduates", 18000, "exact", "year", "2023-01-01", "2023-12-31"),  # 秀洲 2023
    ("330411", "new_graduates", 70000, "over", "cumulative", "2020-01-01", "2024-10-31"),  # 秀洲 since 2020
    ("330402", "new_graduates", 20500, "exact", "year", "2023-01-01", "2023-12-31"),
    ("330402", "new_graduates", 22100, "exact", "year", "2024-01-01", "2024-12-31"),
    ("330483", "new_graduates", 16900, "exact", "year", "2022-01-01", "2022-12-31"),
    ("330400", "new_graduates", 500000, "over", "cumulative", "2019-01-01", "2024-10-31"),
    ("330400", "new_graduates", 91000, "exact", "year", "2024-01-01", "2024-12-31"),
    ("330000", "new_graduates", 1_200_000, "exact", "year", "2024-01-01", "2024-12-31"),
]
STATISTICS = [  # resident population: (region, year, value, tier)
    ("330400", 2024, 5_600_000, "official"), ("330402", 2023, 840_000, "secondary"),
    ("330411", 2023, 680_000, "official_repost"), ("330483", 2022, 1_040_000, "secondary"),
    ("330405", 2023, 1, "official"),  # no such region in the data: never a denominator
]


def mixed_tables() -> dict[str, pd.DataFrame]:
    """The figures above as an article's facts, the statistics as a statistics table's, and the tables the
    pipeline derives from them (rates, cross-check) by its own functions."""
    gazetteer, taxonomy = load_gazetteer(), load_taxonomy()
    rows = []
    for n, (code, indicator, value, qualifier, kind, start, end) in enumerate(FIGURES):
        rows.append(fact_row(f"m{n:02d}", ARTICLE, gazetteer.get(code), taxonomy.indicators[indicator], value,
                             qualifier, kind, start, end, "press"))
    for n, (code, year, value, tier) in enumerate(STATISTICS[:-1]):
        rows.append(fact_row(f"s{n:02d}", STATS, gazetteer.get(code), taxonomy.indicators["resident_population"],
                             value, "exact", "as_of", f"{year}-12-31", f"{year}-12-31", tier))
    facts = pd.DataFrame(rows, columns=FACT_COLUMNS)
    articles = pd.DataFrame([
        {"article_id": ARTICLE, "file": "mixed.txt", "sha256": "0" * 64, "title": "各地人才工作综述",
         "outlet": "", "published": pd.Timestamp("2024-11-01"), "published_precision": "day",
         "published_source": "manifest", "published_note": "", "primary_region_code": "330400",
         "primary_region_name": "嘉兴市", "encoding": "utf-8", "n_chars": 100, "n_facts": len(FIGURES)},
        {"article_id": STATS, "file": "statistics/mixed.csv", "sha256": "1" * 64, "title": "统计数据表",
         "outlet": "", "published": pd.Timestamp("2024-12-31"), "published_precision": "year",
         "published_source": "statistics", "published_note": "", "primary_region_code": "330000",
         "primary_region_name": "浙江省", "encoding": "utf-8", "n_chars": 0, "n_facts": 4}])
    return {"facts": facts, "articles": articles, "regions": regions_frame(gazetteer),
            "indicators": indicators_frame(taxonomy), "derived_facts": derive(facts, taxonomy),
            "crosscheck": crosscheck(facts, taxonomy)}


def fact_row(fact_id, article, region, indicator, value, qualifier, kind, start, end, tier) -> dict:
    statistics = article == STATS
    text = f"{value}"
    return {
        "fact_id": fact_id, "article_id": article, "region_code": region.code, "region_name": region.name_zh,
        "region_level": region.level, "indicator_code": indicator.code, "indicator_name_zh": indicator.name_zh,
        "indicator_name_en": indicator.name_en, "family": indicator.family, "value": float(value),
        "value_high": None, "unit": indicator.unit, "qualifier": qualifier, "period_start": start,
        "period_end": end, "period_kind": kind, "year": int(end[:4]), "quote": f"{region.name_zh}{text}",
        "char_start": 0, "char_end": len(text), "quote_start": 0, "quote_end": len(text), "number_text": text,
        "region_source": "sentence", "period_source": "statistics" if statistics else "sentence",
        "status": "extracted", "review_reason": "", "source_kind": "statistics" if statistics else "article",
        "source_title": "统计数据表" if statistics else "", "source_url": "", "source_tier": tier,
    }


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return mixed_tables()


@pytest.fixture(scope="module")
def by_value(tables) -> dict[tuple[str, float], dict]:
    """(indicator, value) → the fact with its comparable set."""
    facts = pd.concat([tables["facts"], basis_columns(tables["facts"])], axis=1)
    return {(r["indicator_code"], float(r["value"])): r for r in facts.to_dict("records")}


# --- the workbook


@pytest.fixture(scope="module")
def book_bytes(tables) -> bytes:
    data = ExportData.from_frames(tables["facts"], tables["articles"], tables["indicators"], tables["regions"],
                                  derived=tables["derived_facts"], crosscheck=tables["crosscheck"])
    return workbook_bytes(data)


@pytest.fixture(scope="module")
def book(book_bytes):
    return load_workbook(io.BytesIO(book_bytes))


def summary_tables(ws) -> list[tuple[str, str, list, list]]:
    """(indicator title, set label, period headers, rows of values) of each small table on 汇总."""
    found, title, current = [], "", None
    for row in ws.iter_rows(min_row=4):
        first = row[0]
        if first.style == "zt_block":
            title, current = str(first.value), None
        elif first.style == "zt_head":
            current = (title, str(first.value), [c.value for c in row[1:]], [])
            found.append(current)
        elif current is not None and first.value:
            current[3].append([c.value for c in row[1:]])
    return found


def test_no_summary_column_mixes_kinds_periods_or_levels(book, by_value):
    found = summary_tables(book["汇总"])
    assert found, "the summary has tables"
    for title, label, headers, rows in found:
        indicator = "talent_projects" if title.startswith("人才项目") else "new_graduates"
        kind_text, _, level_text = label.partition(" · ")
        for column, header in enumerate(headers):
            if not header or header == "注":
                continue
            figures = [by_value[(indicator, float(row[column]))] for row in rows if isinstance(row[column], float | int)]
            for fact in figures:
                assert kind_label(fact["cmp_kind"])[0] == kind_text, (label, fact["fact_id"])
                assert LEVEL_LABELS[fact["cmp_level"]][0] == level_text, (label, fact["fact_id"])
                assert when_label(fact["cmp_kind"], fact["cmp_period"])[0] == header, (header, fact["fact_id"])
    xiuzhou = [(label, headers, rows) for title, label, headers, rows in found if title.startswith("新增就业大学生")]
    annual = next(t for t in xiuzhou if t[0].startswith("年度数 · 县"))
    assert "2024年" in annual[1] and 70000 not in [v for row in annual[2] for v in row], \
        "秀洲's ≥70,000 since 2020 is not in the 2024 column beside the 2023 figure"
    assert any(t[0].startswith("2020年以来累计") for t in xiuzhou), "the running total has its own table"


def test_charts_compare_one_set_and_list_what_they_leave_out(book, book_bytes, by_value):
    ws = book["图表"]
    values = list(ws.iter_rows(values_only=True))
    titles = [i for i, row in enumerate(values) if str(row[0] or "").startswith("人才项目：")]
    assert len(titles) == 1, "one chart: 拱墅, 嘉善 and 海宁 over January–September 2024"
    start = titles[0]
    assert values[start][0] == "人才项目：2024年1–9月数 · 各县（市、区）（个数）"
    charted = [by_value[("talent_projects", float(row[1]))] for row in values[start + 2:start + 5]]
    assert {f["region_name"] for f in charted} == {"拱墅区", "嘉善县", "海宁市"}
    assert len({(f["cmp_kind"], f["cmp_period"], f["cmp_level"]) for f in charted}) == 1
    listed = {str(row[0]): str(row[2]) for row in values[start + 5:] if row[0] and row[2]}
    assert listed["南湖区（嘉兴市）"] == "截至发稿（2024年3月），不是年内部分月份数"
    assert listed["桐乡市（嘉兴市）"] == "2024年1–3月，本图为2024年1–9月数"
    assert listed["嘉兴市"].startswith("嘉兴市属地级市，本图比较各县（市、区）")
    graduates = next(i for i, row in enumerate(values) if str(row[0] or "").startswith("新增就业大学生："))
    assert values[graduates][0] == "新增就业大学生：2023年年度数 · 各县（市、区）（人）"
    charted = [by_value[("new_graduates", float(row[1]))] for row in values[graduates + 2:graduates + 4]]
    assert {f["region_name"] for f in charted} == {"秀洲区", "南湖区"}, "2023's annual figures, not 2024's totals"
    with zipfile.ZipFile(io.BytesIO(book_bytes)) as package:
        assert len([n for n in package.namelist() if n.startswith("xl/charts/chart")]) == 2


def test_no_rate_divides_a_part_year_or_multi_year_figure(book, tables):
    derived = tables["derived_facts"]
    computed = derived[derived["value"].notna()]
    assert len(computed) and set(computed["numerator_period_kind"]) <= set(RATE_NUMERATOR_KINDS)
    refused = derived[derived["numerator_period_kind"].isin(["cumulative", "partial_year"])]
    assert len(refused) and refused["value"].isna().all() and set(refused["status"]) == {"refused_period"}
    ws = book["人均指标"]
    header = [c.value for c in ws[3]]
    rows = [dict(zip(header, row, strict=False)) for row in ws.iter_rows(min_row=5, values_only=True)]
    for row in rows:
        if row["结果"] is not None:
            assert "累计" not in row["分子时期"] and "–" not in row["分子时期"], row
    jiaxing = next(r for r in rows if r["分子：报道数字"] == 500000)
    assert (jiaxing["状态"], jiaxing["结果"], jiaxing["分子时期"]) == ("时期不符", None, "2019年以来累计（至2024年10月）")
    assert "不是年度数或时点数" in jiaxing["说明"]


# --- the dashboard


@pytest.fixture(scope="module")
def mixed_repository(tables, tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("mixed")) / "mixed.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    write_tables(engine, {name: frame for name, frame in tables.items()})
    engine.dispose()
    repo = repository.use_database(f"sqlite:///{path}")
    yield repo
    repository.use_database(None)


def drawn_sets(figure, key) -> set[tuple]:
    """The comparable sets of every point drawn (a figure's customdata are fact or rate ids)."""
    ids = [i for trace in figure.data for i in (trace.customdata if trace.customdata is not None else ())]
    return {key(i) for i in ids}


@pytest.mark.parametrize("query", [
    "?ind=talent_projects", "?ind=talent_projects&period=2024", "?ind=new_graduates",
    "?ind=new_graduates&period=2024", "?ind=new_graduates&period=2023", "?tab=map&ind=new_graduates&map=county",
    "?tab=map&ind=talent_projects&map=county&period=2024",
])
def test_every_dashboard_chart_draws_one_comparable_set(mixed_repository, query):
    snap = mixed_repository.snapshot()
    facts = snap.facts.set_index("fact_id")
    state = from_query(query)
    render = callbacks.render_map if state.tab == "map" else callbacks.render_compare
    figure, *_rest, listed = render(callbacks.view_key(state))
    sets = drawn_sets(figure, lambda i: (facts.at[i, "cmp_kind"], facts.at[i, "cmp_level"]))
    assert len(sets) == 1, sets
    periods = drawn_sets(figure, lambda i: facts.at[i, "cmp_period"])
    if state.period != "latest":
        assert len(periods) == 1 and next(iter(periods))[:4] == state.period
    chosen = facts[facts["indicator_code"] == state.indicators[0]]
    drawn = {i for trace in figure.data for i in (trace.customdata if trace.customdata is not None else ())}
    left = str(listed)
    regions_drawn = set(chosen.loc[chosen.index.isin(drawn), "region_name"].astype(str))
    for region in set(chosen["region_name"].astype(str)) - regions_drawn:
        assert region in left, f"{region} has no figure in the chart: its figures are listed with the reason"
    if len(chosen) > len(drawn):
        assert "未列入本图" in left


def test_the_trend_keeps_one_kind_and_level_and_the_rates_only_annual_figures_and_stocks(mixed_repository):
    snap = mixed_repository.snapshot()
    facts = snap.facts.set_index("fact_id")
    figure, _notes, listed = callbacks.render_trend(callbacks.view_key(from_query(
        "?tab=trend&ind=new_graduates&reg=330411,330402,330483,330400")))
    assert drawn_sets(figure, lambda i: (facts.at[i, "cmp_kind"], facts.at[i, "cmp_level"])) == {("year", "county")}
    assert "2020年以来累计（至2024年10月），不是年度数" in str(listed), "秀洲's running total is named, not drawn"
    assert "嘉兴市属地级市" in str(listed)

    derived = snap.derived.set_index("fact_id")
    figure, _notes, cannot = callbacks.render_compare(callbacks.view_key(from_query("?ind=new_graduates&norm=rate")))
    kinds = drawn_sets(figure, lambda i: str(derived.at[i, "numerator_period_kind"]))
    assert kinds and kinds <= set(RATE_NUMERATOR_KINDS)
    assert "不是年度数或时点数，不计算人均值" in str(cannot), "the refused rates say why"


def test_choosing_a_left_out_figures_set_draws_it(mixed_repository):
    snap = mixed_repository.snapshot()
    nanhu = snap.facts[(snap.facts["region_name"] == "南湖区") & (snap.facts["indicator_code"] == "talent_projects")]
    fact = nanhu.iloc[0]
    key = Basis(str(fact["cmp_kind"]), str(fact["cmp_period"]), str(fact["cmp_level"])).key
    _figure, _notes, listed = callbacks.render_compare(callbacks.view_key(from_query("?ind=talent_projects")))
    assert f"cmp={key.replace(':', '%3A')}" in str(listed), "the left-out figure links to its set"
    figure, _notes, _listed = callbacks.render_compare(callbacks.view_key(from_query(f"?ind=talent_projects&cmp={key}")))
    assert [i for trace in figure.data for i in trace.customdata] == [fact["fact_id"]]
    assert "截至2024年的时点数 · 各县（市、区）" in figure.layout.title.text
