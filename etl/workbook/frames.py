"""The workbook's content as plain DataFrames: region hierarchy, labels, facts as shown, the pivot's cells.

Pure pandas, no openpyxl, so each rule (which value a pivot cell shows, how a period reads) is testable on
its own and the sheet code only lays things out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.curate.comparable import CLASS_ORDER, period_label, with_basis
from etl.curate.percapita import TOLERANCE
from etl.vocabulary import LEVEL_LABELS, LEVELS, PRESS, REVIEW_REASON_LABELS, SOURCE_TIER_LABELS, SOURCE_TIERS

LEVEL_ZH = {level: zh for level, (zh, _) in LEVEL_LABELS.items()}
STATUS_ZH = {"extracted": "自动摘录", "needs_review": "待复核", "corrected": "已人工核正"}
QUALIFIER_ZH = {"exact": "确数", "over": "超过（下限）", "under": "不足（上限）", "approx": "约数",
                "target": "目标值", "range": "区间"}
# Which figure a summary cell shows when a region reports several of one comparable set and period: a
# checked one, then the best source (an official statistic first, a press report last), then the latest.
STATUS_RANK = {"corrected": 0, "extracted": 1, "needs_review": 2}
TIER_RANK = {tier: i for i, tier in enumerate(SOURCE_TIERS)}
CELL_KEYS = ["indicator_code", "cmp_kind", "cmp_level", "region_code", "cmp_period"]
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
WIDE_UNITS = 1.9  # column-width units a Chinese character of 10.5 pt takes
# Units whose large values an official reads in 万 or 亿, as the articles write them (the exact value stays
# in 明细), and the two scales.
SCALED_UNITS = frozenset({"person", "person_time", "yuan", "count"})
SCALES = (("亿", 1e8), ("万", 1e4))
# Per-capita values (derived_facts): what each status means to a reader, and the factor of each rate unit when
# the taxonomy does not name it (a table written by an older taxonomy).
DERIVED_STATUS_ZH = {"derived": "已计算", "derived_proxy_year": "代用年份", "no_denominator": "无分母",
                     "refused_period": "时期不符"}
DERIVED_HAS_VALUE = ("derived", "derived_proxy_year")
UNIT_SCALE = {"per_10k_residents": 10_000.0, "per_10k": 10_000.0, "yuan_per_100m_gdp": 100_000_000.0}


@dataclass(frozen=True)
class RegionTree:
    """Parent links of the regions table, and the reading order city → county → town beneath it."""

    parent: dict[str, str]
    order: dict[str, int]
    depth: dict[str, int]

    @classmethod
    def from_frame(cls, regions: pd.DataFrame) -> RegionTree:
        parent = regions.set_index("code")["parent_code"].fillna("").to_dict()
        children: dict[str, list[str]] = {}
        for code, up in parent.items():
            children.setdefault(up if up in parent else "", []).append(code)
        order: dict[str, int] = {}
        depth: dict[str, int] = {}
        stack = [(code, 0) for code in sorted(children.get("", []), reverse=True)]
        while stack:
            code, level = stack.pop()
            if code in order:
                continue
            order[code], depth[code] = len(order), level
            stack.extend((child, level + 1) for child in sorted(children.get(code, []), reverse=True))
        return cls(parent, order, depth)

    def ancestors(self, code: str) -> list[str]:
        """Parents from the nearest up, without the region itself."""
        chain, seen = [], {code}
        while (code := self.parent.get(code, "")) and code not in seen:
            chain.append(code)
            seen.add(code)
        return chain

    def descendants(self, codes: Iterable[str]) -> set[str]:
        """The regions and everything beneath them."""
        wanted = set(codes)
        return {c for c in self.parent if c in wanted or wanted.intersection(self.ancestors(c))}

    def with_ancestors(self, codes: Iterable[str], top: bool = True) -> set[str]:
        """The regions and their parents; without the root (the province) unless `top` or listed."""
        out = set()
        for code in set(codes):  # a column of 100,000 facts names about a hundred regions
            out.add(code)
            out.update(a for a in self.ancestors(code) if top or self.depth.get(a, 0) > 0)
        return out

    def sort_key(self, codes: pd.Series) -> pd.Series:
        return codes.map(self.order).fillna(len(self.order)).astype(int)


def resolve_regions(entries: Iterable[str], regions: pd.DataFrame) -> list[str]:
    """Codes for what a user typed (code, Chinese or English name, alias); unknown names stop the export."""
    lookup: dict[str, str] = {}
    for row in regions.itertuples(index=False):
        names = [row.code, row.name_zh, str(row.name_en).lower(), *str(row.aliases or "").split("|")]
        for name in names:
            if name:
                lookup.setdefault(str(name).strip(), row.code)
    codes, unknown = [], []
    for entry in entries:
        key = str(entry).strip()
        code = lookup.get(key) or lookup.get(key.lower())
        (codes if code else unknown).append(code or key)
    if unknown:
        raise ValueError(f"unknown region(s) {unknown}: not a code, name or alias in the regions table")
    return codes


def tier_words(tiers: pd.Series) -> pd.Series:
    """Source tiers in the words the sheets print (官方统计, 官方公报转载, …); '' stays ''."""
    return tiers.map({tier: zh for tier, (zh, _) in SOURCE_TIER_LABELS.items()}).fillna("")


CORRECTION_VERBS = {"corrected": "已核正", "rejected": "已驳回"}


def review_reason_zh(text: object) -> str:
    """A review reason in Chinese: the extractor's codes in words, an analyst's correction as 已核正（谁）：why."""
    parts = []
    for part in str(text or "").split("; "):
        code, _, detail = part.partition(": ")
        verb, _, who = code.partition(" by ")
        if code in REVIEW_REASON_LABELS:
            parts.append(REVIEW_REASON_LABELS[code])
        elif verb in CORRECTION_VERBS and who:
            parts.append(f"{CORRECTION_VERBS[verb]}（{who}）：{detail}")
        elif part:
            parts.append(part)
    return "；".join(parts)


def excel_serial(dates: pd.Series) -> pd.Series:
    """Dates as Excel day numbers, so the cell is a real date whatever the reader's locale."""
    return (pd.to_datetime(dates, errors="coerce") - EXCEL_EPOCH).dt.days


def objects(values: pd.Series) -> np.ndarray:
    """A column as a NumPy object array (missing → None), much faster to iterate than pandas' string arrays."""
    return values.to_numpy(dtype=object, na_value=None)


def _as_text(value: object) -> str:
    """A cell's text as `Series.fillna("").astype(str)` gives it."""
    return "" if value is None or value is pd.NA or value != value else str(value)


def _text_values(values: pd.Series) -> np.ndarray:
    """A text column as it is (`_as_text` reads its missing values); others as `astype(str)` writes them,
    so values that are equal but print differently (1, 1.0, True) are never one dict key."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.to_numpy(dtype=object)
    return objects(values.fillna("").astype(str))


def _distinct_counts(texts: Iterable[object]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wide, narrow, line breaks) of each text given.

    A Chinese character is three bytes in UTF-8 and a Latin one a single byte, so the byte length gives the
    number of wide characters without a regular expression.
    """
    strings = [_as_text(t) for t in texts]
    chars = np.fromiter(map(len, strings), float, len(strings))
    utf8 = np.fromiter(map(len, map(str.encode, strings)), float, len(strings))
    breaks = np.fromiter((t.count("\n") for t in strings), float, len(strings))
    wide = (utf8 - chars) / 2
    return wide, chars - wide, breaks


def display_width(values: pd.Series) -> int:
    """Widest text in characters, counting a Chinese character as two, as Excel's column width does."""
    if values.empty:
        return 0
    wide, narrow, _ = _distinct_counts(set(_text_values(values).tolist()))
    return int((2 * wide + narrow).max())


def line_counts(values: pd.Series, width: float) -> np.ndarray:
    """Lines a wrapped text needs in a column `width` units wide.

    Measured on LibreOffice (Carlito for Calibri, Noto Sans CJK) and Excel renderings: a Chinese character
    takes about 1.9 width units, a Latin one about 1, and a line break always starts a new line. Counted
    once per distinct text and looked up with a dict, which hashes long strings faster than pandas' factorize.
    """
    if values.empty:
        return np.ones(0)
    texts = _text_values(values).tolist()
    distinct = list(dict.fromkeys(texts))
    wide, narrow, breaks = _distinct_counts(distinct)
    lines = np.maximum(1, np.ceil((wide * WIDE_UNITS + narrow) / max(width - 1.0, 1.0)) + breaks)
    return np.fromiter(map(dict(zip(distinct, lines.tolist(), strict=True)).__getitem__, texts), float, len(texts))


def text_lines(text: str, width: float) -> int:
    """`line_counts` for one text."""
    wide = (len(text.encode("utf-8")) - len(text)) / 2
    return max(1, math.ceil((wide * WIDE_UNITS + len(text) - wide) / max(width - 1.0, 1.0)) + text.count("\n"))


def with_articles(facts: pd.DataFrame, articles: pd.DataFrame) -> pd.DataFrame:
    """Facts with their article's title, outlet and publication date beside them."""
    columns = ["article_id", "title", "outlet", "published", "published_precision", "url"]
    return facts.merge(articles[columns], on="article_id", how="left")


def sorted_facts(facts: pd.DataFrame, indicators: pd.DataFrame, tree: RegionTree) -> pd.DataFrame:
    """Facts in reading order: region hierarchy, taxonomy order, year, then where they were read."""
    indicator_order = {code: i for i, code in enumerate(indicators["code"])}
    keyed = facts.assign(
        _region=tree.sort_key(facts["region_code"]),
        _indicator=facts["indicator_code"].map(indicator_order).fillna(len(indicator_order)),
    )
    keys = ["_region", "_indicator", "year", "published", "article_id", "char_start"]
    ordered = keyed.sort_values(keys, kind="stable")
    return ordered.drop(columns=["_region", "_indicator"]).reset_index(drop=True)


def pivot_indicators(facts: pd.DataFrame, indicators: pd.DataFrame,
                     explicit: Iterable[str] = ()) -> list[str]:
    """Indicators the summary shows: headline ones with data, plus any asked for by name, in taxonomy order.

    When the filters leave no headline indicator, every named (non-`other`) indicator with data is shown.
    """
    present = set(facts.loc[facts["qualifier"] != "target", "indicator_code"].unique())
    named = indicators[~indicators["code"].str.startswith("other_")]
    wanted = set(explicit)
    chosen = [c for c, headline in zip(named["code"], named["headline"], strict=True)
              if c in present and (headline or c in wanted)]
    return chosen or [c for c in named["code"] if c in present]


def pivot_cells(facts: pd.DataFrame, indicator_codes: list[str]) -> pd.DataFrame:
    """One row per indicator, comparable set (kind of period and level), region and period: the figure the
    summary shows there and how many different values the others give.

    `facts` must carry `published` (see `with_articles`). Targets are plans, not results, and stay out.
    """
    chosen = with_basis(facts[facts["indicator_code"].isin(indicator_codes) & (facts["qualifier"] != "target")])
    ranked = chosen.assign(
        _status=chosen["status"].map(STATUS_RANK).fillna(len(STATUS_RANK)),
        _tier=chosen["source_tier"].map(TIER_RANK).fillna(TIER_RANK[PRESS]),
    ).sort_values([*CELL_KEYS, "_status", "_tier", "period_end", "published", "char_start"],
                  ascending=[True] * (len(CELL_KEYS) + 2) + [False, False, True], kind="stable")
    distinct = ranked.groupby(CELL_KEYS)["value"].nunique().rename("n_values")
    cells = ranked.drop_duplicates(CELL_KEYS, keep="first").drop(columns=["_status", "_tier"])
    return cells.merge(distinct, left_on=CELL_KEYS, right_index=True).reset_index(drop=True)


def summary_sets(cells: pd.DataFrame, indicator_code: str) -> list[tuple[str, str, pd.DataFrame]]:
    """An indicator's cells by comparable set (kind of period, level): senior levels first, then annual
    figures, stocks, part-year figures and running totals."""
    own = cells[cells["indicator_code"] == indicator_code]
    keys = own[["cmp_kind", "cmp_level"]].drop_duplicates()
    order = sorted(keys.itertuples(index=False), key=lambda k: (
        LEVELS.index(k.cmp_level) if k.cmp_level in LEVELS else len(LEVELS),
        CLASS_ORDER.index(k.cmp_kind.partition(":")[0]), k.cmp_kind))
    return [(k.cmp_kind, k.cmp_level, own[(own["cmp_kind"] == k.cmp_kind) & (own["cmp_level"] == k.cmp_level)])
            for k in order]


def block_scale(unit: str, number_texts: pd.Series) -> tuple[float, str]:
    """万 or 亿 when most of the figures were written so (129.07万人), the divisor and its prefix; else (1, '')."""
    if unit not in SCALED_UNITS or number_texts.empty:
        return 1.0, ""
    texts = number_texts.astype(str)
    for prefix, divisor in SCALES:
        if texts.str.contains(prefix, regex=False).mean() >= 0.5:
            return divisor, prefix
    return 1.0, ""


def cell_note(cell: Mapping[str, object], format_value: Callable[[float], str]) -> str:
    """What a reader must know about a summary cell beyond its number; '' when nothing."""
    notes = []
    if cell["qualifier"] == "range" and pd.notna(cell["value_high"]):
        notes.append(f"区间 {format_value(cell['value'])}–{format_value(cell['value_high'])}")
    if cell["status"] == "needs_review":
        notes.append("待复核")
    if cell["n_values"] > 1:
        notes.append(f"同期另有{cell['n_values'] - 1}个不同数值，见明细")
    return "；".join(notes)


def chart_comparisons(cells: pd.DataFrame, limit: int = 3) -> list[pd.DataFrame]:
    """The largest comparable sets (same indicator, kind of period, period and level) with two regions or
    more, most regions first, one per indicator: each chart compares like with like."""
    if cells.empty:
        return []
    keys = ["indicator_code", "cmp_kind", "cmp_period", "cmp_level"]
    sizes = (cells.groupby(keys).size().rename("n").reset_index().query("n >= 2")
             .sort_values(["n", "cmp_period"], ascending=[False, False], kind="stable"))
    out, seen = [], set()
    for row in sizes.itertuples(index=False):
        if row.indicator_code in seen:
            continue
        seen.add(row.indicator_code)
        part = cells[(cells["indicator_code"] == row.indicator_code) & (cells["cmp_kind"] == row.cmp_kind)
                     & (cells["cmp_period"] == row.cmp_period) & (cells["cmp_level"] == row.cmp_level)]
        out.append(part.sort_values("value", ascending=False))
        if len(out) == limit:
            break
    return out


# --- 人均指标 and 核对: the fair-comparison tables as the sheets list them


def per_capita_rows(derived: pd.DataFrame, articles: pd.DataFrame, indicators: pd.DataFrame, tree: RegionTree,
                    scales: Mapping[str, float]) -> pd.DataFrame:
    """Derived values with what an official needs to redo the sum: article title, scale, status and note.

    Rows with a result come first, those without a denominator after them (each in region, indicator, year
    order), so the sheet opens on numbers and the gaps are listed, with their reason, at the end.
    """
    titles = articles.set_index("article_id")["title"]
    names = indicators.set_index("code")["name_zh"]
    indicator_order = {code: i for i, code in enumerate(indicators["code"])}
    scale = derived["indicator_code"].map(scales).fillna(derived["unit"].map(UNIT_SCALE)).astype(float)
    rows = derived.assign(
        article_title=derived["numerator_article_id"].map(titles).fillna(""),
        denominator_name_zh=derived["denominator_indicator_code"].map(names).fillna(
            derived["denominator_indicator_code"]),
        scale=scale,
        numerator_period=[period_label(k, a, b) for k, a, b in zip(
            derived["numerator_period_kind"], derived["numerator_period_start"], derived["numerator_period_end"],
            strict=True)],
        status_zh=derived["status"].map(DERIVED_STATUS_ZH).fillna(derived["status"]),
        **_derived_notes(derived),
        _missing=~derived["status"].isin(DERIVED_HAS_VALUE) | derived["value"].isna(),
        _region=tree.sort_key(derived["region_code"]),
        _indicator=derived["indicator_code"].map(indicator_order).fillna(len(indicator_order)),
    )
    keys = ["_missing", "_region", "_indicator", "year", "numerator_value", "fact_id"]
    ordered = rows.sort_values(keys, kind="stable").reset_index(drop=True)
    return ordered.drop(columns=["_region", "_indicator"])


def _derived_notes(derived: pd.DataFrame) -> dict[str, pd.Series]:
    """The pipeline's note ("中文 · English": proxy year, missing denominator) split into a Chinese note for
    the printed page and an English one beside it, plus what a range or target numerator means."""
    parts = derived["note"].fillna("").astype(str).str.partition(" · ").reindex(columns=range(3), fill_value="")
    zh, en = parts[0].str.strip(), parts[2].str.strip()
    is_range = (derived["qualifier"] == "range") & derived["value_high"].notna() & derived["value"].notna()
    high = derived["value_high"].map(lambda v: f"{v:,.2f}" if v == v else "").astype(str)
    extras = [
        (is_range, "分子为区间，结果为下限，上限为 " + high,
         "the numerator is a range: the result is its lower end, the upper " + high),
        (derived["qualifier"] == "target", "分子为目标值（计划数），不是实绩", "the numerator is a target, not an outcome"),
    ]
    for mask, extra_zh, extra_en in extras:
        zh = zh.where(~mask, (zh + "；").where(zh != "", "") + extra_zh)
        en = en.where(~mask, (en + "; ").where(en != "", "") + extra_en)
    return {"note_zh": zh, "note_en": en}


def check_rule(qualifier: str) -> str:
    """When an article figure counts as consistent with the official one, in words (see percapita)."""
    if qualifier == "over":
        return "报道为下限（超过、多）：官方数字不低于报道数字即相符"
    if qualifier == "under":
        return "报道为上限（不到、以内）：官方数字不高于报道数字即相符"
    tolerance = TOLERANCE.get(qualifier, TOLERANCE["approx"])
    kind = {"exact": "确数", "approx": "约数", "range": "区间下限", "target": "目标值"}.get(qualifier, "约数")
    return f"报道为{kind}：与官方数字相差不超过{tolerance:.0%}即相符"


def crosscheck_rows(crosscheck: pd.DataFrame, articles: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """Article figures beside official ones, worst first: inconsistent before consistent, then the larger gap."""
    titles = articles.set_index("article_id")["title"]
    units = indicators.set_index("code")["unit"]
    rows = crosscheck.assign(
        article_title=crosscheck["article_id"].map(titles).fillna(""),
        unit=crosscheck["indicator_code"].map(units).fillna(""),
        consistent_zh=np.where(crosscheck["consistent"].astype(bool), "是", "否"),
        rule=crosscheck["article_qualifier"].map(check_rule),
        _gap=-crosscheck["relative_difference"].abs(),
    )
    ordered = rows.sort_values(["consistent", "_gap", "region_code", "article_fact_id"], kind="stable")
    return ordered.drop(columns="_gap").reset_index(drop=True)
