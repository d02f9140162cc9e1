"""What a chart says about the comparable set it draws (etl.curate.comparable): the set and the others on
offer (one click away), the figures it leaves out with the reason, the chosen regions without a figure,
the caption a downloaded PNG carries, and, when a view is empty, which filter emptied it.

Plain functions from data to Dash components or text; which goes where is `callbacks`' business.
"""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from dashboard import figures, fmt, queries, snapshot
from dashboard.layout import bi
from dashboard.urlstate import LATEST, ViewState, to_query
from etl.curate.comparable import Basis, Comparison
from etl.vocabulary import LEVEL_LABELS, PRESS, SOURCE_TIER_LABELS, STATISTICS

LEFT_OUT_SHOWN = 12
OTHER_SETS_SHOWN = 6
APP_NAME = ("浙江人才指标看板", "Zhejiang Talent Indicators")


def link_to(state: ViewState, label: list | str, class_name: str, **changes) -> dcc.Link:
    """A link to the same page with `changes` to its state: one click, and the URL says what it shows."""
    return dcc.Link(label, href=to_query(state.replace(**changes)) or "?", className=class_name)


def basis_text(basis: Basis | None, latest: bool) -> tuple[str, str]:
    """The set's name; for each region's latest figure, says so."""
    if basis is None:
        return "没有可比较的数字", "nothing comparable"
    zh, en = basis.label()
    if latest and not basis.period:
        zh, en = f"{zh} · 各地区最新", f"{en} · latest per region"
    return zh, en


def set_chips(found: Comparison, state: ViewState, series: bool = False) -> html.Div | None:
    """The set drawn and the other sets the figures make, each one click from being drawn instead; and the
    same set across every level."""
    if found.basis is None:
        return None
    latest = state.period == LATEST
    chips = [html.Span(bi(*basis_text(found.basis, latest or series)), className="set-chip current")]
    for other in found.others[:OTHER_SETS_SHOWN]:
        chips.append(link_to(state, bi(*basis_text(other, latest or series)), "set-chip", cmp=other.key,
                             period=LATEST if other.period else state.period))
    if found.basis.level:
        every = Basis(found.basis.kind, found.basis.period, "")
        chips.append(link_to(state, bi("本口径所有层级", "this kind, every level"), "set-chip all-levels",
                             cmp=every.key, period=state.period if not every.period else LATEST))
    return html.Div([html.Span(bi("比较口径", "Comparing"), className="sets-label"), *chips],
                    className="set-chips", id="set-chips")


def left_out_list(found: Comparison, state: ViewState, missing: list[str] | None = None) -> list:
    """The figures the chart leaves out, named with their region, value, period and the reason, each a
    link to the set it belongs to; and the chosen regions with no figure at all."""
    rows = found.left_out
    items = [html.Li(className="left-out-item missing", children=[
        html.B(name), " — ", bi("所选条件下没有该指标的数字", "no figure for this indicator under these filters",
                                class_name="left-out-why")]) for name in missing or []]
    for row in rows.head(LEFT_OUT_SHOWN).to_dict("records"):
        text = [html.B(str(row["region_name"])), " ",
                html.Span(f"{row['display']} · {row['period']}", className="left-out-fig"), " — ",
                html.Span(str(row["reason_zh"]), className="left-out-why"),
                html.Span(f" {row['reason_en']}", className="en")]
        if str(row.get("qualifier")) != "target":
            key = Basis(str(row["cmp_kind"]), str(row["cmp_period"]), str(row["cmp_level"])).key
            text.append(link_to(state, bi("显示此口径", "show this set"), "left-out-show", cmp=key, period=LATEST))
        items.append(html.Li(text, className="left-out-item"))
    if len(rows) > LEFT_OUT_SHOWN:
        items.append(html.Li(bi(f"另有 {len(rows) - LEFT_OUT_SHOWN} 个", f"and {len(rows) - LEFT_OUT_SHOWN} more"),
                             className="left-out-more"))
    if not items:
        return []
    n = len(rows) + len(missing or [])
    return [html.Div(className="left-out", id="left-out", children=[
        html.Div([html.Span("未列入本图", className="left-out-title"), html.Span(" Left out of this chart", className="en"),
                  html.Span(f" · {n} 个 · 口径、时期或层级不同，不能同图比较", className="left-out-sub"),
                  html.Span(" different kind, period or level: not comparable", className="en left-out-sub")]),
        html.Ul(items, className="left-out-ul")])]


def missing_regions(snap: snapshot.Snapshot, state: ViewState, found: Comparison) -> list[str]:
    """Chosen regions (sub-regions not counted) with no figure among those shown or left out."""
    present = set(found.shown["region_code"].astype(str)) | set(found.left_out["region_code"].astype(str))
    return [str(snap.regions.at[code, "name_zh"]) for code in state.regions
            if code not in present and code in snap.regions.index]


def caption(snap: snapshot.Snapshot, codes: tuple[str, ...], found: Comparison, state: ViewState,
            extra: tuple[str, str] | None = None) -> figures.Caption:
    """The chart's title (indicators), subtitle (set, period, level; a rate's basis), source line (articles
    and statistics drawn, the data's period) and notes."""
    names = [(str(snap.indicators.at[c, "name_zh"]), str(snap.indicators.at[c, "name_en"]))
             for c in codes if c in snap.indicators.index]
    title = "、".join(zh for zh, _ in names) + "　" + " / ".join(en for _, en in names)
    zh, en = basis_text(found.basis, state.period == LATEST)
    if extra:
        zh, en = f"{zh} · {extra[0]}", f"{en} · {extra[1]}"
    return figures.Caption(title, f"{zh}　{en}", source_line(found.shown), tuple(chart_notes(found)))


def source_line(rows: pd.DataFrame) -> str:
    """来源: the press reports (their outlets) and the statistics (by tier) behind the figures drawn, and the
    latest month they refer to."""
    parts = []
    articles = rows[rows["source_kind"].astype(str) != STATISTICS] if len(rows) else rows
    if len(articles):
        outlets = sorted({fmt.outlet_text(o).split(" ")[0] for o in articles["outlet"]})
        article = "article_id" if "article_id" in articles.columns else "numerator_article_id"
        parts.append(f"新闻报道{articles[article].nunique()}篇（{'、'.join(outlets[:3])}"
                     f"{'等' if len(outlets) > 3 else ''}）")
    tiers = rows.loc[rows["source_kind"].astype(str) == STATISTICS, "source_tier"].astype(str).value_counts() \
        if len(rows) else pd.Series(dtype=int)
    if len(tiers):
        parts.append("统计数字：" + "、".join(f"{SOURCE_TIER_LABELS[t][0]}{n}条" for t, n in tiers.items()))
    if "denominator_source_tier" in rows.columns and len(rows):
        denominators = rows["denominator_source_tier"].astype(str).value_counts()
        parts.append("分母：" + "、".join(f"{SOURCE_TIER_LABELS.get(t, SOURCE_TIER_LABELS[PRESS])[0]}{n}个"
                                       for t, n in denominators.items()))
    month = snapshot.month_text(queries.data_month(rows))
    when = f" · 数据截至{month}" if month else ""
    return f"来源 Source：{'；'.join(parts) or '—'}{when} · {APP_NAME[0]}"


def chart_notes(found: Comparison) -> list[str]:
    """What a reader of the PNG must know: years that differ, bounds and approximations, proxy years, the
    figures left out."""
    rows, notes = found.shown, []
    years = found.years_note()
    if years:
        notes.append(f"注：{years[0]}。")
    if len(rows) and rows["inexact"].astype(bool).any():
        notes.append("注：≥ 为下限、≤ 为上限、≈ 为约数。")
    if "proxy" in rows.columns and rows["proxy"].astype(bool).any():
        notes.append(f"注：{fmt.PROXY_MARK} 分母为相邻年份的统计数字。")
    if len(found.left_out):
        notes.append(f"注：另有{len(found.left_out)}个口径、时期或层级不同的数字未列入本图。")
    return notes


def empty_note(snap: snapshot.Snapshot, state: ViewState) -> html.Div | None:
    """When the filters leave nothing, which one emptied the view, with a link that undoes it."""
    found = queries.emptying_filter(snap, state)
    if found is None:
        return None
    (zh, en), relaxed = found
    return html.Div(className="empty-view", id="empty-view", children=[
        bi(f"筛选条件“{zh}”下没有数字。", f"The filter “{en}” leaves no figures."), " ",
        dcc.Link(bi(f"取消“{zh}”", f"undo “{en}”"), href=to_query(relaxed) or "?", className="undo-link")])


def level_links(state: ViewState, level: str, others: pd.Series) -> html.Div | None:
    """The matrix's level, and a link to each other level with figures (it sets the level filter)."""
    if not level:
        return None
    links = [link_to(state, bi(f"{LEVEL_LABELS[lv][0]} {n}个", f"{LEVEL_LABELS[lv][1]}: {n}"), "set-chip",
                     levels=(lv,)) for lv, n in others.items() if lv in LEVEL_LABELS]
    return html.Div([html.Span(bi("地区层级", "Level"), className="sets-label"),
                     html.Span(bi(*LEVEL_LABELS[level]), className="set-chip current"), *links],
                    className="set-chips", id="set-chips")
