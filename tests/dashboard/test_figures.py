"""Figure builders on the seed data: the values drawn are the database's, marks and refusals are visible."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import figures, fmt, geo, queries, repository
from dashboard.urlstate import ViewState
from etl.curate.comparable import Basis, basis_columns

JIAXING = "330400"


def _facts(repo, **state) -> pd.DataFrame:
    return repository.facts_for(repo, ViewState(**state))[1]


def _bar_value(figure: go.Figure, label_prefix: str) -> float:
    for trace in figure.data:
        for x, y in zip(trace.x, trace.y, strict=True):
            if str(y).startswith(label_prefix):
                return x
    raise AssertionError(f"no bar labelled {label_prefix!r}")


def test_bar_for_jiaxing_talent_total_equals_the_database_value(repo, db_facts):
    figure = figures.ranked_bar(queries.comparison(_facts(repo, indicators=("talent_total",))).shown)
    expected = db_facts[(db_facts["region_code"] == JIAXING) & (db_facts["indicator_code"] == "talent_total")]
    assert _bar_value(figure, "嘉兴市") == expected.loc[expected["year"].idxmax(), "value"]
    assert expected["value"].max() == 1290700, "嘉兴: 人才资源总量129.07万"
    labels = [t for trace in figure.data for t in trace.text]
    assert any(label.startswith("129.07万人") for label in labels)


def test_bars_are_ranked_largest_on_top(repo):
    figure = figures.ranked_bar(queries.comparison(_facts(repo, indicators=("enterprises",))).shown)
    trace = figure.data[0]
    by_label = dict(zip(trace.y, trace.x, strict=True))
    top_down = list(figure.layout.yaxis.categoryarray)[::-1]
    values = [by_label[label] for label in top_down]
    assert values == sorted(values, reverse=True)


def test_mixing_units_is_refused_with_a_sentence(repo):
    rows = queries.comparison(_facts(repo, indicators=("talent_total", "skilled_talent_share_employed"))).shown
    assert set(rows["unit"].astype(str)) == {"person", "percent"}
    with pytest.raises(figures.UnitMismatch) as refused:
        figures.ranked_bar(rows)
    assert "不能在同一坐标轴上比较不同单位" in str(refused.value)
    assert refused.value.units == ["percent", "person"]
    with pytest.raises(figures.UnitMismatch):
        figures.trend(queries.comparison(_facts(repo, indicators=("talent_total", "skilled_talent_share_employed")), per=queries.SERIES).shown)


def _basis_of(fact: pd.Series) -> Basis:
    """The comparable set a database fact belongs to."""
    keys = basis_columns(fact.to_frame().T).iloc[0]
    return Basis(keys["cmp_kind"], keys["cmp_period"], keys["cmp_level"])


def test_approximate_and_lower_bound_figures_are_marked(repo, db_facts):
    over = db_facts[(db_facts["qualifier"] == "over") & (db_facts["source_kind"] == "article")].iloc[0]
    rows = queries.comparison(_facts(repo, indicators=(over["indicator_code"],)), basis=_basis_of(over)).shown
    figure = figures.ranked_bar(rows)
    marked = {}
    for trace in figure.data:
        for fact_id, shape, label in zip(trace.customdata, trace.marker.pattern.shape, trace.text, strict=True):
            marked[fact_id] = (shape, label)
    inexact = set(rows.loc[rows["inexact"], "fact_id"])
    assert over["fact_id"] in inexact, "the set of the 超/余/多 figure is drawn"
    for fact_id, (shape, _label) in marked.items():
        assert (shape == "/") == (fact_id in inexact)
    over_rows = rows[rows["qualifier"] == "over"]
    for fact_id in over_rows["fact_id"]:
        assert marked[fact_id][1].startswith("≥ ")


def test_a_trend_keeps_annual_figures_and_running_totals_apart(repo, db_facts):
    facts = _facts(repo, indicators=("new_graduates",), regions=("330411",))
    annual = queries.comparison(facts, per=queries.SERIES)
    assert set(annual.shown["period_kind"].astype(str)) == {"year"}, "秀洲: 18,000 in 2023"
    total = db_facts[(db_facts["region_code"] == "330411") & (db_facts["indicator_code"] == "new_graduates")
                     & (db_facts["period_kind"] == "cumulative")].iloc[0]
    assert total["fact_id"] in set(annual.left_out["fact_id"]), "超过7万人 since 2020 is not a 2024 figure"
    assert "不是年度数" in annual.left_out.set_index("fact_id").at[total["fact_id"], "reason_zh"]
    rows = queries.comparison(facts, basis=_basis_of(total), per=queries.SERIES).shown
    figure = figures.trend(rows)
    trace = figure.data[0]
    assert list(trace.customdata) == [total["fact_id"]]
    assert trace.marker.symbol[0] == figures.SYMBOLS["over"] and trace.marker.symbol[0].endswith("-open")


def test_every_drawn_point_carries_its_fact_id(repo, db_facts):
    figure = figures.trend(queries.comparison(_facts(repo, indicators=("enterprises",)), per=queries.SERIES).shown)
    ids = {fact_id for trace in figure.data for fact_id in trace.customdata}
    assert ids and ids <= set(db_facts["fact_id"])


def test_matrix_counts_quotes_per_region_and_indicator(repo, db_facts):
    cells = queries.matrix_sets(_facts(repo, regions=(JIAXING,), families=("talent_total", "skilled_talent")), ())[0]
    figure = figures.matrix(cells)
    heat = figure.data[0]
    column = list(heat.x).index("人才资源总量")
    expected = len(db_facts[(db_facts["region_code"] == JIAXING) & (db_facts["indicator_code"] == "talent_total")])
    assert heat.z[0][column] == expected
    assert heat.y == ("嘉兴市",)


def test_choropleth_uses_the_tile_free_map_and_colours_jiaxing(repo, db_facts):
    found = queries.comparison(geo.with_boundary(_facts(repo, indicators=("talent_total",)), "city"), level="city")
    figure = figures.choropleth(found.shown, geo.boundaries("city"))
    assert figure.layout.map.style == "white-bg"
    assert all(isinstance(trace, go.Choroplethmap) for trace in figure.data)
    filled = figure.data[-1]
    assert dict(zip(filled.locations, filled.z, strict=True))[JIAXING] == 1290700
    drawn = [loc for trace in figure.data for loc in trace.locations]
    assert sorted(drawn) == sorted(f["properties"]["adcode"] for f in geo.boundaries("city")["features"])


def test_empty_selection_draws_a_message_not_an_error():
    empty = pd.DataFrame(columns=["unit", "value"])
    figure = figures.ranked_bar(empty)
    assert "No figures match" in figure.layout.annotations[0].text


def test_chinese_number_formatting():
    assert fmt.short_number(1290700, "person") == "129.07万"
    assert fmt.short_number(24877000000, "yuan") == "248.77亿"
    assert fmt.short_number(3500, "person") == "3,500"
    assert fmt.value_label(33.81, "percent") == "33.81%"
    assert fmt.value_label(1_000_000, "person", "over") == "≥ 100万人"
    assert fmt.value_label(100, "count", "approx") == "≈ 100个"
    assert fmt.value_label(3, "rank") == "第3名"
    assert fmt.exact_label(1_000_000, "person", "over") == "≥ 1,000,000 人"
    assert fmt.exact_label(100000, "yuan", "range", 200000) == "100,000–200,000 元"


def test_chinese_axis_ticks():
    values, labels = figures.cn_ticks(0, 2_300_000, "person")
    assert values[0] == 0 and values[-1] >= 2_300_000
    assert "100万" in labels
