"""The callbacks as plain functions: URL → state → views, clicks → quote, table → CSV and Excel."""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import asdict

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from dashboard import callbacks, queries, repository
from dashboard.urlstate import ViewState, from_query

JIAXING = "330400"
CONTROL_COUNT = len(callbacks.CONTROLS)
OUTPUTS = [f"{i}.{p}" for i, p in callbacks.CONTROLS] + [
    "family.options", "indicator.options", "region.options", "years.min", "years.max", "years.marks",
    "years.disabled", "period.options", "norm.options", "norm.tip", "norm.note", "url", "view", "table", "root",
    "as_of"]
URL_AT = OUTPUTS.index("url")


pytestmark = pytest.mark.usefixtures("seed_repository")


def _defaults() -> list:
    return callbacks.control_values(ViewState(), None)


def _sync(search: str) -> dict:
    """Run the state callback as on page load and name its outputs."""
    out = callbacks.sync_state(None, search, _defaults(), None, None)
    assert len(out) == len(OUTPUTS)
    return dict(zip(OUTPUTS, out, strict=True))


def test_page_load_sets_controls_from_the_url():
    out = _sync("?tab=trend&ind=talent_total&reg=330400,330411&lang=zh")
    assert out["f-indicator.value"] == ["talent_total"]
    assert out["f-region.value"] == [JIAXING, "330411"]
    assert out["tabs.active_tab"] == "trend"
    assert out["root"] == "app lang-zh"
    assert tuple(out["view"]["indicators"]) == ("talent_total",)
    assert out["url"] is callbacks.no_update, "the link was already in normal form"


def test_unknown_indicator_in_a_link_is_dropped_and_the_url_corrected():
    out = _sync("?ind=talent_total,no_such_indicator")
    assert out["f-indicator.value"] == ["talent_total"]
    assert out["url"] == "?ind=talent_total"


def test_controls_write_the_url():
    values = _defaults()
    values[1] = ["postdocs"]
    values[7] = "compare"
    out = callbacks.sync_state("f-indicator", "", values, None, None)
    url = out[URL_AT]
    assert from_query(url).indicators == ("postdocs",)


def test_compare_view_draws_the_database_value(seed_db_url):
    view = callbacks.view_key(ViewState(indicators=("talent_total",)))
    figure, _notes, _cannot = callbacks.render_compare(view)
    with create_engine(seed_db_url).connect() as conn:
        value = conn.execute(text("SELECT value FROM facts WHERE region_code = :r AND indicator_code = 'talent_total' "
                                  "ORDER BY year DESC LIMIT 1"), {"r": JIAXING}).scalar()
    bars = {y.split(" · ")[0]: x for trace in figure.data for x, y in zip(trace.x, trace.y, strict=True)}
    assert bars["嘉兴市"] == value


def test_compare_view_refuses_mixed_units_with_a_warning():
    view = callbacks.view_key(ViewState(indicators=("talent_total", "skilled_talent_share_employed")))
    figure, notes, _cannot = callbacks.render_compare(view)
    assert not figure.data, "nothing is drawn"
    assert "不能在同一坐标轴上比较不同单位" in str(notes)


def test_views_skip_work_when_not_shown():
    view = callbacks.view_key(ViewState(tab="trend"))
    assert callbacks.render_compare(view) == (callbacks.no_update,) * 3
    assert callbacks.render_check(view) == (callbacks.no_update,) * 2


def test_map_lists_zones_beside_the_map():
    view = callbacks.view_key(ViewState(tab="map", indicators=("enterprises",), map_level="county"))
    figure, _notes, beside, _cannot = callbacks.render_map(view)
    assert figure.layout.map.style == "white-bg"
    assert "衢州智造新城" in str(beside)


def test_click_on_a_bar_selects_its_fact_and_shows_the_quote():
    figure, _, _ = callbacks.render_compare(callbacks.view_key(ViewState(indicators=("talent_total",))))
    fact_id = figure.data[0].customdata[0]
    click = {"points": [{"customdata": fact_id, "x": 1, "y": "嘉兴市"}]}
    assert callbacks.clicked_fact("g-compare", {"g-compare": click}) == fact_id
    panel = str(callbacks.render_provenance(fact_id))
    snap = repository.current().snapshot()
    fact = snap.facts.set_index("fact_id").loc[fact_id]
    assert fact["number_text"] in panel
    assert fact["title"] in panel
    assert callbacks.clicked_fact("facts-grid", {"facts-grid": {"rowId": "abc"}}) == "abc"


def test_table_blocks_and_csv_download_agree():
    snap = repository.current().snapshot()
    key = asdict(queries.query_for(snap, ViewState(indicators=("talent_total", "postdocs"))))
    request = {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "region_name", "sort": "asc"}]}
    response, count, style = callbacks.table_rows(request, key)
    assert style["height"].endswith("px")
    assert count.startswith(f"{response['rowCount']:,}")
    download = callbacks.download_csv(1, key, request)
    content = base64.b64decode(download["content"]).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["编号 Fact ID"] for r in rows] == [r["fact_id"] for r in response["rowData"]]
    assert [r["数值 Value"] for r in rows] == [r["display"] for r in response["rowData"]]


def test_excel_download_is_a_workbook_of_the_same_facts():
    snap = repository.current().snapshot()
    state = ViewState(indicators=("talent_total",))
    key = asdict(queries.query_for(snap, state))
    download, note = callbacks.download_xlsx(1, key, None, state.as_dict())
    assert note is None
    payload = base64.b64decode(download["content"])
    assert payload[:2] == b"PK"
    assert download["filename"].endswith(".xlsx")
    sheets = pd.read_excel(io.BytesIO(payload), sheet_name=None)
    assert any("1290700" in sheet.to_string().replace(",", "") or "129.07" in sheet.to_string()
               for sheet in sheets.values())


def test_status_panel_shows_the_database_and_no_failures():
    panel = str(callbacks.render_status(callbacks.view_key(ViewState(tab="status"))))
    assert "数据截至" in panel and "更新时间" in panel, "the data's period and the refresh time, each named"
    assert repository.current().snapshot().data_period in panel
    assert "talent.sqlite" in panel


def test_summary_counts_match_the_filtered_facts():
    view = callbacks.view_key(ViewState(regions=(JIAXING,)))
    stats = callbacks.render_summary(view)
    snap = repository.current().snapshot()
    n = int((snap.facts["region_code"] == JIAXING).sum())
    assert f"{n:,}" in str(stats[0])


def test_year_slider_left_at_its_ends_follows_the_data():
    """Choosing 嘉兴 narrows the years to 2024; adding 秀洲 must widen them again, not keep 2024 only."""
    values = _defaults()
    values[1], values[2] = ["postdocs"], [JIAXING]
    first = callbacks.sync_state("f-region", "", values, None, None, (0, 0))
    low, high = first[CONTROL_COUNT + 3], first[CONTROL_COUNT + 4]
    values[5] = first[5] if first[5] is not callbacks.no_update else values[5]
    values[2] = [JIAXING, "330411"]
    second = callbacks.sync_state("f-region", "?ind=postdocs&reg=330400", values, None, None, (low, high))
    state = from_query(second[URL_AT])
    assert state.year_from is None and state.year_to is None
    assert second[CONTROL_COUNT + 3] <= low


def test_region_and_indicator_counts_follow_the_year_and_review_filters():
    snap = repository.current().snapshot()
    facts = snap.facts
    for query, keep in (("?from=2024&to=2024", facts["year"] == 2024),
                        ("?review=0", ~facts["needs_review"].astype(bool))):
        options = queries.filter_options(snap, from_query(query))
        counted = {o.value: o.count for o in options.regions if o.available}
        expected = facts[keep].groupby("region_code", observed=True).size()
        assert counted == {str(code): int(n) for code, n in expected.items() if n}, query
        indicators = {o.value: o.count for o in options.indicators if o.available}
        expected = facts[keep].groupby("indicator_code", observed=True).size()
        assert indicators == {str(code): int(n) for code, n in expected.items() if n}, query


def test_an_emptied_view_names_the_filter_and_links_to_its_undoing():
    state = ViewState(indicators=("talent_total",), levels=("town",))
    figure, notes, _listed = callbacks.render_compare(callbacks.view_key(state))
    assert "No figures match" in figure.layout.annotations[0].text
    text = str(notes)
    assert "筛选条件“层级 乡镇（街道）”下没有数字" in text
    assert "href='?ind=talent_total'" in text, "the link undoes the level filter and keeps the rest"


def test_a_chosen_region_without_a_figure_is_named_under_the_chart():
    figure, _notes, listed = callbacks.render_compare(callbacks.view_key(
        ViewState(indicators=("talent_total",), regions=(JIAXING, "330100"))))
    assert [str(y).split(" · ")[0] for trace in figure.data for y in trace.y] == ["嘉兴市"]
    assert "杭州市" in str(listed) and "所选条件下没有该指标的数字" in str(listed)
