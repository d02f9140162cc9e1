"""Wiring only: inputs → data → figures. Each callback is a plain module-level function, callable from Python
(tests and the benchmark call them directly); `register` attaches them to the app.

One callback, `sync_state`, owns the view state: it reads the URL on load (and on back/forward), reads the
controls when they change, trims choices the data cannot honour, and writes the URL, the controls and the
`view-state` store. Every view listens to that store only.
"""

from __future__ import annotations

from dataclasses import asdict

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, ctx, dcc, html, no_update

from dashboard import data, figures, fmt
from dashboard.layout import bi, option_label, provenance_hint
from dashboard.urlstate import LATEST, ViewState, from_query, to_query

CONTROLS = [
    ("f-family", "value"), ("f-indicator", "value"), ("f-region", "value"), ("f-sub", "value"),
    ("f-level", "value"), ("f-years", "value"), ("f-review", "value"), ("tabs", "active_tab"),
    ("v-period", "value"), ("v-trend-kind", "value"), ("v-map-level", "value"), ("t-search", "value"),
    ("lang", "value"), ("selected-fact", "data"),
]
TREND_DEFAULT_REGIONS = 8
TOOLBAR_FOR = {"compare": {"period"}, "trend": {"trend"}, "matrix": set(), "map": {"period", "map"}, "status": set()}
HIDDEN = {"display": "none"}
PANES = ("compare", "trend", "matrix", "map", "status")
GRID_ROW, GRID_CHROME, GRID_MAX_HEIGHT = 40, 52, 520


def repo() -> data.Repository:
    return data.repository()


# --- the view state --------------------------------------------------------------------------------------


def slider_bounds(years: tuple[int, int] | None) -> tuple[int, int]:
    """The year slider's ends: the years the current choice has data for."""
    return years if years else (0, 0)


def state_from_controls(values: list, slider_range: tuple | None = None) -> ViewState:
    """A ViewState from the controls' values, in `CONTROLS` order.

    A slider end left at the end of its range means "open": the range then follows the data as other
    filters change, instead of freezing at the years the previous choice happened to have.
    """
    (families, indicators, regions, include_sub, levels, years, review, tab, period, trend_kind, map_level,
     search, lang, fact) = values
    year_from, year_to = (years or [None, None])[:2] if years else (None, None)
    low, high = slider_range if slider_range and None not in slider_range else (None, None)
    if low is not None and year_from is not None and year_from <= low:
        year_from = None
    if high is not None and year_to is not None and year_to >= high:
        year_to = None
    return ViewState(
        tab=tab or "compare", families=tuple(families or ()), indicators=tuple(indicators or ()),
        regions=tuple(regions or ()), include_sub=bool(include_sub), levels=tuple(levels or ()),
        year_from=int(year_from) if year_from is not None else None,
        year_to=int(year_to) if year_to is not None else None, review=bool(review),
        period=str(period or LATEST), trend_kind=trend_kind or "line", map_level=map_level or "city",
        search=search or "", lang=lang or "zh-en", fact=fact or "",
    )


def control_values(state: ViewState, years: tuple[int, int] | None) -> list:
    """The controls' values for a state, in `CONTROLS` order."""
    low, high = slider_bounds(years)
    slider = [state.year_from or low, state.year_to or high]
    return [list(state.families), list(state.indicators), list(state.regions), state.include_sub,
            list(state.levels), slider, state.review, state.tab, state.period, state.trend_kind, state.map_level,
            state.search, state.lang, state.fact]


def view_key(state: ViewState) -> dict:
    """What the charts depend on: the state without the table search, language and selected fact."""
    return state.replace(fact="", search="", lang="zh-en").as_dict()


def sync_state(trigger: str | None, search: str | None, controls: list, previous_view: dict | None,
               previous_table: dict | None, slider_range: tuple | None = None) -> list:
    """URL or controls → normalized state → controls, options, URL and stores (see `register` for order)."""
    snap = repo().snapshot()
    state = from_query(search) if trigger in (None, "url") else state_from_controls(controls, slider_range)
    options = data.filter_options(snap, state)
    state = options.state
    values = control_values(state, options.years)
    control_out = [no_update if value == current else value
                   for value, current in zip(values, controls, strict=True)]
    years = options.years
    slider_min, slider_max = slider_bounds(years)
    marks = {}
    if years:
        step = 1 if years[1] - years[0] <= 8 else 2
        marks = {y: {"label": str(y)} for y in range(years[0], years[1] + 1, step)} | {years[1]: {"label": str(years[1])}}
    period_options = [{"label": "最新 Latest", "value": LATEST}] + (
        [{"label": f"{y}年", "value": str(y)} for y in range(years[1], years[0] - 1, -1)] if years else [])
    query = to_query(state)
    view = view_key(state)
    table = asdict(data.query_for(snap, state, with_search=True)) if snap.ok else {}
    return [
        *control_out,
        [option_label(o, "family") for o in options.families],
        [option_label(o, "indicator") for o in options.indicators],
        [option_label(o, "region") for o in options.regions],
        slider_min, slider_max, marks, years is None or years[0] == years[1],
        period_options,
        no_update if query == (search or "") else query,
        no_update if view == previous_view else view,
        no_update if table == previous_table else table,
        f"app lang-{state.lang}",
        as_of_badge(snap),
    ]


def as_of_badge(snap: data.Snapshot) -> list:
    if not snap.as_of.when:
        return [bi("数据截至", "Data as of"), " —"]
    return [bi("数据截至", "Data as of"), " ", html.B(snap.as_of.when),
            html.Span(f" · {snap.as_of.source_zh}", className="as-of-src"),
            html.Span(f" {snap.as_of.source_en}", className="as-of-src en")]


# --- views -----------------------------------------------------------------------------------------------


def _note(*parts) -> list:
    return [p for p in parts if p]


def _title(snap: data.Snapshot, indicators: tuple[str, ...], subtitle: tuple[str, str]) -> html.Div:
    names = [f"{snap.indicators.at[c, 'name_zh']}" for c in indicators if c in snap.indicators.index]
    names_en = [f"{snap.indicators.at[c, 'name_en']}" for c in indicators if c in snap.indicators.index]
    return html.Div(className="view-heading", children=[
        html.Span("、".join(names), className="vh-main"),
        html.Span(" " + " / ".join(names_en), className="vh-en en"),
        html.Span(" · ", className="vh-sep"), bi(*subtitle, class_name="vh-sub"),
    ])


def _auto_note(state: ViewState) -> html.Div | None:
    if state.indicators:
        return None
    return html.Div(className="hint", children=bi(
        "未选择指标，显示引文最多的指标；在左侧选择要比较的指标。",
        "No indicator chosen: showing the most-quoted one. Choose indicators on the left."))


def _refusal(error: figures.UnitMismatch) -> tuple:
    return figures.message_figure("单位不同，不能同轴比较 Different units: not drawn"), [
        dbc.Alert(str(error), color="warning", class_name="unit-alert mb-2")]


def render_compare(view: dict) -> tuple:
    """Ranked bar chart: regions by the chosen indicator, latest (or chosen) year."""
    state = ViewState.from_dict(view)
    if state.tab != "compare":
        return no_update, no_update
    snap, facts = data.facts_for(repo(), state)
    indicators = data.focus_indicators(snap, facts, state)
    rows = data.latest_rows(facts[facts["indicator_code"].isin(indicators)], state.period) if indicators else facts
    try:
        figure = figures.ranked_bar(rows)
    except figures.UnitMismatch as error:
        return _refusal(error)
    period = ("各地区最新数值", "latest figure per region") if state.period == LATEST else (
        f"{state.period}年", f"year {state.period}")
    n_regions = rows["region_code"].nunique() if not rows.empty else 0
    more = html.Div(className="hint", children=bi(f"共 {n_regions} 个地区，显示数值最大的 {figures.MAX_BARS} 个。",
                                                  f"{n_regions} regions; the top {figures.MAX_BARS} are shown.")
                    ) if n_regions > figures.MAX_BARS else None
    return figure, _note(_title(snap, indicators, period), _auto_note(state), more)


def render_trend(view: dict) -> tuple:
    """Region × year for the chosen regions (or the most-quoted ones)."""
    state = ViewState.from_dict(view)
    if state.tab != "trend":
        return no_update, no_update
    snap, facts = data.facts_for(repo(), state)
    indicators = data.focus_indicators(snap, facts, state)
    facts = facts[facts["indicator_code"].isin(indicators)] if indicators else facts
    hint = None
    if not state.regions and not facts.empty:
        top = facts["region_code"].value_counts()
        top = list(top[top > 0].index[:TREND_DEFAULT_REGIONS])
        facts = facts[facts["region_code"].isin(top)]
        hint = html.Div(className="hint", children=bi(
            f"未选择地区，显示数据最多的 {len(top)} 个地区。", f"No region chosen: the {len(top)} most-quoted are shown."))
    try:
        figure = figures.trend(data.yearly_rows(facts), state.trend_kind)
    except figures.UnitMismatch as error:
        return _refusal(error)
    return figure, _note(_title(snap, indicators, ("逐年", "year by year")), _auto_note(state), hint)


def render_matrix(view: dict) -> tuple:
    """Region × indicator: who reports what."""
    state = ViewState.from_dict(view)
    if state.tab != "matrix":
        return no_update, no_update
    _snap, facts = data.facts_for(repo(), state)
    cells = data.matrix_cells(facts)
    heading = html.Div(className="view-heading", children=[
        bi("谁报告了什么", "Who reports what", class_name="vh-main"), html.Span(" · ", className="vh-sep"),
        bi("颜色表示引文数量，格内为最新数值", "colour = number of quotes, text = latest figure", class_name="vh-sub")])
    return figures.matrix(cells), [heading]


def render_map(view: dict) -> tuple:
    """Choropleth of cities or counties for one indicator; zones and towns listed beside."""
    state = ViewState.from_dict(view)
    if state.tab != "map":
        return no_update, no_update, no_update
    snap, facts = data.facts_for(repo(), state)
    indicators = data.focus_indicators(snap, facts, state)[:1]
    facts = facts[facts["indicator_code"].isin(indicators)] if indicators else facts.iloc[0:0]
    on_map, beside = data.map_rows(facts, state.map_level, state.period)
    figure = figures.choropleth(on_map, data.boundaries(state.map_level), data.boundary_url(state.map_level))
    notes = [_title(snap, indicators, ("地级市" if state.map_level == "city" else "县(市、区)",
                                       "cities" if state.map_level == "city" else "counties")),
             _auto_note(state)]
    if len(state.indicators) > 1:
        notes.append(html.Div(className="hint", children=bi("地图一次显示一个指标（第一个所选指标）。",
                                                            "The map shows one indicator: the first chosen.")))
    other_level = facts[facts["region_level"] == ("county" if state.map_level == "city" else "city")]
    if on_map.empty and not other_level.empty:
        notes.append(html.Div(className="hint", children=bi("本层级没有数据，试试切换地图层级。",
                                                            "No figures at this level: try the other map level.")))
    return figure, _note(*notes), beside_list(beside)


def beside_list(rows: pd.DataFrame) -> list:
    """Zones and towns have no boundary: their figures are listed next to the map."""
    head = html.Div(bi("无边界的功能区、乡镇", "Zones and towns (no boundary)"), className="beside-title")
    if rows.empty:
        return [head, html.Div(bi("无", "none"), className="text-muted small")]
    items = [html.Li(className="beside-item", children=[
        html.Div([html.Span(row.region_name, className="beside-name"),
                  html.Span(f" {row.year}", className="beside-year")]),
        html.Div(row.display + (" ⚑" if row.needs_review else ""),
                 className="beside-value" + (" inexact" if row.inexact else "")),
    ]) for row in rows.head(20).itertuples(index=False)]
    return [head, html.Ul(items, className="beside-ul")]


def render_summary(view: dict) -> list:
    """Counts for the current filters: facts, regions, indicators, articles, approximations, to review."""
    state = ViewState.from_dict(view)
    _snap, facts = data.facts_for(repo(), state)
    stats = [
        (len(facts), "条数据", "figures"),
        (facts["region_code"].nunique() if len(facts) else 0, "个地区", "regions"),
        (facts["indicator_code"].nunique() if len(facts) else 0, "个指标", "indicators"),
        (facts["article_id"].nunique() if len(facts) else 0, "篇文章", "articles"),
        (int(facts["inexact"].sum()) if len(facts) else 0, "条约数或上下限", "approximate or bounds"),
        (int(facts["needs_review"].sum()) if len(facts) else 0, "条待复核", "need review"),
    ]
    return [html.Div(className="stat", children=[html.Div(f"{n:,}", className="stat-n"),
                                                 html.Div(bi(zh, en), className="stat-l")])
            for n, zh, en in stats]


def render_status(view: dict) -> list | object:
    """Last refresh, outcome, recent failures and the run log."""
    state = ViewState.from_dict(view)
    if state.tab != "status":
        return no_update
    snap = repo().snapshot()
    return status_panel(snap)


def status_panel(snap: data.Snapshot) -> list:
    info = data.status_info(snap)
    last = info["last"]
    cards = [
        _status_card(("数据截至", "Data as of"), snap.as_of.when or "—", f"{snap.as_of.source_zh} {snap.as_of.source_en}"),
        _status_card(("最近一次运行", "Last run"), _outcome(last) if last else "—",
                     data.stamp(last.get("finished_at") or last.get("started_at")) if last else
                     "运行记录为空 no runs recorded"),
        _status_card(("当前数据", "Current figures"), f"{info['n_facts']:,}", "条（不含已驳回）excluding rejected"),
    ]
    if info["next_run"]:
        cards.append(_status_card(("下次计划运行", "Next scheduled run"), info["next_run"], ""))
    body = [dbc.Row([dbc.Col(c, md=3) for c in cards], class_name="g-3 mb-3")]
    failures = info["failures"]
    if not failures.empty:
        body.append(html.H6(bi("最近失败", "Recent failures"), className="mt-2"))
        body.extend(dbc.Alert([html.B(f"#{r.get('run_id')} {data.stamp(r.get('started_at'))}"), html.Div(str(r.get("error") or
                              r.get("message") or ""), className="small")], color="danger", class_name="py-2")
                    for r in failures.to_dict("records"))
    runs = info["runs"]
    if not runs.empty:
        shown = [c for c in ("run_id", "kind", "started_at", "finished_at", "outcome", "articles_read", "facts_total",
                             "message") if c in runs.columns]
        body.append(html.H6(bi("运行记录", "Run log"), className="mt-3"))
        table = runs[shown].copy()
        for column in ("started_at", "finished_at"):
            if column in table.columns:
                table[column] = [data.stamp(v) for v in table[column]]
        body.append(dbc.Table.from_dataframe(table.astype(str), striped=True, hover=True, size="sm",
                                             class_name="runs-table"))
    rejected = info["rejected"]
    if rejected is not None and not rejected.empty:
        body.append(html.H6(bi("被搁置的输入", "Inputs set aside"), className="mt-3"))
        body.append(dbc.Table.from_dataframe(rejected.astype(str), size="sm", class_name="runs-table"))
    body.append(html.Div([bi("数据库", "Database"), ": ", html.Code(info["db"])], className="small text-muted mt-2"))
    return body


def _outcome(run: dict) -> html.Span:
    outcome = str(run.get("outcome", ""))
    colors = {"success": "success", "failed": "danger", "nothing_new": "secondary", "running": "info"}
    names = {"success": "成功 success", "failed": "失败 failed", "nothing_new": "无新数据 nothing new",
             "running": "运行中 running"}
    return dbc.Badge(names.get(outcome, outcome), color=colors.get(outcome, "secondary"), class_name="outcome")


def _status_card(title: tuple[str, str], value, sub: str) -> html.Div:
    return html.Div(className="status-card", children=[
        html.Div(bi(*title), className="status-title"), html.Div(value, className="status-value"),
        html.Div(sub, className="status-sub")])


def view_visibility(view: dict) -> list[dict]:
    """Show the current view's pane and only the toolbar choices that apply to it."""
    tab = ViewState.from_dict(view).tab
    wanted = TOOLBAR_FOR.get(tab, set())
    return ([{} if key in wanted else HIDDEN for key in ("period", "trend", "map")]
            + [{} if pane == tab else HIDDEN for pane in PANES])


# --- provenance ------------------------------------------------------------------------------------------


def select_fact(*events) -> str | object:
    """A click on any chart point, map area or table row selects its fact."""
    for event in events:
        if isinstance(event, dict) and event.get("points"):
            fact_id = event["points"][0].get("customdata")
            if isinstance(fact_id, list):
                fact_id = fact_id[0] if fact_id else ""
            if fact_id:
                return str(fact_id)
        if isinstance(event, dict) and event.get("rowId"):
            return str(event["rowId"])
    return no_update


def clicked_fact(trigger: str | None, clicks: dict) -> str | object:
    """The fact behind whichever input fired."""
    return select_fact(clicks.get(trigger)) if trigger else no_update


def render_provenance(fact_id: str | None) -> list | html.Div:
    """The quote behind a figure: exact words, article, outlet, date, qualifier, review status."""
    snap = repo().snapshot()
    found = data.provenance(snap, fact_id or "")
    if found is None:
        return provenance_hint()
    fact = found["fact"]
    badges = [dbc.Badge(fmt.qualifier_text(str(fact["qualifier"])),
                        color="warning" if fact["inexact"] else "light", text_color="dark" if not fact["inexact"] else None,
                        class_name="me-1")]
    if fact.get("source_kind") == "statistics":
        badges.append(dbc.Badge("统计数据 official statistics", color="info", class_name="me-1"))
    if fact["needs_review"]:
        badges.append(dbc.Badge("⚑ 待复核 needs review", color="danger", class_name="me-1"))
    elif str(fact["status"]) == "corrected":
        badges.append(dbc.Badge("已更正 corrected", color="info", class_name="me-1"))
    published = str(fact.get("published") or "")
    body = [
        html.Div(badges, className="q-badges"),
        html.Div(fact["exact"], className="q-value", id="q-value"),
        html.Div([bi("原文", "as written"), ": ", html.Span(str(fact["number_text"]), className="q-number-text")],
                 className="q-as-written"),
        html.Div(className="q-what", children=[
            html.B(str(fact["region_name"])), html.Span(f" {fact['region_name_en']}", className="en"), " · ",
            html.Span(str(fact["indicator_name_zh"])), html.Span(f" {fact['indicator_name_en']}", className="en"),
        ]),
        html.Div(f"{fact['year']}年 · {fact['period']}", className="q-period"),
        html.Blockquote(highlight(str(fact["quote"]), str(fact["number_text"])), className="q-quote", id="q-quote"),
        source_block(fact, published),
    ]
    if fact.get("review_reason"):
        body.append(html.Div([bi("复核原因", "Why review"), ": ", str(fact["review_reason"])], className="q-reason"))
    if found["others"]:
        body.append(html.Div(bi(f"同一地区、指标、年份的其他引文（{len(found['others'])}）",
                                f"Other quotes, same region, indicator, year ({len(found['others'])})"),
                             className="q-others-title"))
        body.append(html.Ul([html.Li([html.B(o["display"]), " — ", html.Span(str(o["title"]), className="q-meta")])
                             for o in found["others"]], className="q-others"))
    body.append(html.Div(f"fact {fact['fact_id']} · {fact['article_id']}", className="q-id"))
    return body


def source_block(fact: dict, published: str) -> html.Div:
    """Where the figure was read: the article (title, outlet, date) or, for statistics, the named source."""
    lines = [html.Div(str(fact["title"]) or "（无标题 untitled）", className="q-title")]
    if fact.get("source_kind") == "statistics":
        if fact.get("source_url"):
            lines.append(html.Div(html.A(str(fact["source_url"]), href=str(fact["source_url"]), target="_blank",
                                         rel="noopener noreferrer"), className="q-url"))
    else:
        lines.append(html.Div([str(fact["outlet"]) or "媒体不详 outlet unknown", " · ",
                               published or "日期不详 date unknown"], className="q-meta"))
    return html.Div(lines, className="q-article")


def highlight(quote: str, number_text: str) -> list:
    """The quote with the figure's own words marked."""
    position = quote.find(number_text) if number_text else -1
    if position < 0:
        return ["“", quote, "”"]
    end = position + len(number_text)
    return ["“", quote[:position], html.Mark(quote[position:end]), quote[end:], "”"]


# --- the table and downloads -----------------------------------------------------------------------------


def _query(table_key: dict | None) -> data.Query:
    return data.Query(**{k: tuple(v) if isinstance(v, list) else v for k, v in (table_key or {}).items()})


def table_rows(request: dict | None, table_key: dict | None) -> tuple:
    """A block of rows for the grid's infinite row model, in the grid's sort order; the grid fits short lists."""
    snap = repo().snapshot()
    if not snap.ok or request is None:
        return {"rowData": [], "rowCount": 0}, "", no_update
    ordered = repo().sorted(snap, _query(table_key), request.get("sortModel"))
    rows, total = data.table_page(ordered, int(request.get("startRow", 0)), int(request.get("endRow", 100)))
    height = min(GRID_MAX_HEIGHT, GRID_CHROME + GRID_ROW * max(total, 2))
    return {"rowData": rows, "rowCount": total}, f"{total:,} 条 figures", {"height": f"{height}px"}


def download_csv(n_clicks: int | None, table_key: dict | None, request: dict | None) -> dict | object:
    """Exactly the table on screen (filters, search and sort) as CSV."""
    if not n_clicks:
        return no_update
    snap = repo().snapshot()
    ordered = repo().sorted(snap, _query(table_key), (request or {}).get("sortModel"))
    stamp = pd.Timestamp.now(tz="Asia/Shanghai").strftime("%Y%m%d-%H%M")
    return dcc.send_bytes(data.table_csv(ordered), f"zj-talent-facts-{stamp}.csv")


def download_xlsx(n_clicks: int | None, table_key: dict | None, request: dict | None, view: dict | None) -> tuple:
    """The officials' workbook (etl.export) for the facts on screen."""
    if not n_clicks:
        return no_update, no_update
    try:
        from etl.export import ExportData, ExportFilters, workbook_bytes
    except ImportError:
        return no_update, dbc.Alert(bi("Excel 导出暂不可用（etl.export 尚未安装）。", "The Excel export is not available yet."),
                                    color="secondary", dismissable=True, class_name="py-1 small")
    snap = repo().snapshot()
    query = _query(table_key)
    ordered = repo().sorted(snap, query, (request or {}).get("sortModel"))
    facts = ordered[[c for c in data.FACT_COLUMNS if c in ordered.columns]].copy()
    for column in facts.columns:
        if isinstance(facts[column].dtype, pd.CategoricalDtype):
            facts[column] = facts[column].astype(str)
    chosen = ViewState.from_dict(view)
    filters = ExportFilters(families=list(query.families), indicators=list(query.indicators),
                            regions=list(chosen.regions), year_from=query.year_from, year_to=query.year_to)
    export = ExportData.from_frames(facts=facts, articles=snap.articles, indicators=snap.indicators.reset_index(drop=True),
                                    regions=snap.regions.reset_index(drop=True), filters=filters,
                                    data_as_of=snap.as_of.when)
    stamp = pd.Timestamp.now(tz="Asia/Shanghai").strftime("%Y%m%d-%H%M")
    return dcc.send_bytes(workbook_bytes(export), f"zj-talent-{stamp}.xlsx"), None


# --- registration ----------------------------------------------------------------------------------------

PURGE_GRID = """
function(tableKey) {
    try {
        const api = dash_ag_grid.getApi('facts-grid');
        if (api) { api.purgeInfiniteCache(); }
    } catch (e) { /* the grid is not on the page yet */ }
    return Date.now();
}
"""


def register(app: dash.Dash) -> None:
    """Attach every callback to `app`."""
    control_inputs = [Input(i, p) for i, p in CONTROLS]

    @app.callback(
        [Output(i, p, allow_duplicate=False) for i, p in CONTROLS]
        + [Output("f-family", "options"), Output("f-indicator", "options"), Output("f-region", "options"),
           Output("f-years", "min"), Output("f-years", "max"), Output("f-years", "marks"),
           Output("f-years", "disabled"), Output("v-period", "options"), Output("url", "search"),
           Output("view-state", "data"), Output("table-key", "data"), Output("root", "className"),
           Output("as-of", "children")],
        [Input("url", "search"), *control_inputs],
        [State("view-state", "data"), State("table-key", "data"), State("f-years", "min"), State("f-years", "max")],
    )
    def _sync(search, *rest):
        controls = list(rest[:len(CONTROLS)])
        previous_view, previous_table, low, high = rest[len(CONTROLS):]
        return sync_state(ctx.triggered_id, search, controls, previous_view, previous_table, (low, high))

    app.callback(Output("g-compare", "figure"), Output("n-compare", "children"),
                 Input("view-state", "data"))(render_compare)
    app.callback(Output("g-trend", "figure"), Output("n-trend", "children"),
                 Input("view-state", "data"))(render_trend)
    app.callback(Output("g-matrix", "figure"), Output("n-matrix", "children"),
                 Input("view-state", "data"))(render_matrix)
    app.callback(Output("g-map", "figure"), Output("n-map", "children"), Output("map-beside", "children"),
                 Input("view-state", "data"))(render_map)
    app.callback(Output("status-body", "children"), Input("view-state", "data"))(render_status)
    app.callback(Output("summary", "children"), Input("view-state", "data"))(render_summary)
    app.callback([Output("tb-period", "style"), Output("tb-trend", "style"), Output("tb-map", "style")]
                 + [Output(f"pane-{pane}", "style") for pane in PANES],
                 Input("view-state", "data"))(view_visibility)

    click_sources = [("g-compare", "clickData"), ("g-trend", "clickData"), ("g-matrix", "clickData"),
                     ("g-map", "clickData"), ("facts-grid", "cellClicked")]

    @app.callback(Output("selected-fact", "data", allow_duplicate=True),
                  [Input(i, p) for i, p in click_sources], prevent_initial_call=True)
    def _select(*events):
        return clicked_fact(ctx.triggered_id, dict(zip([i for i, _ in click_sources], events, strict=True)))

    app.callback(Output("provenance", "children"), Input("selected-fact", "data"))(render_provenance)

    app.clientside_callback(PURGE_GRID, Output("grid-refresh", "data"), Input("table-key", "data"),
                            prevent_initial_call=True)
    app.callback(Output("facts-grid", "getRowsResponse"), Output("table-count", "children"),
                 Output("facts-grid", "style"),
                 Input("facts-grid", "getRowsRequest"), State("table-key", "data"))(table_rows)
    app.callback(Output("download-csv", "data"), Input("btn-csv", "n_clicks"),
                 State("table-key", "data"), State("facts-grid", "getRowsRequest"), prevent_initial_call=True)(download_csv)
    app.callback(Output("download-xlsx", "data"), Output("export-note", "children"), Input("btn-xlsx", "n_clicks"),
                 State("table-key", "data"), State("facts-grid", "getRowsRequest"), State("view-state", "data"),
                 prevent_initial_call=True)(download_xlsx)
