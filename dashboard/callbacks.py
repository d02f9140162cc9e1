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
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard import figures, fmt, geo, queries, repository, snapshot, tables
from dashboard.layout import bi, norm_options, option_label, provenance_hint
from dashboard.urlstate import ABSOLUTE, LATEST, RATE, ViewState, from_query, to_query
from etl.vocabulary import FACT_COLUMNS, STATISTICS

CONTROLS = [
    ("f-family", "value"), ("f-indicator", "value"), ("f-region", "value"), ("f-sub", "value"),
    ("f-level", "value"), ("f-years", "value"), ("f-review", "value"), ("tabs", "active_tab"),
    ("v-period", "value"), ("v-trend-kind", "value"), ("v-map-level", "value"), ("v-norm", "value"),
    ("t-search", "value"), ("t-source", "value"), ("lang", "value"), ("selected-fact", "data"),
]
TREND_DEFAULT_REGIONS = 8
TOOLBAR = ("norm", "period", "trend", "map")
TOOLBAR_FOR = {"compare": {"norm", "period"}, "trend": {"norm", "trend"}, "matrix": {"norm"},
               "map": {"norm", "period", "map"}, "check": set(), "status": set()}
HIDDEN = {"display": "none"}
PANES = ("compare", "trend", "matrix", "map", "check", "status")
CANNOT_SHOWN = 12
PICK = "pick-fact"  # pattern-matching id type of anything that opens a fact in the quote panel
GRID_ROW, GRID_CHROME, GRID_MAX_HEIGHT = 40, 52, 520
CHECK_ROW, CHECK_CHROME, CHECK_MAX_HEIGHT = 104, 64, 640
CHECK_QUOTE_CHARS = 44  # the grid shows the start of the quote; its tooltip and the quote panel the whole


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


def norm_controls(snap: snapshot.Snapshot, basis: queries.RateBasis) -> tuple[list[dict], list, list]:
    """The toggle's options, its tooltip and the note beside it: what the rate is, or why there is none."""
    names = lambda codes: "、".join(str(snap.indicators.at[c, "name_zh"]) if c in snap.indicators.index else c  # noqa: E731
                                    for c in codes)
    if not basis.available:
        tip = [bi(f"{names(basis.missing) or '所选指标'}没有人均或单位GDP口径。指标体系只为人数、个数、金额等总量声明分母；"
                  "百分比、排名、指数等从不再除以人口或GDP。",
                  "The chosen indicator has no per-capita or per-GDP form: the taxonomy declares denominators only "
                  "for counts and money; percentages, ranks and indices are never divided.")]
        return norm_options(available=False), tip, [bi("所选指标无人均口径", "not available for this indicator")]
    zh, en = basis.label()
    derived = "、".join(d.name_zh for d in basis.derived)
    tip = [bi(f"按{zh}比较：{derived}。分母是官方统计的同年数值；没有同年数值时用相邻年份，并标 {fmt.PROXY_MARK}；"
              "没有分母的地区不画出，在图下列出原因。",
              f"Compare {en}. The denominator is the official figure of the same year, else of a neighbouring "
              f"year (marked {fmt.PROXY_MARK}); regions without one are listed under the chart, not drawn.")]
    if basis.missing:
        tip.append(html.Div(bi(f"{names(basis.missing)}没有此口径。", "Some chosen indicators have no such form."),
                            className="mt-1"))
    return norm_options((zh, en), available=True), tip, []


def sync_state(trigger: str | None, search: str | None, controls: list, previous_view: dict | None,
               previous_table: dict | None, slider_range: tuple | None = None) -> list:
    """URL or controls → normalized state → controls, options, URL and stores (see `register` for order)."""
    snap = repo().snapshot()
    state = from_query(search) if trigger in (None, "url") else state_from_controls(controls, slider_range)
    options = queries.filter_options(snap, state)
    state = options.state
    basis = norm_basis(snap, state)
    if state.norm == RATE and not basis.available:  # never divide a percentage or rank: show absolute values
        state = state.replace(norm=ABSOLUTE)
    norm_choices, norm_tip, norm_note = norm_controls(snap, basis)
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
        as_of_badge(snap),
    ]


def as_of_badge(snap: snapshot.Snapshot) -> list:
    if not snap.as_of.when:
        return [bi("数据截至", "Data as of"), " —"]
    return [bi("数据截至", "Data as of"), " ", html.B(snap.as_of.when),
            html.Span(f" · {snap.as_of.source_zh}", className="as-of-src"),
            html.Span(f" {snap.as_of.source_en}", className="as-of-src en")]


# --- views -----------------------------------------------------------------------------------------------


def _note(*parts) -> list:
    return [p for p in parts if p]


def _title(snap: snapshot.Snapshot, indicators: tuple[str, ...], subtitle: tuple[str, str]) -> html.Div:
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


class ViewRows:
    """What a chart draws for the chosen indicators: their figures, or (per capita / per GDP) the rates
    computed from them, with the rates that cannot be computed set apart to be listed, never drawn as 0."""

    def __init__(self, snap: snapshot.Snapshot, facts: pd.DataFrame, state: ViewState, indicators: tuple[str, ...],
                 shape) -> None:
        self.rate = queries.wants_rate(state)
        self.notes: list = []
        if not self.rate:
            chosen = facts[facts["indicator_code"].isin(indicators)] if indicators else facts.iloc[0:0]
            self.rows, self.cannot, self.codes = shape(chosen), chosen.iloc[0:0], indicators
            return
        basis = queries.rate_basis(snap, indicators)
        derived = repository.rate_rows(repo(), snap, state, indicators)
        shaped = shape(derived) if not derived.empty else derived
        computable = shaped["computable"].astype(bool) if not shaped.empty else pd.Series(dtype=bool)
        self.rows, self.cannot = shaped[computable], shaped[~computable]
        self.codes = tuple(d.code for d in basis.derived)
        if basis.missing:
            names = "、".join(str(snap.indicators.at[c, "name_zh"]) if c in snap.indicators.index else c
                             for c in basis.missing)
            self.notes.append(html.Div(className="hint", children=bi(
                f"{names}没有人均或单位GDP口径，未显示。", "Indicators without a per-capita form are not shown.")))

    def subtitle(self, zh: str, en: str) -> tuple[str, str]:
        if not self.rate:
            return zh, en
        return f"{zh} · 分母为官方统计", f"{en} · official denominators"


def cannot_list(rows: pd.DataFrame) -> list:
    """Rates that cannot be computed, named with their region, figure and reason, under the chart."""
    if rows is None or rows.empty:
        return []
    items = []
    for row in rows.head(CANNOT_SHOWN).itertuples(index=False):
        reason_zh, _, reason_en = str(row.note).partition(" · ")
        items.append(html.Li(html.Button(id={"type": PICK, "fact": str(row.fact_id)}, className="cannot-item", children=[
            html.B(str(row.region_name)), f" {row.year}年 ",
            html.Span(f"{row.numerator_name_zh} {fmt.value_label(float(row.numerator_value), str(row.numerator_unit), str(row.qualifier))}",
                      className="cannot-fig"),
            " — ", html.Span(reason_zh, className="cannot-why"), html.Span(f" {reason_en}", className="en"),
        ])))
    more = len(rows) - CANNOT_SHOWN
    if more > 0:
        items.append(html.Li(bi(f"另有 {more} 个", f"and {more} more"), className="cannot-more"))
    return [html.Div(className="cannot-head", children=[
        html.Span(fmt.CANNOT[0], className="cannot-title"), html.Span(f" {fmt.CANNOT[1]}", className="en"),
        html.Span(f" · {len(rows)} 个数值没有分母，未画出", className="cannot-sub"),
        html.Span(f" {len(rows)} figure{'s' if len(rows) > 1 else ''} without a denominator, not drawn",
                  className="en cannot-sub")]),
        html.Ul(items, className="cannot-ul")]


def render_compare(view: dict) -> tuple:
    """Ranked bar chart: regions by the chosen indicator (or its rate), latest (or chosen) year."""
    state = ViewState.from_dict(view)
    if state.tab != "compare":
        return no_update, no_update, no_update
    snap, facts = repository.facts_for(repo(), state)
    indicators = queries.focus_indicators(snap, facts, state)
    shown = ViewRows(snap, facts, state, indicators, lambda rows: queries.latest_rows(rows, state.period))
    rows = shown.rows
    try:
        figure = figures.ranked_bar(rows) if not (rows.empty and len(shown.cannot)) else figures.message_figure(
            "没有可计算的数值，见下方 Nothing to compute: see below", height=200)
    except figures.UnitMismatch as error:
        return (*_refusal(error), [])
    period = ("各地区最新数值", "latest figure per region") if state.period == LATEST else (
        f"{state.period}年", f"year {state.period}")
    n_regions = rows["region_code"].nunique() if not rows.empty else 0
    more = html.Div(className="hint", children=bi(f"共 {n_regions} 个地区，显示数值最大的 {figures.MAX_BARS} 个。",
                                                  f"{n_regions} regions; the top {figures.MAX_BARS} are shown.")
                    ) if n_regions > figures.MAX_BARS else None
    return figure, _note(_title(snap, shown.codes, shown.subtitle(*period)), _auto_note(state), *shown.notes,
                         more), cannot_list(shown.cannot)


def render_trend(view: dict) -> tuple:
    """Region × year for the chosen regions (or the most-quoted ones)."""
    state = ViewState.from_dict(view)
    if state.tab != "trend":
        return no_update, no_update, no_update
    snap, facts = repository.facts_for(repo(), state)
    indicators = queries.focus_indicators(snap, facts, state)
    facts = facts[facts["indicator_code"].isin(indicators)] if indicators else facts
    hint = None
    if not state.regions and not facts.empty:
        top = facts["region_code"].value_counts()
        top = list(top[top > 0].index[:TREND_DEFAULT_REGIONS])
        facts = facts[facts["region_code"].isin(top)]
        state = state.replace(regions=tuple(str(c) for c in top))  # the rates follow the same regions
        hint = html.Div(className="hint", children=bi(
            f"未选择地区，显示数据最多的 {len(top)} 个地区。", f"No region chosen: the {len(top)} most-quoted are shown."))
    shown = ViewRows(snap, facts, state, indicators, queries.yearly_rows)
    try:
        figure = figures.trend(shown.rows, state.trend_kind) if not (shown.rows.empty and len(shown.cannot)) else \
            figures.message_figure("没有可计算的数值，见下方 Nothing to compute: see below", height=200)
    except figures.UnitMismatch as error:
        return (*_refusal(error), [])
    return figure, _note(_title(snap, shown.codes, shown.subtitle("逐年", "year by year")), _auto_note(state),
                         *shown.notes, hint), cannot_list(shown.cannot)


def render_matrix(view: dict) -> tuple:
    """Region × indicator: who reports what (per capita: the rates, '无法计算' where there is no denominator)."""
    state = ViewState.from_dict(view)
    if state.tab != "matrix":
        return no_update, no_update
    snap, facts = repository.facts_for(repo(), state)
    if queries.wants_rate(state):
        indicators = queries.focus_indicators(snap, facts, state)
        derived = repository.rate_rows(repo(), snap, state, indicators)
        cells = queries.matrix_cells(derived) if not derived.empty else derived
        if not cells.empty:  # cells are narrow: the heading names the basis, the cells carry the numbers
            basis = {u: fmt.RATE_SHORT.get(u, u) for u in cells["unit"].unique()}
            cells = cells.assign(
                display=[d if not c else d.replace(fmt.unit_suffix(str(u)), "") for d, c, u in
                         zip(cells["display"], cells["computable"], cells["unit"], strict=True)],
                indicator_name_zh=[f"{n}·{basis[u]}" for n, u in
                                   zip(cells["numerator_name_zh"], cells["unit"], strict=True)])
        sub = ("颜色表示引文数量，格内为每万常住人口或每亿元GDP的数值", "colour = number of quotes, text = the rate")
    else:
        cells = queries.matrix_cells(facts)
        sub = ("颜色表示引文数量，格内为最新数值", "colour = number of quotes, text = latest figure")
    heading = html.Div(className="view-heading", children=[
        bi("谁报告了什么", "Who reports what", class_name="vh-main"), html.Span(" · ", className="vh-sep"),
        bi(*sub, class_name="vh-sub")])
    return figures.matrix(cells), [heading]


def render_map(view: dict) -> tuple:
    """Choropleth of cities or counties for one indicator (or its rate); zones and towns listed beside."""
    state = ViewState.from_dict(view)
    if state.tab != "map":
        return no_update, no_update, no_update, no_update
    snap, facts = repository.facts_for(repo(), state)
    indicators = queries.focus_indicators(snap, facts, state)[:1]
    shown = ViewRows(snap, facts, state, indicators, lambda rows: queries.latest_rows(rows, state.period))
    on_map, beside = geo.map_rows(shown.rows, state.map_level, state.period)
    figure = figures.choropleth(on_map, geo.boundaries(state.map_level), geo.boundary_url(state.map_level),
                                centres=geo.centres(state.map_level) if shown.rate else None)
    level = ("地级市", "cities") if state.map_level == "city" else ("县(市、区)", "counties")
    notes = [_title(snap, shown.codes, shown.subtitle(*level)), _auto_note(state), *shown.notes]
    if len(state.indicators) > 1:
        notes.append(html.Div(className="hint", children=bi("地图一次显示一个指标（第一个所选指标）。",
                                                            "The map shows one indicator: the first chosen.")))
    chosen = facts[facts["indicator_code"].isin(indicators)] if indicators else facts.iloc[0:0]
    other_level = chosen[chosen["region_level"] == ("county" if state.map_level == "city" else "city")]
    if on_map.empty and not other_level.empty:
        notes.append(html.Div(className="hint", children=bi("本层级没有数据，试试切换地图层级。",
                                                            "No figures at this level: try the other map level.")))
    return figure, _note(*notes), beside_list(beside), cannot_list(shown.cannot)


def beside_list(rows: pd.DataFrame) -> list:
    """Zones and towns have no boundary: their figures are listed next to the map."""
    head = html.Div(bi("无边界的功能区、乡镇", "Zones and towns (no boundary)"), className="beside-title")
    if rows.empty:
        return [head, html.Div(bi("无", "none"), className="text-muted small")]
    official = figures.is_statistics(rows)
    items = [html.Li(className="beside-item", children=[
        html.Div([html.Span(row.region_name, className="beside-name"),
                  html.Span(f" {row.year}", className="beside-year")]),
        html.Div(row.display + (f" {fmt.STAT_MARK}" if stat else "") + (" ⚑" if row.needs_review else ""),
                 className="beside-value" + (" inexact" if row.inexact else "") + (" stat" if stat else "")),
    ]) for row, stat in zip(rows.head(20).itertuples(index=False), official[:20], strict=True)]
    return [head, html.Ul(items, className="beside-ul")]


def render_summary(view: dict) -> list:
    """Counts for the current filters: facts, regions, indicators, articles, official figures, approximations,
    figures to review."""
    state = ViewState.from_dict(view)
    _snap, facts = repository.facts_for(repo(), state)
    official = facts["source_kind"] == STATISTICS if len(facts) else pd.Series(dtype=bool)
    stats = [
        (len(facts), "条数据", "figures"),
        (facts["region_code"].nunique() if len(facts) else 0, "个地区", "regions"),
        (facts["indicator_code"].nunique() if len(facts) else 0, "个指标", "indicators"),
        (facts.loc[~official, "article_id"].nunique() if len(facts) else 0, "篇文章", "articles"),
        (int(official.sum()) if len(facts) else 0, "条官方统计", "official statistics"),
        (int(facts["inexact"].sum()) if len(facts) else 0, "条约数或上下限", "approximate or bounds"),
        (int(facts["needs_review"].sum()) if len(facts) else 0, "条待复核", "need review"),
    ]
    return [html.Div(className="stat", children=[html.Div(f"{n:,}", className="stat-n"),
                                                 html.Div(bi(zh, en), className="stat-l")])
            for n, zh, en in stats]


def render_check(view: dict) -> tuple:
    """Every article figure beside the official one, inconsistent first, then the largest gaps."""
    state = ViewState.from_dict(view)
    if state.tab != "check":
        return no_update, no_update
    snap = repo().snapshot()
    frame = snap.crosscheck if snap.ok else pd.DataFrame()
    n_bad = int((~frame["consistent"]).sum()) if not frame.empty else 0
    from etl.curate.percapita import TOLERANCE

    heading = html.Div(className="view-heading", children=[
        bi("文章数字与官方统计核对", "Article figures against official statistics", class_name="vh-main"),
        html.Span(" · ", className="vh-sep"),
        bi(f"共 {len(frame)} 对，{n_bad} 对不符；不符的在前，再按相对差从大到小",
           f"{len(frame)} pairs, {n_bad} inconsistent; inconsistent first, then by the size of the gap",
           class_name="vh-sub")])
    rule = html.Div(className="hint", children=bi(
        f"判断规则：“超/逾/多”须官方数 ≥ 文章数，“最高/不到”须 ≤，“约/近”相差不超过 {TOLERANCE['approx']:.0%}，"
        f"确数相差不超过 {TOLERANCE['exact']:.0%}。官方年份为文章年份或其前一年。点击一行查看原文。",
        f"Rule: 'more than' needs official ≥ article, 'at most' ≤, 'about' within {TOLERANCE['approx']:.0%}, exact "
        f"within {TOLERANCE['exact']:.0%}. The official year is the article's or the one before. Click a row for "
        "the quote."))
    if frame.empty:
        return [heading, html.Div(className="hint", children=bi(
            "还没有可核对的数字：需要同一地区、同一指标既有文章数字又有官方统计。",
            "Nothing to check yet: a region and indicator need both an article figure and an official one."))], \
            HIDDEN
    height = min(CHECK_MAX_HEIGHT, CHECK_CHROME + CHECK_ROW * len(frame))
    return [heading, rule], {"height": f"{height}px"}


def check_rows(request: dict | None) -> dict:
    """A block of cross-check rows for the grid, in the worst-first order of the view."""
    snap = repo().snapshot()
    if not snap.ok or request is None or snap.crosscheck.empty:
        return {"rowData": [], "rowCount": 0}
    start, end = max(int(request.get("startRow", 0)), 0), max(int(request.get("endRow", 50)), 0)
    return {"rowData": check_records(snap.crosscheck.iloc[start:end]), "rowCount": len(snap.crosscheck)}


def check_records(frame: pd.DataFrame) -> list[dict]:
    """The grid's rows: verdict and gap, region and indicator, both figures with their years, quote and link."""
    rows = []
    for row in frame.itertuples(index=False):
        rows.append({
            "article_fact_id": row.article_fact_id, "statistics_fact_id": row.statistics_fact_id,
            "consistent": bool(row.consistent), "relative_difference": float(row.relative_difference),
            "check_verdict": f"{row.verdict_text}\n{fmt.percent_change(row.relative_difference)}",
            "check_what": f"{row.region_name}\n{row.indicator_name_zh}",
            "check_values": (f"文章 {row.article_display}（{row.article_year}年，原文“{row.article_number_text}”）\n"
                             f"官方 {row.official_display}（{row.official_year}年）"),
            "check_source_md": f"“{_md_text(_clip(str(row.article_quote), CHECK_QUOTE_CHARS))}”\n\n官方来源："
                               + _md_link(str(row.official_source_title), str(row.official_source_url)),
            "article_quote": str(row.article_quote),
        })
    return rows


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _md_text(text: str) -> str:
    """Article text shown through the markdown cell renderer, with markdown's own characters escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>" else c for c in text)


def _md_link(title: str, url: str) -> str:
    """A markdown link for the grid's markdown cells; the title's brackets would end the link text."""
    label = _md_text(str(title or url or ""))
    if not url:
        return label
    return f"[{label}]({str(url).replace(' ', '%20').replace(')', '%29')})"


def render_status(view: dict) -> list | object:
    """Last refresh, outcome, recent failures and the run log."""
    state = ViewState.from_dict(view)
    if state.tab != "status":
        return no_update
    snap = repo().snapshot()
    return status_panel(snap)


def status_panel(snap: snapshot.Snapshot) -> list:
    info = queries.status_info(snap)
    last = info["last"]
    cards = [
        _status_card(("数据截至", "Data as of"), snap.as_of.when or "—", f"{snap.as_of.source_zh} {snap.as_of.source_en}"),
        _status_card(("最近一次运行", "Last run"), _outcome(last) if last else "—",
                     snapshot.stamp(last.get("finished_at") or last.get("started_at")) if last else
                     "运行记录为空 no runs recorded"),
        _status_card(("当前数据", "Current figures"), f"{info['n_facts']:,}", "条（不含已驳回）excluding rejected"),
    ]
    if info["next_run"]:
        cards.append(_status_card(("下次计划运行", "Next scheduled run"), info["next_run"], ""))
    body = [dbc.Row([dbc.Col(c, md=3) for c in cards], class_name="g-3 mb-3")]
    failures = info["failures"]
    if not failures.empty:
        body.append(html.H6(bi("最近失败", "Recent failures"), className="mt-2"))
        body.extend(dbc.Alert([html.B(f"#{r.get('run_id')} {snapshot.stamp(r.get('started_at'))}"), html.Div(str(r.get("error") or
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
                table[column] = [snapshot.stamp(v) for v in table[column]]
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
    """The quote behind a figure: exact words, article, outlet, date, qualifier, review status; for a rate,
    its numerator and denominator; for a figure with an official counterpart, the cross-check."""
    snap = repo().snapshot()
    found = queries.provenance(snap, fact_id or "")
    if found is None:
        derived = queries.derived_provenance(snap, fact_id or "")
        return derived_panel(snap, derived) if derived is not None else provenance_hint()
    fact = found["fact"]
    badges = [dbc.Badge(fmt.qualifier_text(str(fact["qualifier"])),
                        color="warning" if fact["inexact"] else "light", text_color="dark" if not fact["inexact"] else None,
                        class_name="me-1")]
    if fact.get("source_kind") == STATISTICS:
        badges.append(dbc.Badge(f"{fmt.STAT_MARK} 官方统计 official statistics", color="success", class_name="me-1"))
    else:
        badges.append(dbc.Badge("报道 article", color="light", text_color="dark", class_name="me-1 b-article"))
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
    body.extend(check_block(queries.checks_for(snap, str(fact["fact_id"])), str(fact["fact_id"])))
    if found["others"]:
        body.append(html.Div(bi(f"同一地区、指标、年份的其他引文（{len(found['others'])}）",
                                f"Other quotes, same region, indicator, year ({len(found['others'])})"),
                             className="q-others-title"))
        body.append(html.Ul([html.Li([html.B(o["display"]), " — ", html.Span(str(o["title"]), className="q-meta")])
                             for o in found["others"]], className="q-others"))
    body.append(html.Div(f"fact {fact['fact_id']} · {fact['article_id']}", className="q-id"))
    return body


def derived_panel(snap: snapshot.Snapshot, found: dict) -> list:
    """A rate with everything it is made of: the numerator (value, quote, article), the denominator (value,
    year, official source, proxy or not) and the computation, or why it cannot be computed."""
    row, numerator, denominator = found["derived"], found["numerator"], found["denominator"]
    computable = bool(row["computable"])
    basis = fmt.RATE_BASIS_LABEL.get(str(row["unit"]), (str(row["unit"]), ""))
    badges = [dbc.Badge(f"{basis[0]} {basis[1]}", color="primary", class_name="me-1"),
              dbc.Badge(fmt.qualifier_text(str(row["qualifier"])), color="warning" if row["inexact"] else "light",
                        text_color=None if row["inexact"] else "dark", class_name="me-1")]
    if not computable:
        badges.append(dbc.Badge(fmt.bilingual(fmt.CANNOT), color="secondary", class_name="me-1"))
    elif row["proxy"]:
        badges.append(dbc.Badge(f"{fmt.PROXY_MARK} 代用年份 proxy year", color="warning", text_color="dark",
                                class_name="me-1"))
    if row["needs_review"]:
        badges.append(dbc.Badge("⚑ 待复核 needs review", color="danger", class_name="me-1"))
    year = int(row["year"])
    body = [
        html.Div(badges, className="q-badges"),
        html.Div(str(row["exact"]), className="q-value" + ("" if computable else " q-cannot"), id="q-value"),
        html.Div(className="q-what", children=[
            html.B(str(row["region_name"])), html.Span(f" {row.get('region_name_en', '')}", className="en"), " · ",
            html.Span(str(row["indicator_name_zh"])), html.Span(f" {row['indicator_name_en']}", className="en")]),
        html.Div(f"{year}年", className="q-period"),
    ]
    if numerator is not None:
        body.append(html.Div(className="q-part", children=[
            html.Div([bi("分子", "Numerator"), html.Span(f" · {numerator['indicator_name_zh']} {year}年", className="q-part-what")],
                     className="q-part-head"),
            html.Div([html.Span(str(numerator["exact"]), className="q-part-value", id="q-num-value"),
                      html.Span([" ", bi("原文", "as written"), f" {numerator['number_text']}"], className="q-meta")]),
            html.Blockquote(highlight(str(numerator["quote"]), str(numerator["number_text"])), className="q-quote",
                            id="q-quote"),
            source_block(numerator, str(numerator.get("published") or "")),
            html.Button(bi("打开这条数字", "open this figure"), id={"type": PICK, "fact": str(numerator["fact_id"])},
                        className="q-link-btn"),
        ]))
    if computable:
        den_year = int(row["denominator_year"])
        proxy = bool(row["proxy"])
        den_value = (str(denominator["exact"]) if denominator is not None else
                     fmt.exact_label(float(row["denominator_value"]), str(row["denominator_unit"])))
        den_name = (str(denominator["indicator_name_zh"]) if denominator is not None else
                    str(row["denominator_indicator_code"]))
        url = str(row.get("denominator_source_url") or "")
        title = str(row.get("denominator_source_title") or "") or url
        body.append(html.Div(className="q-part", children=[
            html.Div([bi("分母", "Denominator"), html.Span(f" · {den_name} {den_year}年", className="q-part-what")],
                     className="q-part-head"),
            html.Div([html.Span(den_value, className="q-part-value", id="q-den-value"), " ",
                      dbc.Badge(f"{fmt.PROXY_MARK} 代用年份：用{den_year}年代替{year}年 proxy for {year}", color="warning",
                                text_color="dark", class_name="ms-1") if proxy else
                      dbc.Badge(f"同年 same year {den_year}", color="light", text_color="dark", class_name="ms-1")]),
            html.Div([html.Span(f"{fmt.STAT_MARK} 官方统计 official statistics: ", className="q-meta"),
                      html.A(title, href=url, target="_blank", rel="noopener noreferrer", id="q-den-source")
                      if url else html.Span(title)], className="q-url mt-1"),
        ]))
        scale = found["scale"]
        result = float(row["value"])
        body.append(html.Div(className="q-part q-result", children=[
            html.Div(bi("结果", "Result"), className="q-part-head"),
            html.Div(f"{fmt.exact_number(float(row['numerator_value']))} ÷ {fmt.exact_number(float(row['denominator_value']))}"
                     + (f" × {fmt.exact_number(scale)}" if scale else "") + f" = {fmt.exact_number(result)}",
                     className="q-formula", id="q-formula"),
        ]))
    if str(row.get("note") or ""):
        zh, _, en = str(row["note"]).partition(" · ")
        body.append(html.Div([html.B(bi("说明", "Note")), ": ", zh, html.Span(f" {en}", className="en")],
                             className="q-reason" if not computable else "q-note"))
    body.append(html.Div(f"derived {row['fact_id']} · numerator {row['numerator_fact_id']}", className="q-id"))
    return body


def check_block(checks: pd.DataFrame, fact_id: str) -> list:
    """The cross-check of a figure against its official counterpart (or, for an official figure, of the
    article figures checked against it)."""
    if checks.empty:
        return []
    items = []
    for row in checks.head(5).itertuples(index=False):
        other = row.statistics_fact_id if row.article_fact_id == fact_id else row.article_fact_id
        items.append(html.Div(className="q-check " + ("ok" if row.consistent else "bad"), children=[
            html.Div([html.Span(row.verdict_text, className="q-check-verdict"),
                      html.Span(f" {fmt.percent_change(row.relative_difference)}", className="q-check-diff")]),
            html.Div([bi("文章", "article"), f" {row.article_display}（{row.article_year}年，原文 {row.article_number_text}）"
                      " · ", bi("官方", "official"), f" {row.official_display}（{row.official_year}年）"],
                     className="q-check-line"),
            html.Div(html.A(str(row.official_source_title) or str(row.official_source_url), href=str(row.official_source_url),
                            target="_blank", rel="noopener noreferrer"), className="q-url") if row.official_source_url else None,
            html.Button(bi("打开对应数字", "open the other figure"), id={"type": PICK, "fact": str(other)},
                        className="q-link-btn"),
        ]))
    return [html.Div(bi("官方核对", "Cross-check"), className="q-others-title"), *items]


def source_block(fact: dict, published: str) -> html.Div:
    """Where the figure was read: the article (title, outlet, date) or, for statistics, the named source."""
    lines = [html.Div(str(fact["title"]) or "（无标题 untitled）", className="q-title")]
    if fact.get("source_kind") == STATISTICS:
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


def _query(table_key: dict | None) -> queries.Query:
    return queries.Query(**{k: tuple(v) if isinstance(v, list) else v for k, v in (table_key or {}).items()})


def table_rows(request: dict | None, table_key: dict | None) -> tuple:
    """A block of rows for the grid's infinite row model, in the grid's sort order; the grid fits short lists."""
    snap = repo().snapshot()
    if not snap.ok or request is None:
        return {"rowData": [], "rowCount": 0}, "", no_update
    ordered = repo().sorted(snap, _query(table_key), request.get("sortModel"))
    rows, total = tables.table_page(ordered, int(request.get("startRow", 0)), int(request.get("endRow", 100)))
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
    from etl.workbook.data import ExportData, ExportFilters  # openpyxl loads on the first download
    from etl.workbook.export import workbook_bytes

    snap = repo().snapshot()
    query = _query(table_key)
    ordered = repo().sorted(snap, query, (request or {}).get("sortModel"))
    facts = ordered[[c for c in FACT_COLUMNS if c in ordered.columns]].copy()
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
           Output("f-years", "disabled"), Output("v-period", "options"), Output("v-norm", "options"),
           Output("norm-tip", "children"), Output("norm-note", "children"), Output("url", "search"),
           Output("view-state", "data"), Output("table-key", "data"), Output("root", "className"),
           Output("as-of", "children")],
        [Input("url", "search"), *control_inputs],
        [State("view-state", "data"), State("table-key", "data"), State("f-years", "min"), State("f-years", "max")],
    )
    def _sync(search, *rest):
        controls = list(rest[:len(CONTROLS)])
        previous_view, previous_table, low, high = rest[len(CONTROLS):]
        return sync_state(ctx.triggered_id, search, controls, previous_view, previous_table, (low, high))

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
