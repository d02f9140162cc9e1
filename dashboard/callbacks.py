"""Wiring only: inputs → data (`repository`, `queries`) → figures and panels. Each callback is a plain
module-level function, callable from Python (tests and the benchmark call them directly); `register`
attaches them to the app.

One callback, `sync_state`, owns the view state: it reads the URL on load (and on back/forward), reads the
controls when they change, trims choices the data cannot honour, and writes the URL, the controls and the
`view-state` store. Every view listens to that store only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard import comparisons, figures, fmt, geo, panels, queries, repository, snapshot, tables
from dashboard.layout import option_label, provenance_hint
from dashboard.panels import PICK
from dashboard.urlstate import ABSOLUTE, LATEST, RATE, ViewState, from_query, to_query
from etl.curate.comparable import Basis

CONTROLS = [
    ("f-family", "value"), ("f-indicator", "value"), ("f-region", "value"), ("f-sub", "value"),
    ("f-level", "value"), ("f-years", "value"), ("f-review", "value"), ("tabs", "active_tab"),
    ("v-period", "value"), ("v-trend-kind", "value"), ("v-map-level", "value"), ("v-norm", "value"),
    ("t-search", "value"), ("t-source", "value"), ("lang", "value"), ("selected-fact", "data"),
]
TREND_DEFAULT_REGIONS = 8
NEW_SET = ("f-family", "f-indicator", "v-period", "v-map-level")  # controls after which a chart picks its set anew
TOOLBAR = ("norm", "period", "trend", "map")
TOOLBAR_FOR = {"compare": {"norm", "period"}, "trend": {"norm", "trend"}, "matrix": {"norm"},
               "map": {"norm", "period", "map"}, "check": set(), "status": set()}
HIDDEN = {"display": "none"}
PANES = ("compare", "trend", "matrix", "map", "check", "status")
GRID_ROW, GRID_CHROME, GRID_MAX_HEIGHT = 40, 52, 520
CHECK_ROW, CHECK_CHROME, CHECK_MAX_HEIGHT = 104, 64, 640


def repo() -> repository.Repository:
    return repository.current()


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
     norm, search, source, lang, fact) = values
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
        norm=norm or ABSOLUTE, search=search or "", source=source or "", lang=lang or "zh-en", fact=fact or "",
    )


def control_values(state: ViewState, years: tuple[int, int] | None) -> list:
    """The controls' values for a state, in `CONTROLS` order."""
    low, high = slider_bounds(years)
    slider = [state.year_from or low, state.year_to or high]
    return [list(state.families), list(state.indicators), list(state.regions), state.include_sub,
            list(state.levels), slider, state.review, state.tab, state.period, state.trend_kind, state.map_level,
            state.norm, state.search, state.source, state.lang, state.fact]


def view_key(state: ViewState) -> dict:
    """What the charts depend on: the state without the table's search and source filter, the language and
    the selected fact."""
    return state.replace(fact="", search="", source="", lang="zh-en").as_dict()


def norm_basis(snap: snapshot.Snapshot, state: ViewState) -> queries.RateBasis:
    """The rate the toggle offers for the indicators on screen (the chosen ones, else the one shown)."""
    if not snap.ok:
        return queries.RateBasis((), ())
    indicators = state.indicators
    if not indicators:
        _snap, facts = repository.facts_for(repo(), state)
        indicators = queries.focus_indicators(snap, facts, state)
    return queries.rate_basis(snap, indicators)


def sync_state(trigger: str | None, search: str | None, controls: list, previous_view: dict | None,
               previous_table: dict | None, slider_range: tuple | None = None) -> list:
    """URL or controls → normalized state → controls, options, URL and stores (see `register` for order)."""
    snap = repo().snapshot()
    state = from_query(search) if trigger in (None, "url") else state_from_controls(controls, slider_range)
    if trigger not in (None, "url", *NEW_SET) and previous_view:  # the comparable set is not a control
        state = state.replace(cmp=str(previous_view.get("cmp") or ""))
    options = queries.filter_options(snap, state)
    state = options.state
    basis = norm_basis(snap, state)
    if state.norm == RATE and not basis.available:  # never divide a percentage or rank: show absolute values
        state = state.replace(norm=ABSOLUTE)
    norm_choices, norm_tip, norm_note = panels.norm_controls(snap, basis)
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
    table = asdict(queries.query_for(snap, state, with_search=True)) if snap.ok else {}
    return [
        *control_out,
        [option_label(o, "family") for o in options.families],
        [option_label(o, "indicator") for o in options.indicators],
        [option_label(o, "region") for o in options.regions],
        slider_min, slider_max, marks, years is None or years[0] == years[1],
        period_options,
        norm_choices, norm_tip, norm_note,
        no_update if query == (search or "") else query,
        no_update if view == previous_view else view,
        no_update if table == previous_table else table,
        f"app lang-{state.lang}" + (" norm-rate" if state.norm == RATE else ""),  # CSS shows the ※ key
        panels.as_of_badge(snap),
    ]


# --- views -----------------------------------------------------------------------------------------------


@dataclass
class View:
    """What a chart view starts from: the state on screen, the snapshot, the facts its filters select and the
    indicators it shows (the chosen ones, else the most-quoted)."""

    state: ViewState
    snap: snapshot.Snapshot
    facts: pd.DataFrame
    indicators: tuple[str, ...]


def open_view(view: dict, tab: str) -> View | None:
    """The view if `tab` is the one on screen, else None: a hidden view's callback leaves it as it is."""
    state = ViewState.from_dict(view)
    if state.tab != tab:
        return None
    snap, facts = repository.facts_for(repo(), state)
    return View(state, snap, facts, queries.focus_indicators(snap, facts, state))


class ViewRows:
    """What a chart draws for the chosen indicators: one comparable set of their figures (or, per capita /
    per GDP, of the rates computed from them), the figures it leaves out with the reason, and the rates that
    cannot be computed, set apart to be listed, never drawn as 0."""

    def __init__(self, snap: snapshot.Snapshot, facts: pd.DataFrame, state: ViewState, indicators: tuple[str, ...],
                 choose) -> None:
        self.rate = queries.wants_rate(state)
        self.notes: list = []
        if not self.rate:
            chosen = facts[facts["indicator_code"].isin(indicators)] if indicators else facts.iloc[0:0]
            self.found = choose(chosen)
            self.cannot, self.codes = chosen.iloc[0:0], indicators
        else:
            basis = queries.rate_basis(snap, indicators)
            derived = repository.rate_rows(repo(), snap, state, indicators)
            computable = derived["computable"].astype(bool) if not derived.empty else pd.Series(dtype=bool)
            self.found = choose(derived[computable])
            self.cannot = derived[~computable].drop_duplicates(["numerator_fact_id"])
            self.codes = tuple(d.code for d in basis.derived)
            if basis.missing:
                names = "、".join(str(snap.indicators.at[c, "name_zh"]) if c in snap.indicators.index else c
                                 for c in basis.missing)
                self.notes.append(panels.hint(f"{names}没有人均或单位GDP口径，未显示。",
                                              "Indicators without a per-capita form are not shown."))
        self.rows = self.found.shown

    def rate_words(self) -> tuple[str, str] | None:
        return ("分母为统计数字", "statistics as denominators") if self.rate else None

    def figure(self, draw, snap: snapshot.Snapshot, state: ViewState) -> go.Figure:
        """`draw(rows)` with its caption, or a message when every rate lacks its denominator; raises
        figures.UnitMismatch."""
        if self.rows.empty and len(self.cannot):
            return figures.message_figure("没有可计算的数值，见下方 Nothing to compute: see below", height=200)
        if self.rows.empty:
            return figures.message_figure("没有符合条件的数据 No figures match these filters")
        caption = comparisons.caption(snap, self.codes, self.found, state, self.rate_words())
        return figures.captioned(draw(self.rows), caption)

    def lists(self, snap: snapshot.Snapshot, state: ViewState) -> list:
        """Under the chart: what it leaves out and why, the chosen regions without a figure, the rates that
        cannot be computed."""
        missing = comparisons.missing_regions(snap, state, self.found)
        return [*comparisons.left_out_list(self.found, state, missing), *panels.cannot_list(self.cannot)]

    def heading(self, snap: snapshot.Snapshot, state: ViewState, series: bool = False) -> list:
        """Above the chart: the sets on offer, why the view is empty, the regions' differing years."""
        years = self.found.years_note()
        return panels.notes(comparisons.set_chips(self.found, state, series), comparisons.empty_note(snap, state),
                            panels.hint(*years) if years else None, panels.auto_note(state), *self.notes)


def refusal(error: figures.UnitMismatch) -> tuple:
    """A chart's outputs when its figures have different units: a message, the reason, nothing listed."""
    return figures.message_figure("单位不同，不能同轴比较 Different units: not drawn"), panels.unit_alert(error), []


def render_compare(view: dict) -> tuple:
    """Ranked bar chart: one comparable set of regions by the chosen indicator (or its rate)."""
    opened = open_view(view, "compare")
    if opened is None:
        return no_update, no_update, no_update
    state = opened.state
    shown = ViewRows(opened.snap, opened.facts, state, opened.indicators,
                     lambda rows: queries.comparison(rows, state.period, Basis.parse(state.cmp)))
    try:
        figure = shown.figure(figures.ranked_bar, opened.snap, state)
    except figures.UnitMismatch as error:
        return refusal(error)
    n_regions = shown.rows["region_code"].nunique() if not shown.rows.empty else 0
    more = panels.hint(f"共 {n_regions} 个地区，显示数值最大的 {figures.MAX_BARS} 个。",
                       f"{n_regions} regions; the top {figures.MAX_BARS} are shown.") if n_regions > figures.MAX_BARS else None
    return figure, [*shown.heading(opened.snap, state), *panels.notes(more)], shown.lists(opened.snap, state)


def render_trend(view: dict) -> tuple:
    """Region × year for the chosen regions (or the most-quoted ones), one kind of figure and one level."""
    opened = open_view(view, "trend")
    if opened is None:
        return no_update, no_update, no_update
    state, indicators = opened.state, opened.indicators
    facts = opened.facts[opened.facts["indicator_code"].isin(indicators)] if indicators else opened.facts
    hint = None
    if not state.regions and not facts.empty:
        top = facts["region_code"].value_counts()
        top = list(top[top > 0].index[:TREND_DEFAULT_REGIONS])
        facts = facts[facts["region_code"].isin(top)]
        state = state.replace(regions=tuple(str(c) for c in top))  # the rates follow the same regions
        hint = panels.hint(f"未选择地区，显示数据最多的 {len(top)} 个地区。",
                           f"No region chosen: the {len(top)} most-quoted are shown.")
    shown = ViewRows(opened.snap, facts, state, indicators,
                     lambda rows: queries.comparison(rows, basis=Basis.parse(state.cmp), per=queries.SERIES))
    try:
        figure = shown.figure(lambda rows: figures.trend(rows.sort_values("year", kind="stable"), state.trend_kind),
                              opened.snap, state.replace(period=LATEST))
    except figures.UnitMismatch as error:
        return refusal(error)
    return figure, [*shown.heading(opened.snap, opened.state, series=True), *panels.notes(hint)], \
        shown.lists(opened.snap, opened.state)


def render_matrix(view: dict) -> tuple:
    """Region × indicator: who reports what. The regions are of one level and each column shows one kind of
    figure (the commonest); per capita: the rates, '无法计算' where there is none."""
    opened = open_view(view, "matrix")
    if opened is None:
        return no_update, no_update
    state = opened.state
    rate = queries.wants_rate(state)
    rows = repository.rate_rows(repo(), opened.snap, state, opened.indicators) if rate else opened.facts
    cells, found, level, others = queries.matrix_sets(rows, state.levels)
    if rate and not cells.empty:  # cells are narrow: the heading names the basis, the cells carry the numbers
        basis = {u: fmt.RATE_SHORT.get(u, u) for u in cells["unit"].unique()}
        cells = cells.assign(
            display=[d if not c else d.replace(fmt.unit_suffix(str(u)), "") for d, c, u in
                     zip(cells["display"], cells["computable"], cells["unit"], strict=True)],
            indicator_name_zh=[f"{n}·{basis[u]}" for n, u in
                               zip(cells["numerator_name_zh"], cells["unit"], strict=True)])
    heading = [panels.matrix_heading(rate), *panels.notes(comparisons.level_links(state, level, others),
                                                          comparisons.empty_note(opened.snap, state))]
    return figures.matrix(cells), [*heading, *comparisons.left_out_list(found, state)]


def render_map(view: dict) -> tuple:
    """Choropleth of cities or counties for one indicator (or its rate); zones and towns listed beside."""
    opened = open_view(view, "map")
    if opened is None:
        return no_update, no_update, no_update, no_update
    state, indicators = opened.state, opened.indicators[:1]
    basis = Basis.parse(state.cmp)
    basis = basis if basis is not None and basis.level == state.map_level else None
    beside = geo.beside_rows(opened.facts[opened.facts["indicator_code"].isin(indicators)] if indicators
                             else opened.facts.iloc[0:0])
    shown = ViewRows(opened.snap, opened.facts, state, indicators,
                     lambda rows: queries.comparison(geo.with_boundary(rows, state.map_level), state.period, basis,
                                                     level=state.map_level))
    figure = figures.choropleth(shown.rows, geo.boundaries(state.map_level), geo.boundary_url(state.map_level),
                                centres=geo.centres(state.map_level) if shown.rate else None)
    if not shown.rows.empty:
        figure = figures.captioned(figure, comparisons.caption(opened.snap, shown.codes, shown.found, state,
                                                               shown.rate_words()))
    notes = shown.heading(opened.snap, state)
    if len(state.indicators) > 1:
        notes.append(panels.hint("地图一次显示一个指标（第一个所选指标）。", "The map shows one indicator: the first chosen."))
    if shown.rows.empty and len(shown.found.left_out):
        notes.append(panels.hint("本层级没有可比较的数字，试试切换地图层级。",
                                 "No comparable figures at this level: try the other map level."))
    return figure, notes, panels.beside_list(beside), shown.lists(opened.snap, state)


def render_summary(view: dict) -> list:
    """Counts for the current filters (see `panels.summary_stats`)."""
    _snap, facts = repository.facts_for(repo(), ViewState.from_dict(view))
    return panels.summary_stats(facts)


def render_check(view: dict) -> tuple:
    """Every article figure beside the official one, inconsistent first, then the largest gaps."""
    state = ViewState.from_dict(view)
    if state.tab != "check":
        return no_update, no_update
    snap = repo().snapshot()
    frame = snap.crosscheck if snap.ok else pd.DataFrame()
    if frame.empty:
        return panels.check_heading(frame), HIDDEN
    height = min(CHECK_MAX_HEIGHT, CHECK_CHROME + CHECK_ROW * len(frame))
    return panels.check_heading(frame), {"height": f"{height}px"}


def check_rows(request: dict | None) -> dict:
    """A block of cross-check rows for the grid, in the worst-first order of the view."""
    snap = repo().snapshot()
    if not snap.ok or request is None or snap.crosscheck.empty:
        return {"rowData": [], "rowCount": 0}
    start, end = tables.grid_window(request, 50)
    return {"rowData": tables.check_records(snap.crosscheck.iloc[start:end]), "rowCount": len(snap.crosscheck)}


def render_status(view: dict) -> list | object:
    """Last refresh, outcome, recent failures and the run log."""
    state = ViewState.from_dict(view)
    if state.tab != "status":
        return no_update
    return panels.status_panel(repo().snapshot())


def view_visibility(view: dict) -> list[dict]:
    """Show the current view's pane and only the toolbar choices that apply to it."""
    tab = ViewState.from_dict(view).tab
    wanted = TOOLBAR_FOR.get(tab, set())
    return ([{} if key in wanted else HIDDEN for key in TOOLBAR]
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


def picked_fact(trigger: dict | str | None, n_clicks: list | None) -> str | object:
    """A click on a fact named in a list (the cannot-compute note, the quote panel's own links)."""
    if not isinstance(trigger, dict) or not any(n_clicks or []):
        return no_update  # the list was (re)drawn, nothing was clicked
    return str(trigger.get("fact") or "") or no_update


def render_provenance(fact_id: str | None) -> list | html.Div:
    """The quote behind a figure, or for a rate its numerator and denominator (see `panels`)."""
    snap = repo().snapshot()
    found = queries.provenance(snap, fact_id or "")
    if found is not None:
        return panels.fact_panel(found, queries.checks_for(snap, str(found["fact"]["fact_id"])))
    derived = queries.derived_provenance(snap, fact_id or "")
    return panels.derived_panel(derived) if derived is not None else provenance_hint()


# --- the table and downloads -----------------------------------------------------------------------------


def _query(table_key: dict | None) -> queries.Query:
    return queries.Query(**{k: tuple(v) if isinstance(v, list) else v for k, v in (table_key or {}).items()})


def table_rows(request: dict | None, table_key: dict | None) -> tuple:
    """A block of rows for the grid's infinite row model, in the grid's sort order; the grid fits short lists."""
    snap = repo().snapshot()
    if not snap.ok or request is None:
        return {"rowData": [], "rowCount": 0}, "", no_update
    ordered = repo().sorted(snap, _query(table_key), request.get("sortModel"))
    rows, total = tables.table_page(ordered, *tables.grid_window(request, 100))
    height = min(GRID_MAX_HEIGHT, GRID_CHROME + GRID_ROW * max(total, 2))
    return {"rowData": rows, "rowCount": total}, f"{total:,} 条 figures", {"height": f"{height}px"}


def download_csv(n_clicks: int | None, table_key: dict | None, request: dict | None) -> dict | object:
    """Exactly the table on screen (filters, search and sort) as CSV."""
    if not n_clicks:
        return no_update
    snap = repo().snapshot()
    ordered = repo().sorted(snap, _query(table_key), (request or {}).get("sortModel"))
    stamp = pd.Timestamp.now(tz="Asia/Shanghai").strftime("%Y%m%d-%H%M")
    return dcc.send_bytes(tables.table_csv(ordered), f"zj-talent-facts-{stamp}.csv")


def download_xlsx(n_clicks: int | None, table_key: dict | None, request: dict | None, view: dict | None) -> tuple:
    """The officials' workbook (etl.workbook.export) for the facts on screen."""
    if not n_clicks:
        return no_update, no_update
    snap = repo().snapshot()
    query = _query(table_key)
    ordered = repo().sorted(snap, query, (request or {}).get("sortModel"))
    workbook = tables.table_workbook(snap, ordered, query, ViewState.from_dict(view).regions)
    stamp = pd.Timestamp.now(tz="Asia/Shanghai").strftime("%Y%m%d-%H%M")
    return dcc.send_bytes(workbook, f"zj-talent-{stamp}.xlsx"), None


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
    register_state(app)
    register_views(app)
    register_selection(app)
    register_table(app)


def register_state(app: dash.Dash) -> None:
    """`sync_state`: the URL and the controls in, the normalized state and everything that follows it out."""

    @app.callback(
        [Output(i, p, allow_duplicate=False) for i, p in CONTROLS]
        + [Output("f-family", "options"), Output("f-indicator", "options"), Output("f-region", "options"),
           Output("f-years", "min"), Output("f-years", "max"), Output("f-years", "marks"),
           Output("f-years", "disabled"), Output("v-period", "options"), Output("v-norm", "options"),
           Output("norm-tip", "children"), Output("norm-note", "children"), Output("url", "search"),
           Output("view-state", "data"), Output("table-key", "data"), Output("root", "className"),
           Output("as-of", "children")],
        [Input("url", "search"), *(Input(i, p) for i, p in CONTROLS)],
        [State("view-state", "data"), State("table-key", "data"), State("f-years", "min"), State("f-years", "max")],
    )
    def _sync(search, *rest):
        controls = list(rest[:len(CONTROLS)])
        previous_view, previous_table, low, high = rest[len(CONTROLS):]
        return sync_state(ctx.triggered_id, search, controls, previous_view, previous_table, (low, high))


def register_views(app: dash.Dash) -> None:
    """Every view, the summary and the toolbar follow the `view-state` store."""
    app.callback(Output("g-compare", "figure"), Output("n-compare", "children"), Output("cc-compare", "children"),
                 Input("view-state", "data"))(render_compare)
    app.callback(Output("g-trend", "figure"), Output("n-trend", "children"), Output("cc-trend", "children"),
                 Input("view-state", "data"))(render_trend)
    app.callback(Output("g-matrix", "figure"), Output("n-matrix", "children"),
                 Input("view-state", "data"))(render_matrix)
    app.callback(Output("g-map", "figure"), Output("n-map", "children"), Output("map-beside", "children"),
                 Output("cc-map", "children"), Input("view-state", "data"))(render_map)
    app.callback(Output("n-check", "children"), Output("check-grid", "style"),
                 Input("view-state", "data"))(render_check)
    app.callback(Output("check-grid", "getRowsResponse"), Input("check-grid", "getRowsRequest"))(check_rows)
    app.callback(Output("status-body", "children"), Input("view-state", "data"))(render_status)
    app.callback(Output("summary", "children"), Input("view-state", "data"))(render_summary)
    app.callback([Output(f"tb-{key}", "style") for key in TOOLBAR]
                 + [Output(f"pane-{pane}", "style") for pane in PANES],
                 Input("view-state", "data"))(view_visibility)


def register_selection(app: dash.Dash) -> None:
    """A click on a chart, a grid row or a named fact selects it; the quote panel shows the selected fact."""
    click_sources = [("g-compare", "clickData"), ("g-trend", "clickData"), ("g-matrix", "clickData"),
                     ("g-map", "clickData"), ("facts-grid", "cellClicked"), ("check-grid", "cellClicked")]

    @app.callback(Output("selected-fact", "data", allow_duplicate=True),
                  [Input(i, p) for i, p in click_sources], prevent_initial_call=True)
    def _select(*events):
        return clicked_fact(ctx.triggered_id, dict(zip([i for i, _ in click_sources], events, strict=True)))

    @app.callback(Output("selected-fact", "data", allow_duplicate=True),
                  Input({"type": PICK, "fact": ALL}, "n_clicks"), prevent_initial_call=True)
    def _pick(_n_clicks):
        fired = [t["value"] for t in ctx.triggered] if ctx.triggered else []  # new buttons fire with None
        return picked_fact(ctx.triggered_id, fired)

    app.callback(Output("provenance", "children"), Input("selected-fact", "data"))(render_provenance)


def register_table(app: dash.Dash) -> None:
    """The facts grid (emptied in the browser when the filters change) and its two downloads."""
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
