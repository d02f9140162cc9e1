"""Figure builders: plain functions from a DataFrame of facts to a `go.Figure`, so tests call them directly.

Each input row is one figure to draw, all of one comparable set (see `queries.comparison` and
`queries.matrix_sets`), and carries its `fact_id` in `customdata`, so a click on any bar, point or map cell
opens the quote behind it.
Approximate figures and bounds (超/近/约/最高/目标) are drawn differently from exact ones everywhere, and
values of different units are never put on one axis: `UnitMismatch` is raised instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from dashboard import fmt
from etl.vocabulary import PRESS, SOURCE_TIER_LABELS, STATISTICS

FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
INK = "#1d2733"
MUTED = "#6b7785"
GRID = "#e7ebf0"
NO_DATA = "#eef1f4"
PALETTE = ["#1f5fa6", "#e07b39", "#2a9d8f", "#8e5ea2", "#c44e52", "#5f8f2f", "#c49a12", "#3e8fc7",
           "#a0522d", "#6a6fb5"]
SEQUENTIAL = [[0.0, "#e3eef9"], [0.35, "#9cc3e6"], [0.7, "#3f87c6"], [1.0, "#113f78"]]
MATRIX_SCALE = [[0.0, "#e8f1fa"], [0.5, "#8dbbe3"], [1.0, "#1f5fa6"]]
MAX_BARS = 30
MAX_SERIES = 10
MAX_MATRIX_ROWS = 40
MAX_MATRIX_COLS = 24
CELL_TEXT_MAX_COLS = 9
LABEL_CHARS = 10
TITLE_CHARS = 28  # an article title in a hover text
BAR_HEIGHT = 30
ZHEJIANG_CENTER = {"lat": 29.2, "lon": 120.4}
MAP_ZOOM = 6.15
STAT_COLOR = "#2e7d4f"  # official statistics, wherever they are drawn
# Statistics of each source tier get their own colour (a press report takes its indicator's colour); only
# `official` is the green of 官方统计.
TIER_COLORS = {"official": STAT_COLOR, "official_repost": "#6fa886", "secondary": "#8c96a3", "unverified": "#b9c1ca"}
PROXY_RING = "#b7791f"
SYMBOLS = {"exact": "circle", "over": "triangle-up-open", "under": "triangle-down-open", "approx": "circle-open",
           "target": "diamond-open", "range": "square-open"}


class UnitMismatch(ValueError):
    """Two units on one axis: refused, with a sentence the analyst can act on."""

    def __init__(self, units: list[str]) -> None:
        self.units = units
        names = "、".join(fmt.unit_label(u) for u in units)
        super().__init__(
            f"不能在同一坐标轴上比较不同单位的数值（{names}）。请只选择同一单位的指标。"
            f" Values in different units ({', '.join(units)}) cannot share an axis: choose indicators of one unit."
        )


def base_layout(height: int = 420) -> dict:
    """The house style: CJK system fonts, quiet grid, room for long region names."""
    return {
        "font": {"family": FONT, "size": 13, "color": INK},
        "paper_bgcolor": "white", "plot_bgcolor": "white", "height": height,
        "margin": {"l": 10, "r": 20, "t": 10, "b": 50},
        "hoverlabel": {"font": {"family": FONT, "size": 13, "color": INK}, "bgcolor": "white",
                       "bordercolor": "#c9d2dc", "align": "left"},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "font": {"size": 12}},
        "separators": ".,",
    }


def message_figure(message: str, height: int = 360) -> go.Figure:
    """An empty figure that says why there is nothing to draw."""
    figure = go.Figure(layout=base_layout(height))
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                          font={"size": 15, "color": MUTED})
    return figure


def check_units(rows: pd.DataFrame) -> str:
    """The single unit of `rows`; raises `UnitMismatch` when there are several."""
    units = sorted({str(u) for u in rows["unit"].unique()})
    if len(units) > 1:
        raise UnitMismatch(units)
    return units[0] if units else ""


def cn_ticks(low: float, high: float, unit: str, n: int = 5) -> tuple[list[float], list[str]]:
    """Nice tick positions labelled the Chinese way (50万, 1亿) for a value axis."""
    low, high = min(0.0, low), max(high, 0.0)
    if high <= low:
        return [low], [fmt.short_number(low, unit)]
    raw = (high - low) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    values = [start + i * step for i in range(int(math.ceil((high - start) / step)) + 1)]
    return values, [fmt.short_number(v, unit) for v in values]


def is_statistics(rows: pd.DataFrame) -> list[bool]:
    """Which rows come from statistics tables (derived rows and older databases have no such column)."""
    if "source_kind" not in rows.columns:
        return [False] * len(rows)
    return [str(k) == STATISTICS for k in rows["source_kind"]]


def tiers(rows: pd.DataFrame) -> list[str]:
    """Each row's source tier (a press report where the column is missing)."""
    if "source_tier" not in rows.columns:
        return [PRESS] * len(rows)
    return [str(t) for t in rows["source_tier"]]


def _hover(rows: pd.DataFrame, extra: str = "") -> list[str]:
    """Region and indicator in both languages, exact value, period, original wording, and where it comes from:
    the article, the official source, or (for a rate) the computation and its denominator's year."""
    out = []
    derived = "formula" in rows.columns
    for row, tier in zip(rows.itertuples(index=False), tiers(rows), strict=True):
        review = "<br>⚑ 待复核 needs review" if row.needs_review else ""
        quotes = f"<br>{row.n_quotes} 条引文 quotes" if getattr(row, "n_quotes", 1) > 1 else ""
        if derived:
            source = f"<br>计算 computed: {row.formula}<br>分子出处 numerator: {fmt.clip(str(row.title), TITLE_CHARS)}"
        else:
            source = f"<br>{fmt.tier_mark(tier)} {fmt.tier_text(tier)}: {fmt.clip(str(row.title), TITLE_CHARS)}".replace("<br> ", "<br>")
        out.append(
            f"<b>{row.region_name}</b> {row.region_name_en}<br>{row.indicator_name_zh} {row.indicator_name_en}"
            f"<br><b>{row.exact}</b>　{row.period}<br>原文 text: {row.number_text}"
            f"<br>{fmt.qualifier_text(str(row.qualifier))}{review}{quotes}{source}{extra}"
            "<br><i>点击查看出处 click for the quote</i>")
    return out


def _region_label(rows: pd.DataFrame, with_year: bool) -> list[str]:
    names = rows["region_name"].astype(str)
    if with_year:
        return [f"{n} · {y}" for n, y in zip(names, rows["year"], strict=True)]
    return list(names)


def ranked_bar(rows: pd.DataFrame, max_bars: int = MAX_BARS) -> go.Figure:
    """Regions ranked by one indicator's value (one figure per region), largest on top."""
    if rows.empty:
        return message_figure("没有符合条件的数据 No figures match these filters")
    unit = check_units(rows)
    ranked = rows.sort_values("value", ascending=False, kind="stable")
    indicators = list(dict.fromkeys(ranked["indicator_code"].astype(str)))
    keep = list(dict.fromkeys(ranked["region_code"].astype(str)))[:max_bars]
    ranked = ranked[ranked["region_code"].astype(str).isin(keep)]
    with_year = ranked["year"].nunique() > 1 and len(indicators) == 1
    tier = pd.Series(tiers(ranked), index=ranked.index)
    figure = go.Figure(layout=base_layout(max(200, BAR_HEIGHT * len(ranked) + 90)))
    for i, code in enumerate(indicators):
        of_indicator = ranked["indicator_code"].astype(str) == code
        for source in (PRESS, *TIER_COLORS):  # each source tier gets its own colour and legend entry
            part = ranked[of_indicator & (tier == source)]
            if part.empty:
                continue
            color = TIER_COLORS.get(source, PALETTE[i % len(PALETTE)])
            labels = _region_label(part, with_year) if len(indicators) == 1 else list(part["region_name"].astype(str))
            name = fmt.tier_text(source)
            if len(indicators) > 1:
                name = f"{part['indicator_name_zh'].iloc[0]} · {SOURCE_TIER_LABELS[source][0]}"
            figure.add_bar(
                x=part["value"], y=labels, orientation="h", name=name, offsetgroup=code,
                customdata=part["fact_id"], hovertext=_hover(part), hoverinfo="text",
                text=[f"{d} ⚑" if r else d for d, r in zip(part["display"], part["needs_review"], strict=True)],
                textposition="outside", cliponaxis=False, textfont={"size": 12, "color": INK},
                marker={"color": color, "line": {"color": color, "width": 1},
                        "pattern": {"shape": ["/" if x else "" for x in part["inexact"]], "fgcolor": "white",
                                    "size": 6, "solidity": 0.35}},
            )
    tickvals, ticktext = cn_ticks(0, float(ranked["value"].max()) * 1.18, unit)
    figure.update_xaxes(tickvals=tickvals, ticktext=ticktext, gridcolor=GRID, zeroline=True, zerolinecolor="#c9d2dc",
                        title={"text": fmt.unit_label(unit), "font": {"size": 12, "color": MUTED}},
                        range=[0, tickvals[-1]])
    order = list(dict.fromkeys(_region_label(ranked, with_year) if len(indicators) == 1
                               else ranked["region_name"].astype(str)))
    figure.update_yaxes(categoryorder="array", categoryarray=order[::-1], automargin=True, ticks="",
                        tickfont={"size": 13})
    figure.update_layout(barmode="group", bargap=0.28 if len(ranked) > 3 else 0.5,
                         showlegend=len(indicators) > 1 or bool((tier != PRESS).any()))
    return figure


def trend(rows: pd.DataFrame, kind: str = "line", max_series: int = MAX_SERIES) -> go.Figure:
    """Region × year: one line (or row of dots) per region and indicator."""
    if rows.empty:
        return message_figure("没有符合条件的数据 No figures match these filters")
    unit = check_units(rows)
    several = rows["indicator_code"].nunique() > 1
    keys = rows.groupby(["region_code", "indicator_code"], observed=True).size().sort_values(ascending=False)
    keys = list(keys.index[:max_series])
    figure = go.Figure(layout=base_layout(440))
    for i, (region, indicator) in enumerate(keys):
        part = rows[(rows["region_code"] == region) & (rows["indicator_code"] == indicator)].sort_values("year")
        color = PALETTE[i % len(PALETTE)]
        name = str(part["region_name"].iloc[0])
        if several:
            name += f" · {part['indicator_name_zh'].iloc[0]}"
        figure.add_scatter(
            x=part["year"], y=part["value"], name=name, mode="lines+markers+text" if kind == "line" else "markers+text",
            line={"color": color, "width": 2.2}, customdata=part["fact_id"], hovertext=_hover(part),
            hoverinfo="text", text=part["display"], textposition="top center",
            textfont={"size": 11, "color": color},
            marker={"color": color, "size": 11 if kind == "line" else 14,
                    "symbol": ["square" if o else SYMBOLS.get(str(q), "circle")
                               for q, o in zip(part["qualifier"], is_statistics(part), strict=True)],
                    "line": {"color": color, "width": 2}},
        )
    values = rows["value"]
    tickvals, ticktext = cn_ticks(0, float(values.max()) * 1.15, unit)
    figure.update_yaxes(tickvals=tickvals, ticktext=ticktext, gridcolor=GRID, range=[0, tickvals[-1]],
                        title={"text": fmt.unit_label(unit), "font": {"size": 12, "color": MUTED}})
    years = sorted(rows["year"].unique())
    figure.update_xaxes(tickvals=years, ticktext=[f"{y}年" for y in years], gridcolor=GRID,
                        range=[years[0] - 0.5, years[-1] + 0.5])
    figure.update_layout(showlegend=True, margin={"l": 10, "r": 20, "t": 40, "b": 50})
    return figure


def matrix(cells: pd.DataFrame, max_rows: int = MAX_MATRIX_ROWS, max_cols: int = MAX_MATRIX_COLS) -> go.Figure:
    """Region × indicator: colour says how many figures are quoted, the cell text the latest one."""
    if cells.empty:
        return message_figure("没有符合条件的数据 No figures match these filters")
    by_region = cells.groupby("region_code", observed=True)["n_quotes"].sum().sort_values(ascending=False)
    by_indicator = cells.groupby("indicator_code", observed=True)["n_quotes"].sum().sort_values(ascending=False)
    regions = list(by_region.index[:max_rows])
    indicators = list(by_indicator.index[:max_cols])
    shown = cells[cells["region_code"].isin(regions) & cells["indicator_code"].isin(indicators)]
    region_names = shown.drop_duplicates("region_code").set_index("region_code")["region_name"]
    indicator_names = shown.drop_duplicates("indicator_code").set_index("indicator_code")["indicator_name_zh"]
    grid = shown.set_index(["region_code", "indicator_code"])
    z, text, hover, ids = [], [], [], []
    for region in regions:
        z_row, t_row, h_row, i_row = [], [], [], []
        for indicator in indicators:
            if (region, indicator) in grid.index:
                row = grid.loc[(region, indicator)]
                z_row.append(int(row["n_quotes"]))
                mark = fmt.tier_mark(str(row.get("source_tier", PRESS)))
                t_row.append(str(row["display"]) + (f" {mark}" if mark else ""))
                h_row.append(f"<b>{row['region_name']}</b> · {row['indicator_name_zh']}<br>{row['exact']}　{row['year']}年"
                             f"<br>{int(row['n_quotes'])} 条引文 quotes<br><i>点击查看出处 click for the quote</i>")
                i_row.append(row["fact_id"])
            else:
                z_row.append(None)
                t_row.append("")
                h_row.append(f"{region_names.get(region, region)} · {indicator_names.get(indicator, indicator)}<br>无数据 no figure")
                i_row.append("")
        z.append(z_row)
        text.append(t_row)
        hover.append(h_row)
        ids.append(i_row)
    x = [_short(str(indicator_names.get(i, i))) for i in indicators]
    y = [_short(str(region_names.get(r, r))) for r in regions]
    height = max(320, 34 * len(regions) + 170)
    width = min(0.9, 0.12 + 0.08 * len(indicators))  # a few columns stay cell-sized instead of stretching
    figure = go.Figure(layout=base_layout(height))
    figure.add_heatmap(
        z=z, x=x, y=y, text=text, hovertext=hover, hoverinfo="text", customdata=ids, xgap=2, ygap=2,
        colorscale=MATRIX_SCALE, zmin=0, showscale=True, hoverongaps=False,
        texttemplate="%{text}" if len(indicators) <= CELL_TEXT_MAX_COLS else None,
        textfont={"size": 11},
        colorbar={"title": {"text": "引文数<br>quotes", "font": {"size": 11}}, "thickness": 10, "len": 0.5,
                  "dtick": 1, "outlinewidth": 0, "x": width + 0.02, "xanchor": "left"},
    )
    figure.update_xaxes(side="top", tickangle=-45, showgrid=False, tickfont={"size": 12}, domain=[0, width])
    figure.update_yaxes(autorange="reversed", showgrid=False, tickfont={"size": 13})
    figure.update_layout(plot_bgcolor=NO_DATA, margin={"l": 10, "r": 10, "t": 130, "b": 10})
    return figure


def choropleth(rows: pd.DataFrame, geojson: dict, source: str | None = None, height: int = 560,
               centres: dict[str, tuple[float, float]] | None = None) -> go.Figure:
    """Zhejiang's cities or counties coloured by one indicator; regions without a figure stay grey.

    Uses `choropleth_map` with the `white-bg` style, which needs no tiles, fonts or anything else from
    outside the app. `source` is the URL the app serves `geojson` at: the figure then references the file
    (fetched once by the browser) instead of carrying 300 kB of boundaries in every update. Official
    statistics get a green outline; a rate whose denominator is from a neighbouring year gets a ring at the
    area's centre (`centres`), since a map area has no label to carry the ※.
    """
    features = geojson.get("features", [])
    all_codes = [_code(f) for f in features]
    if not rows.empty:
        check_units(rows)
    shown = rows[rows["region_code"].astype(str).isin(set(all_codes))] if not rows.empty else rows
    filled = set(shown["region_code"].astype(str)) if not shown.empty else set()
    empty = [c for c in all_codes if c not in filled]
    names = {_code(f): f.get("properties", {}).get("name", "") for f in features}

    def boundary(codes: set[str]) -> dict | str:
        if source:
            return source
        return {"type": "FeatureCollection", "features": [f for f in features if _code(f) in codes]}

    figure = go.Figure(layout=base_layout(height))
    figure.add_trace(go.Choroplethmap(
        geojson=boundary(set(empty)), locations=empty, z=[0] * len(empty),
        featureidkey="properties.adcode", colorscale=[[0, NO_DATA], [1, NO_DATA]], showscale=False,
        marker={"line": {"color": "white", "width": 0.8}},
        hovertext=[f"{names[c]}<br>无数据 no figure" for c in empty], hoverinfo="text", name="no data",
    ))
    if filled:
        figure.add_trace(_value_trace(shown, boundary(filled)))
    if filled and centres and "proxy" in shown.columns and shown["proxy"].any():
        _add_proxy_rings(figure, shown, centres)
    figure.update_layout(
        map={"style": "white-bg", "center": ZHEJIANG_CENTER, "zoom": MAP_ZOOM},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False,
    )
    return figure

def _value_trace(shown: pd.DataFrame, geojson: dict | str) -> go.Choroplethmap:
    """The areas with a figure, coloured by value; official statistics and inexact figures outlined."""
    unit = str(shown["unit"].iloc[0])
    top = float(shown["value"].max())
    ticks = [(v, t) for v, t in zip(*cn_ticks(0, top, unit, n=4), strict=True) if v <= top * 1.0001]
    tickvals, ticktext = [v for v, _ in ticks], [t for _, t in ticks]
    return go.Choroplethmap(
        geojson=geojson, locations=shown["region_code"].astype(str), z=shown["value"],
        featureidkey="properties.adcode", colorscale=SEQUENTIAL, zmin=0, zmax=top or 1,
        customdata=shown["fact_id"],
        hovertext=_hover(shown), hoverinfo="text", name=str(shown["indicator_name_zh"].iloc[0]),
        marker={"line": {"color": [TIER_COLORS.get(t, INK if x else "white")
                                   for x, t in zip(shown["inexact"], tiers(shown), strict=True)],
                         "width": [2.4 if x or t in TIER_COLORS else 0.8
                                   for x, t in zip(shown["inexact"], tiers(shown), strict=True)]}},
        colorbar={"title": {"text": fmt.unit_label(unit), "font": {"size": 11}, "side": "top"},
                  "orientation": "h", "thickness": 10, "len": 0.45, "x": 0.02, "xanchor": "left",
                  "y": 0.03, "yanchor": "bottom", "tickvals": tickvals, "ticktext": ticktext,
                  "bgcolor": "rgba(255,255,255,0.85)", "outlinewidth": 0},
    )


def _add_proxy_rings(figure: go.Figure, shown: pd.DataFrame, centres: dict[str, tuple[float, float]]) -> None:
    """A ring at the centre of each area whose rate uses a neighbouring year's denominator."""
    proxies = shown[shown["proxy"].astype(bool) & shown["region_code"].astype(str).isin(centres)]
    where = [centres[str(c)] for c in proxies["region_code"]]
    for size, color in ((13, PROXY_RING), (7, "white")):  # a ring: no glyphs or sprites needed
        figure.add_trace(go.Scattermap(
            lon=[w[0] for w in where], lat=[w[1] for w in where], mode="markers", hoverinfo="skip",
            marker={"size": size, "color": color}, name="proxy year", showlegend=False))



def _short(label: str) -> str:
    """Long zone names would squeeze the plot; the hover keeps the full name."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _code(feature: dict) -> str:
    return str(feature.get("properties", {}).get("adcode") or feature.get("id") or "")


# --- captions: what a chart says about itself, so a PNG of it stands alone


@dataclass(frozen=True)
class Caption:
    """Title, subtitle (indicator, period, level), source line and notes, drawn into the figure itself, as
    Our World in Data's grapher does: the modebar's PNG download then carries them."""

    title: str
    subtitle: str
    source: str
    notes: tuple[str, ...] = ()


CAPTION_CHARS = 46  # wide characters on a caption line before it wraps (11 px each, a 600 px plot)
TITLE_SPACE = 62  # pixels the title and subtitle take above the plot
TITLE_BASELINE = 30  # pixels from the top to the title's first line (Plotly anchors a title by that line)
LINE_SPACE = 17  # pixels a caption line takes below it
LEGEND_ROW, LEGEND_PER_ROW = 23, 2  # a horizontal legend above the plot: pixels a row, entries a row


def _legend_entries(figure: go.Figure) -> int:
    return sum(1 for trace in figure.data if trace.showlegend is not False and trace.name)


def wrap(text: str, width: int = CAPTION_CHARS) -> list[str]:
    """Lines of at most `width` wide characters (a Latin one counts half), broken after punctuation where
    it can be."""
    lines, line, used = [], "", 0.0
    for char in text:
        line += char
        used += 1 if ord(char) > 0x2E7F else 0.5
        if used >= width and (char in "；，。、 ·)）" or used >= width + 8):
            lines.append(line.strip())
            line, used = "", 0.0
    return [*lines, line.strip()] if line.strip() else lines


def captioned(figure: go.Figure, caption: Caption) -> go.Figure:
    """The figure with its caption: title and subtitle above the plot, source line and notes below it; the
    figure grows so the plot keeps its size. The source annotation is named `source`."""
    lines = [*wrap(caption.source), *(line for note in caption.notes for line in wrap(note))]
    margin = go.layout.Margin(figure.layout.margin)  # a copy: the figure's own changes below
    legend = LEGEND_ROW * math.ceil(_legend_entries(figure) / LEGEND_PER_ROW) if figure.layout.showlegend else 0
    top, bottom = (margin.t or 0) + TITLE_SPACE + legend, (margin.b or 0) + LINE_SPACE * len(lines) + 10
    height = (figure.layout.height or 420) + TITLE_SPACE + legend + LINE_SPACE * len(lines) + 10
    plot = max(height - top - bottom, 1)
    figure.update_layout(
        height=height, margin={"t": top, "b": bottom, "l": max(margin.l or 0, 10), "r": max(margin.r or 0, 10)},
        title={"text": f"<b>{caption.title}</b><br><span style='font-size:13px;color:{MUTED}'>{caption.subtitle}"
                       "</span>", "x": 0.01, "xanchor": "left", "y": 1 - TITLE_BASELINE / height,
               "yanchor": "bottom", "yref": "container", "font": {"size": 17, "color": INK}})
    figure.add_annotation(  # placed in plot fractions: below the axis labels, whatever the plot's height
        name="source", text="<br>".join(lines), xref="paper", yref="paper", x=0, y=-((margin.b or 0) - 4) / plot,
        xanchor="left", yanchor="top", align="left", showarrow=False, font={"size": 11, "color": MUTED})
    return figure
