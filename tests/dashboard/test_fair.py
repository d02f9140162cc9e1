"""Fair comparison on the seed database: per-capita rates, their provenance, rates that cannot be computed,
the cross-check against statistics, and each source tier told apart (only `official` is 官方统计)."""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import asdict

import plotly.graph_objects as go
import pytest

from dashboard import callbacks, figures, fmt, geo, queries, repository, snapshot
from dashboard.urlstate import ViewState, from_query

JIAXING, XIUZHOU = "330400", "330411"
TALENT_TOTAL_2024 = 1_290_700  # 人才资源总量达129.07万 (article, 2024)
RESIDENTS_2023 = 5_584_000  # 嘉兴市 558.4万, 2023年浙江省人口主要数据公报
STOCK_CITIES = "stock~~city"  # each city's latest stock: the comparable set of year-end populations
OUTPUTS = [f"{i}.{p}" for i, p in callbacks.CONTROLS] + [
    "family.options", "indicator.options", "region.options", "years.min", "years.max", "years.marks",
    "years.disabled", "period.options", "norm.options", "norm.tip", "norm.note", "url", "view", "table", "root",
    "as_of"]


pytestmark = pytest.mark.usefixtures("seed_repository")


@pytest.fixture(scope="module")
def snap(seed_repository) -> snapshot.Snapshot:
    return seed_repository.snapshot()


def _view(query: str) -> dict:
    return callbacks.view_key(from_query(query))


def _sync(search: str) -> dict:
    out = callbacks.sync_state(None, search, callbacks.control_values(ViewState(), None), None, None)
    return dict(zip(OUTPUTS, out, strict=True))


def _bars(figure) -> dict[str, tuple[float, str, str]]:
    """Region → (value, label, fact id) as the bar chart draws them."""
    return {str(y).split(" · ")[0]: (x, t, c) for trace in figure.data
            for x, y, t, c in zip(trace.x, trace.y, trace.text, trace.customdata, strict=True)}


# --- the toggle ----------------------------------------------------------------------------------------


def test_per_capita_talent_of_jiaxing_is_the_article_figure_over_the_2023_residents():
    figure, notes, cannot = callbacks.render_compare(_view("?ind=talent_total&norm=rate"))
    value, label, derived_id = _bars(figure)["嘉兴市"]
    assert value == pytest.approx(TALENT_TOTAL_2024 / RESIDENTS_2023 * 10_000)
    assert label.endswith("※"), "a proxy-year denominator is marked on the bar"
    assert figure.layout.title.text.startswith("<b>每万常住人口人才资源数"), "the chart names what it shows"
    assert "分母为统计数字" in figure.layout.title.text
    assert figure.layout.xaxis.title.text.startswith("每万常住人口")
    assert cannot == []

    row = snap_row(derived_id)
    assert row["status"] == "derived_proxy_year" and row["proxy"]
    assert int(row["denominator_year"]) == 2023 and int(row["year"]) == 2024


def snap_row(derived_id: str) -> dict:
    derived = repository.current().snapshot().derived
    return derived[derived["fact_id"] == derived_id].iloc[0].to_dict()


def test_quote_panel_of_a_rate_shows_numerator_denominator_and_result(snap):
    figure, _notes, _cannot = callbacks.render_compare(_view("?ind=talent_total&norm=rate"))
    derived_id = _bars(figure)["嘉兴市"][2]
    panel = str(callbacks.render_provenance(derived_id))
    row = snap_row(derived_id)
    numerator = snap.facts.set_index("fact_id").loc[row["numerator_fact_id"]]
    assert "1,290,700 人" in panel and "129.07万" in panel, "numerator value and its words"
    assert str(numerator["quote"]) in panel.replace("', Mark('", "").replace("'), '", "")
    assert str(numerator["title"]) in panel and str(numerator["published"]) in panel
    assert "5,584,000 人" in panel and "2023年" in panel, "denominator value and year"
    assert str(row["denominator_source_title"]) in panel and str(row["denominator_source_url"]) in panel
    assert "代用年份" in panel and "proxy" in panel
    assert "1,290,700 ÷ 5,584,000 × 10,000 = 2,311.4255" in panel


def test_a_region_without_denominator_is_listed_with_its_reason_not_drawn():
    figure, _notes, cannot = callbacks.render_compare(_view("?ind=postdocs&norm=rate"))
    assert set(_bars(figure)) == {"嘉兴市"}, "秀洲区 has no resident population: no bar, and no zero bar"
    listed = str(cannot)
    assert "无法计算" in listed and "秀洲区" in listed
    assert "没有秀洲区2023年(±1年)的常住人口（年末）统计数字" in listed
    assert "博士后 31人" in listed, "the figure that could not be divided is named"


def test_trend_and_map_also_leave_uncomputable_regions_out(snap):
    figure, _notes, cannot = callbacks.render_trend(_view(f"?tab=trend&ind=postdocs&norm=rate&reg={JIAXING},{XIUZHOU}"))
    assert [trace.name for trace in figure.data] == ["嘉兴市"]
    assert "秀洲区" in str(cannot)

    figure, _notes, _beside, cannot = callbacks.render_map(_view("?tab=map&ind=postdocs&norm=rate&map=county"))
    drawn = [str(c) for trace in figure.data if trace.type == "choroplethmap" and trace.name != "no data"
             for c in trace.locations]
    assert XIUZHOU not in drawn
    assert "秀洲区" in str(cannot)

    figure, *_ = callbacks.render_map(_view("?tab=map&ind=talent_total&norm=rate"))
    rings = [trace for trace in figure.data if trace.type == "scattermap"]
    assert rings, "proxy-year areas get a ring"
    assert rings[0].lon[0] == pytest.approx(geo.centres("city")[JIAXING][0])


def test_matrix_per_capita_says_cannot_compute_in_the_cell():
    figure, _notes = callbacks.render_matrix(_view("?tab=matrix&ind=postdocs&norm=rate&lvl=county"))
    heat = figure.data[0]
    row = list(heat.y).index("秀洲区")
    assert "无法计算" in heat.text[row]


def test_toggle_is_disabled_for_a_percentage_and_a_rate_link_falls_back_to_absolute():
    out = _sync("?ind=skilled_talent_share_employed&norm=rate")
    rate = next(o for o in out["norm.options"] if o["value"] == "rate")
    assert rate["disabled"]
    assert "没有人均或单位GDP口径" in str(out["norm.tip"]) and "never divided" in str(out["norm.tip"])
    assert "无人均口径" in str(out["norm.note"])
    assert out["url"] == "?ind=skilled_talent_share_employed", "the link is rewritten to what is shown"
    assert out["view"]["norm"] == "abs"


def test_toggle_names_the_denominator_the_taxonomy_declares():
    residents = _sync("?ind=talent_total&norm=rate")
    assert next(o for o in residents["norm.options"] if o["value"] == "rate")["label"].startswith("每万常住人口")
    assert residents["url"] is callbacks.no_update and residents["view"]["norm"] == "rate"
    gdp = _sync("?ind=talent_funds_disbursed")
    label = next(o for o in gdp["norm.options"] if o["value"] == "rate")
    assert label["label"].startswith("每亿元GDP") and not label["disabled"]


def test_several_indicators_some_without_a_rate_are_named_not_divided():
    figure, notes, _cannot = callbacks.render_compare(_view("?ind=talent_total,skilled_talent_share_employed&norm=rate"))
    assert {trace.name for trace in figure.data} <= {"新闻报道 press report", "每万常住人口人才资源数 · 新闻报道"}
    assert all(str(label).endswith("/万人 ※") for trace in figure.data for label in trace.text)
    assert "技能人才占从业人员比重没有人均或单位GDP口径" in str(notes)


# --- the cross-check -----------------------------------------------------------------------------------


def test_cross_check_holds_jiaxing_residents_550_thousand_plus_against_558_4_consistent(snap):
    pairs = snap.crosscheck
    row = pairs[(pairs["region_code"] == JIAXING) & (pairs["indicator_code"] == "resident_population")].iloc[0]
    assert row["article_number_text"] == "550多万" and row["article_qualifier"] == "over"
    assert row["official_value"] == RESIDENTS_2023 and row["official_year"] == 2023
    assert bool(row["consistent"])

    notes, style = callbacks.render_check(_view("?tab=check"))
    assert style["height"].endswith("px")
    block = callbacks.check_rows({"startRow": 0, "endRow": 50})
    assert block["rowCount"] == len(pairs)
    shown = next(r for r in block["rowData"] if r["article_fact_id"] == row["article_fact_id"])
    assert "≥ 550万人" in shown["check_values"] and "“550多万”" in shown["check_values"]
    assert "558.4万人（2023年）" in shown["check_values"]
    assert shown["consistent"] and shown["check_verdict"].startswith("✓ 相符")
    assert "−1.5%" in shown["check_verdict"]
    assert f"]({row['official_source_url']})" in shown["check_source_md"]
    assert f"共 {len(pairs)} 对，{int((~pairs['consistent']).sum())} 对不符" in str(notes)

    # a click on the row opens the article figure's quote, with its cross-check
    assert callbacks.clicked_fact("check-grid", {"check-grid": {"rowId": row["article_fact_id"]}}) == row["article_fact_id"]
    panel = str(callbacks.render_provenance(row["article_fact_id"]))
    assert "官方核对" in panel and "558.4万人" in panel and "相符" in panel


def test_cross_check_puts_inconsistent_pairs_first():
    import pandas as pd

    frame = pd.DataFrame({
        "article_fact_id": ["a", "b", "c"], "statistics_fact_id": ["s", "s", "s"], "region_code": ["1"] * 3,
        "region_name": ["x"] * 3, "indicator_code": ["gdp"] * 3, "indicator_name_zh": ["GDP"] * 3,
        "article_id": ["p"] * 3, "article_year": [2024] * 3, "official_year": [2023] * 3,
        "article_value": [1.0, 2.0, 3.0], "article_qualifier": ["exact", "over", "exact"],
        "article_number_text": ["1", "2", "3"], "article_quote": ["q"] * 3, "official_value": [1.0] * 3,
        "official_source_title": ["t"] * 3, "official_source_url": ["u"] * 3,
        "relative_difference": [0.02, 0.9, 0.3], "consistent": [False, True, False], "verdict": ["v"] * 3})
    indicators = pd.DataFrame({"code": ["gdp"], "unit": ["yuan"]}).set_index("code", drop=False)
    ordered = snapshot.prepare_crosscheck(frame, pd.DataFrame({"fact_id": [], "title": [], "outlet": [], "published": []}),
                                      indicators)
    assert list(ordered["article_fact_id"]) == ["c", "a", "b"]


def test_picking_a_listed_fact_opens_it_and_redrawn_lists_do_not():
    assert callbacks.picked_fact({"type": callbacks.PICK, "fact": "abc"}, [1]) == "abc"
    assert callbacks.picked_fact({"type": callbacks.PICK, "fact": "abc"}, [None]) is callbacks.no_update
    assert callbacks.picked_fact(None, []) is callbacks.no_update


# --- sources told apart by their tier ------------------------------------------------------------------


def test_each_source_tier_has_its_own_colour_and_legend_and_only_official_is_called_official():
    figure, _notes, _cannot = callbacks.render_compare(_view(f"?ind=resident_population&cmp={STOCK_CITIES}"))
    names = {trace.name: trace for trace in figure.data}
    drawn = {fmt.tier_text(t): t for t in ("official", "official_repost", "secondary", "unverified", "press")}
    assert set(names) <= set(drawn) and len(names) >= 2
    for name, trace in names.items():
        assert trace.marker.color == figures.TIER_COLORS.get(drawn[name], figures.PALETTE[0])
        assert all(name in h for h in trace.hovertext)
    assert figure.layout.showlegend
    assert "嘉兴市" in " ".join(names["新闻报道 press report"].y), "嘉兴's latest stock (2024) is the article's 550多万"
    official = {str(y).split(" · ")[0] for y in names.get("官方统计 official statistics", go.Bar()).y or ()}
    snap = repository.current().snapshot()
    facts = snap.facts[snap.facts["indicator_code"] == "resident_population"]
    assert official <= set(facts.loc[facts["source_tier"] == "official", "region_name"].astype(str))


def test_statistics_are_squares_in_the_trend_and_outlined_in_their_tiers_colour_on_the_map():
    figure, _notes, _cannot = callbacks.render_trend(_view(f"?tab=trend&ind=resident_population&reg={JIAXING}"))
    symbols = [s for trace in figure.data for s in trace.marker.symbol]
    assert "square" in symbols, "year-end statistics are squares"

    figure, *_ = callbacks.render_map(_view("?tab=map&ind=resident_population"))
    areas = next(t for t in figure.data if t.type == "choroplethmap" and t.name != "no data")
    outline = dict(zip(areas.locations, areas.marker.line.color, strict=True))
    tiers = dict(zip(areas.customdata, areas.locations, strict=True))
    facts = repository.current().snapshot().facts.set_index("fact_id")
    for fact_id, code in tiers.items():
        tier = str(facts.at[fact_id, "source_tier"])
        assert outline[code] == figures.TIER_COLORS.get(tier, outline[code]) and (tier != "press" or
                                                                                 outline[code] not in figures.TIER_COLORS.values())


def test_quote_panel_names_the_source_tier_and_an_articles_outlet(snap):
    facts = snap.facts
    for tier in ("official", "official_repost", "secondary", "press"):
        fact = facts[facts["source_tier"] == tier].iloc[0]
        panel = str(callbacks.render_provenance(fact["fact_id"]))
        assert fmt.tier_text(tier) in panel
        assert ("官方统计 official statistics" in panel) == (tier == "official")
    article = facts[facts["source_kind"] == "article"].iloc[0]
    assert "来源未注明 source not stated" in str(callbacks.render_provenance(article["fact_id"])), "no outlet in the manifest"


def test_table_has_a_source_column_and_filter_and_the_csv_follows_it(snap):
    state = ViewState(regions=(JIAXING,), source="statistics")
    key = asdict(queries.query_for(snap, state, with_search=True))
    request = {"startRow": 0, "endRow": 200, "sortModel": [{"colId": "source_text", "sort": "asc"}]}
    response, _count, _style = callbacks.table_rows(request, key)
    rows = response["rowData"]
    assert rows and all(r["source_text"] == fmt.tier_text(r["tier"]) and r["statistics"] for r in rows)
    assert {r["tier"] for r in rows} >= {"official_repost", "secondary"}
    expected = snap.facts[(snap.facts["region_code"] == JIAXING) & (snap.facts["source_kind"] == "statistics")]
    assert response["rowCount"] == len(expected)

    download = callbacks.download_csv(1, key, request)
    content = base64.b64decode(download["content"]).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(content)))
    assert {r["来源 Source"] for r in table} == {fmt.tier_text(t) for t in expected["source_tier"].astype(str)}

    both = asdict(queries.query_for(snap, state.replace(source=""), with_search=True))
    assert callbacks.table_rows(request, both)[0]["rowCount"] > len(expected)


def test_source_filter_is_the_tables_only_and_the_charts_ignore_it():
    assert callbacks.view_key(ViewState(source="statistics")) == callbacks.view_key(ViewState())
    out = _sync("?src=statistics")
    assert out["t-source.value"] == "statistics"
    assert out["table"]["source"] == "statistics"


def test_summary_counts_official_figures_apart_from_other_statistics_and_articles(snap):
    stats = callbacks.render_summary(callbacks.view_key(ViewState()))
    official = int((snap.facts["source_tier"] == "official").sum())
    others = int(((snap.facts["source_kind"] == "statistics") & (snap.facts["source_tier"] != "official")).sum())
    articles = snap.facts.loc[snap.facts["source_kind"] == "article", "article_id"].nunique()
    assert f"{official:,}" in str(stats[4]) and "官方统计" in str(stats[4])
    assert f"{others:,}" in str(stats[5]) and "其他统计数字" in str(stats[5])
    assert f"{articles:,}" in str(stats[3]) and "篇文章" in str(stats[3])
