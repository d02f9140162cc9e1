"""The HTML panels the callbacks fill: view headings and notes, the lists under a chart, the quote panel
(a figure's provenance, a rate's numerator and denominator, the cross-check) and the status page.

Plain functions from data to Dash components; which panel goes where is `callbacks`' business.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard import figures, fmt, queries, snapshot
from dashboard.layout import bi, norm_options
from dashboard.urlstate import ViewState
from etl.curate.percapita import TOLERANCE
from etl.paths import redact
from etl.vocabulary import PERIOD_SOURCE_LABELS, PRESS, STATISTICS

CANNOT_SHOWN = 12
TIER_BADGES = {"official": "success", "official_repost": "info", "secondary": "secondary", "unverified": "light",
               PRESS: "light"}  # the quote panel's badge colour for each source tier
PICK = "pick-fact"  # pattern-matching id type of anything that opens a fact in the quote panel


def hint(zh: str, en: str) -> html.Div:
    """A short note under a view's heading, in Chinese with English beside."""
    return html.Div(className="hint", children=bi(zh, en))


def as_of_badge(snap: snapshot.Snapshot) -> list:
    """The header's dates: 数据截至, the latest month the figures refer to, and when the data was updated."""
    period = [bi("数据截至", "Data to"), " ", html.B(snap.data_period or "—"), html.Span(" · ", className="as-of-src")]
    if not snap.as_of.when:
        return [*period, bi("更新时间", "Updated"), " —"]
    return [*period, bi("更新于", "Updated"), " ", html.B(snap.as_of.when),
            html.Span(f" · {snap.as_of.source_zh}", className="as-of-src"),
            html.Span(f" {snap.as_of.source_en}", className="as-of-src en")]


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
    tip = [bi(f"按{zh}比较：{derived}。分子只用年度数或时点数（部分月份数、多年累计数不计算）；分母是统计数字的同年"
              f"数值，没有同年数值时用相邻年份，并标 {fmt.PROXY_MARK}；不能计算的不画出，在图下列出原因。",
              f"Compare {en}. Only annual flows and stocks are divided (part-year and multi-year totals are not); "
              f"the denominator is the statistic of the same year, else of a neighbouring year (marked "
              f"{fmt.PROXY_MARK}); rates that cannot be computed are listed under the chart, not drawn.")]
    if basis.missing:
        tip.append(html.Div(bi(f"{names(basis.missing)}没有此口径。", "Some chosen indicators have no such form."),
                            className="mt-1"))
    return norm_options((zh, en), available=True), tip, []


def notes(*parts) -> list:
    """The notes that apply (None and empty ones left out)."""
    return [p for p in parts if p]


def auto_note(state: ViewState) -> html.Div | None:
    """Says which indicator is shown when none was chosen."""
    if state.indicators:
        return None
    return html.Div(className="hint", children=bi(
        "未选择指标，显示引文最多的指标；在左侧选择要比较的指标。",
        "No indicator chosen: showing the most-quoted one. Choose indicators on the left."))


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


def beside_list(rows: pd.DataFrame) -> list:
    """Zones and towns have no boundary: their figures are listed next to the map."""
    head = html.Div(bi("无边界的功能区、乡镇", "Zones and towns (no boundary)"), className="beside-title")
    if rows.empty:
        return [head, html.Div(bi("无", "none"), className="text-muted small")]
    items = [html.Li(className="beside-item", children=[
        html.Div([html.Span(row.region_name, className="beside-name"),
                  html.Span(f" {row.period}", className="beside-year")]),
        html.Div(row.display + (f" {fmt.tier_mark(tier)}" if fmt.tier_mark(tier) else "")
                 + (" ⚑" if row.needs_review else ""),
                 className="beside-value" + (" inexact" if row.inexact else "") + (f" tier-{tier}")),
    ]) for row, tier in zip(rows.head(20).itertuples(index=False), figures.tiers(rows.head(20)), strict=True)]
    return [head, html.Ul(items, className="beside-ul")]


def summary_stats(facts: pd.DataFrame) -> list:
    """Counts for the current filters: facts, regions, indicators, articles, official figures, approximations,
    figures to review."""
    statistics = facts["source_kind"] == STATISTICS if len(facts) else pd.Series(dtype=bool)
    official = (facts["source_tier"] == "official") if len(facts) else pd.Series(dtype=bool)
    stats = [
        (len(facts), "条数据", "figures"),
        (facts["region_code"].nunique() if len(facts) else 0, "个地区", "regions"),
        (facts["indicator_code"].nunique() if len(facts) else 0, "个指标", "indicators"),
        (facts.loc[~statistics, "article_id"].nunique() if len(facts) else 0, "篇文章", "articles"),
        (int(official.sum()) if len(facts) else 0, "条官方统计", "official statistics"),
        (int((statistics & ~official).sum()) if len(facts) else 0, "条其他统计数字", "other statistics"),
        (int(facts["inexact"].sum()) if len(facts) else 0, "条约数或上下限", "approximate or bounds"),
        (int(facts["needs_review"].sum()) if len(facts) else 0, "条待复核", "need review"),
    ]
    return [html.Div(className="stat", children=[html.Div(f"{n:,}", className="stat-n"),
                                                 html.Div(bi(zh, en), className="stat-l")])
            for n, zh, en in stats]


def matrix_heading(rate: bool) -> html.Div:
    """What the matrix's colours and cells say."""
    sub = (("颜色表示引文数量，格内为每万常住人口或每亿元GDP的数值", "colour = number of quotes, text = the rate") if rate
           else ("颜色表示引文数量，格内为最新数值", "colour = number of quotes, text = latest figure"))
    return html.Div(className="view-heading", children=[
        bi("谁报告了什么", "Who reports what", class_name="vh-main"), html.Span(" · ", className="vh-sep"),
        bi(*sub, class_name="vh-sub")])


def check_heading(frame: pd.DataFrame) -> list:
    """The cross-check view's heading and the rule that decides 相符; when there is nothing to check, why."""
    n_bad = int((~frame["consistent"]).sum()) if not frame.empty else 0
    heading = html.Div(className="view-heading", children=[
        bi("文章数字与统计数字核对", "Article figures against statistics", class_name="vh-main"),
        html.Span(" · ", className="vh-sep"),
        bi(f"共 {len(frame)} 对，{n_bad} 对不符；不符的在前，再按相对差从大到小",
           f"{len(frame)} pairs, {n_bad} inconsistent; inconsistent first, then by the size of the gap",
           class_name="vh-sub")])
    if frame.empty:
        return [heading, hint("还没有可核对的数字：需要同一地区、同一指标既有文章数字又有统计数字。",
                              "Nothing to check yet: a region and indicator need both an article figure and a statistic.")]
    return [heading, hint(
        f"判断规则：“超/逾/多”须官方数 ≥ 文章数，“最高/不到”须 ≤，“约/近”相差不超过 {TOLERANCE['approx']:.0%}，"
        f"确数相差不超过 {TOLERANCE['exact']:.0%}。官方年份为文章年份或其前一年。点击一行查看原文。",
        f"Rule: 'more than' needs official ≥ article, 'at most' ≤, 'about' within {TOLERANCE['approx']:.0%}, exact "
        f"within {TOLERANCE['exact']:.0%}. The official year is the article's or the one before. Click a row for "
        "the quote.")]


def unit_alert(error: figures.UnitMismatch) -> list:
    """Why a chart was not drawn: its figures have different units."""
    return [dbc.Alert(str(error), color="warning", class_name="unit-alert mb-2")]


def status_panel(snap: snapshot.Snapshot) -> list:
    """The status page: data date, last run, current figures, next run, failures, run log, inputs set aside."""
    info = queries.status_info(snap)
    last = info["last"]
    cards = [
        _status_card(("数据截至", "Data to"), snap.data_period or "—", "所收数字所指时期的最晚月份 latest month the figures refer to"),
        _status_card(("更新时间", "Updated"), snap.as_of.when or "—", f"{snap.as_of.source_zh} {snap.as_of.source_en}"),
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
        body.extend(dbc.Alert([html.B(f"#{r.get('run_id')} {snapshot.stamp(r.get('started_at'))}"), html.Div(redact(r.get("error") or
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
        body.append(dbc.Table.from_dataframe(table.astype(str).map(redact), striped=True, hover=True, size="sm",
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


def derived_panel(found: dict) -> list:
    """A rate with everything it is made of: the numerator (value, quote, article), the denominator (value,
    year, official source, proxy or not) and the computation, or why it cannot be computed."""
    row, numerator, denominator = found["derived"], found["numerator"], found["denominator"]
    computable = bool(row["computable"])
    year = int(row["year"])
    body = [
        html.Div(derived_badges(row), className="q-badges"),
        html.Div(str(row["exact"]), className="q-value" + ("" if computable else " q-cannot"), id="q-value"),
        html.Div(className="q-what", children=[
            html.B(str(row["region_name"])), html.Span(f" {row.get('region_name_en', '')}", className="en"), " · ",
            html.Span(str(row["indicator_name_zh"])), html.Span(f" {row['indicator_name_en']}", className="en")]),
        html.Div([bi("分子时期", "numerator period"), f"：{row.get('period', '')}",
                  html.Span(f" {row.get('period_en', '')}", className="en")], className="q-period", id="q-period"),
    ]
    if numerator is not None:
        body.append(numerator_part(numerator))
    if computable:
        body.append(denominator_part(row, denominator, year))
        body.append(result_part(row, found["scale"]))
    if str(row.get("note") or ""):
        zh, _, en = str(row["note"]).partition(" · ")
        body.append(html.Div([html.B(bi("说明", "Note")), ": ", zh, html.Span(f" {en}", className="en")],
                             className="q-reason" if not computable else "q-note"))
    body.append(html.Div(f"derived {row['fact_id']} · numerator {row['numerator_fact_id']}", className="q-id"))
    return body


def derived_badges(row: dict) -> list:
    """What kind of rate it is, its qualifier, and whether it cannot be computed, uses a proxy year, or waits
    for review."""
    basis = fmt.RATE_BASIS_LABEL.get(str(row["unit"]), (str(row["unit"]), ""))
    badges = [dbc.Badge(f"{basis[0]} {basis[1]}", color="primary", class_name="me-1"),
              dbc.Badge(fmt.qualifier_text(str(row["qualifier"])), color="warning" if row["inexact"] else "light",
                        text_color=None if row["inexact"] else "dark", class_name="me-1")]
    if not bool(row["computable"]):
        badges.append(dbc.Badge(fmt.bilingual(fmt.CANNOT), color="secondary", class_name="me-1"))
    elif row["proxy"]:
        badges.append(dbc.Badge(f"{fmt.PROXY_MARK} 代用年份 proxy year", color="warning", text_color="dark",
                                class_name="me-1"))
    if row["needs_review"]:
        badges.append(dbc.Badge("⚑ 待复核 needs review", color="danger", class_name="me-1"))
    return badges


def numerator_part(numerator: dict) -> html.Div:
    """The rate's numerator: the article figure, its words in the quote, its source, a link to open it."""
    return html.Div(className="q-part", children=[
        html.Div([bi("分子", "Numerator"), html.Span(f" · {numerator['indicator_name_zh']} {numerator['period']}",
                                                 className="q-part-what")],
                 className="q-part-head"),
        html.Div([html.Span(str(numerator["exact"]), className="q-part-value", id="q-num-value"),
                  html.Span([" ", bi("原文", "as written"), f" {numerator['number_text']}"], className="q-meta")]),
        html.Blockquote(highlight(str(numerator["quote"]), str(numerator["number_text"])), className="q-quote",
                        id="q-quote"),
        source_block(numerator, str(numerator.get("published") or "")),
        html.Button(bi("打开这条数字", "open this figure"), id={"type": PICK, "fact": str(numerator["fact_id"])},
                    className="q-link-btn"),
    ])


def denominator_part(row: dict, denominator: dict | None, year: int) -> html.Div:
    """The rate's denominator: the official figure, its year (same year or a proxy) and its source."""
    den_year = int(row["denominator_year"])
    proxy = bool(row["proxy"])
    den_value = (str(denominator["exact"]) if denominator is not None else
                 fmt.exact_label(float(row["denominator_value"]), str(row["denominator_unit"])))
    den_name = (str(denominator["indicator_name_zh"]) if denominator is not None else
                str(row["denominator_indicator_code"]))
    url = str(row.get("denominator_source_url") or "")
    title = str(row.get("denominator_source_title") or "") or url
    tier = str(row.get("denominator_source_tier") or "unverified")
    return html.Div(className="q-part", children=[
        html.Div([bi("分母", "Denominator"), html.Span(f" · {den_name} {den_year}年", className="q-part-what")],
                 className="q-part-head"),
        html.Div([html.Span(den_value, className="q-part-value", id="q-den-value"), " ",
                  dbc.Badge(f"{fmt.PROXY_MARK} 代用年份：用{den_year}年代替{year}年 proxy for {year}", color="warning",
                            text_color="dark", class_name="ms-1") if proxy else
                  dbc.Badge(f"同年 same year {den_year}", color="light", text_color="dark", class_name="ms-1")]),
        html.Div([html.Span(f"{fmt.tier_mark(tier)} {fmt.tier_text(tier)}: ".lstrip(), className="q-meta",
                            id="q-den-tier"),
                  html.A(title, href=url, target="_blank", rel="noopener noreferrer", id="q-den-source")
                  if url else html.Span(title)], className="q-url mt-1"),
    ])


def result_part(row: dict, scale: float | None) -> html.Div:
    """The computation, written out: numerator ÷ denominator × scale = result."""
    result = float(row["value"])
    return html.Div(className="q-part q-result", children=[
        html.Div(bi("结果", "Result"), className="q-part-head"),
        html.Div(f"{fmt.exact_number(float(row['numerator_value']))} ÷ {fmt.exact_number(float(row['denominator_value']))}"
                 + (f" × {fmt.exact_number(scale)}" if scale else "") + f" = {fmt.exact_number(result)}",
                 className="q-formula", id="q-formula"),
    ])


def fact_panel(found: dict, checks: pd.DataFrame) -> list:
    """The quote behind a figure: exact words, article, outlet, date, qualifier, review status, the cross-check
    against its official counterpart, and the other quotes for the same region, indicator and year."""
    fact = found["fact"]
    published = str(fact.get("published") or "")
    body = [
        html.Div(fact_badges(fact), className="q-badges"),
        html.Div(fact["exact"], className="q-value", id="q-value"),
        html.Div([bi("原文", "as written"), ": ", html.Span(str(fact["number_text"]), className="q-number-text")],
                 className="q-as-written"),
        html.Div(className="q-what", children=[
            html.B(str(fact["region_name"])), html.Span(f" {fact['region_name_en']}", className="en"), " · ",
            html.Span(str(fact["indicator_name_zh"])), html.Span(f" {fact['indicator_name_en']}", className="en"),
        ]),
        html.Div([str(fact["period"]), html.Span(f" {fact.get('period_en', '')}", className="en")],
                 className="q-period", id="q-period"),
        period_basis(fact),
        html.Blockquote(highlight(str(fact["quote"]), str(fact["number_text"])), className="q-quote", id="q-quote"),
        source_block(fact, published),
    ]
    if fact.get("review_reason"):
        body.append(html.Div([bi("复核原因", "Why review"), ": ", str(fact["review_reason"])], className="q-reason"))
    body.extend(check_block(checks, str(fact["fact_id"])))
    if found["others"]:
        body.append(html.Div(bi(f"同一地区、指标、年份的其他引文（{len(found['others'])}）",
                                f"Other quotes, same region, indicator, year ({len(found['others'])})"),
                             className="q-others-title"))
        body.append(html.Ul([html.Li([html.B(o["display"]), " — ", html.Span(str(o["title"]), className="q-meta")])
                             for o in found["others"]], className="q-others"))
    body.append(html.Div(f"fact {fact['fact_id']} · {fact['article_id']}", className="q-id"))
    return body


def period_basis(fact: dict) -> html.Div | None:
    """What dated the figure (its clause, its paragraph, the document's year, the publication date), so an
    analyst sees why it sits in that year; an assumed period is marked."""
    label = PERIOD_SOURCE_LABELS.get(str(fact.get("period_source") or ""))
    if label is None:
        return None
    assumed = fact.get("period_source") == "publication"
    return html.Div([bi("时期依据", "period from"), ": ", html.Span(label[0]), html.Span(f" {label[1]}", className="en")],
                    className="q-period-basis" + (" assumed" if assumed else ""), id="q-period-basis")


def fact_badges(fact: dict) -> list:
    """The figure's qualifier, its source kind, and whether it waits for review or was corrected."""
    badges = [dbc.Badge(fmt.qualifier_text(str(fact["qualifier"])),
                        color="warning" if fact["inexact"] else "light", text_color="dark" if not fact["inexact"] else None,
                        class_name="me-1")]
    tier = str(fact.get("source_tier") or PRESS)
    mark = fmt.tier_mark(tier)
    badges.append(dbc.Badge(f"{mark} {fmt.tier_text(tier)}".strip(), color=TIER_BADGES.get(tier, "light"),
                            text_color="dark" if tier in ("unverified", PRESS) else None,
                            class_name=f"me-1 b-tier b-{tier}", id="q-tier"))
    if fact["needs_review"]:
        badges.append(dbc.Badge("⚑ 待复核 needs review", color="danger", class_name="me-1"))
    elif str(fact["status"]) == "corrected":
        badges.append(dbc.Badge("已更正 corrected", color="info", class_name="me-1"))
    return badges


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
    """Where the figure was read: the article (title, outlet or 来源未注明, date, its address where the
    manifest gives one) or, for statistics, the named source, its link and what kind of page it is."""
    lines = [html.Div(str(fact["title"]) or "（无标题 untitled）", className="q-title")]
    url = str(fact.get("source_url") or fact.get("url") or "")
    if fact.get("source_kind") != STATISTICS:
        lines.append(html.Div([fmt.outlet_text(fact.get("outlet")), " · ", published or "日期不详 date unknown"],
                              className="q-meta", id="q-outlet"))
    else:
        lines.append(html.Div(fmt.tier_text(str(fact.get("source_tier") or "unverified")), className="q-meta"))
    if url:
        lines.append(html.Div(html.A(url, href=url, target="_blank", rel="noopener noreferrer"), className="q-url"))
    return html.Div(lines, className="q-article")


def highlight(quote: str, number_text: str) -> list:
    """The quote with the figure's own words marked."""
    position = quote.find(number_text) if number_text else -1
    if position < 0:
        return ["“", quote, "”"]
    end = position + len(number_text)
    return ["“", quote[:position], html.Mark(quote[position:end]), quote[end:], "”"]
