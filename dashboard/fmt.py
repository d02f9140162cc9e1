"""How numbers, units and qualifiers read on screen: the Chinese way (万, 亿) with the exact value beside.

One place for these rules so that a bar label, a hover, a table cell and the quote panel never disagree.
Unit names come from `data/reference/units.yaml`; only display conventions live here.
"""

from __future__ import annotations

import math

from etl.extract.units import load_units
from etl.vocabulary import LEVEL_LABELS, NO_SOURCE, PRESS, SOURCE_TIER_LABELS, SOURCE_TIER_MARKS

WAN = 1e4
YI = 1e8
# Units whose values are plain counts of things, where 万/亿 help reading.
SCALABLE_UNITS = frozenset({"person", "person_time", "yuan", "count", "mu", "square_meter", "km", "per_10k",
                            "yuan_per_100m_gdp"})
# Rates the pipeline derives (etl.curate.percapita): what is written after the number.
RATE_SUFFIX = {"per_10k": "/万人", "per_10k_residents": "/万人", "yuan_per_100m_gdp": "元/亿元GDP"}
# Units written before or around the number rather than after it.
PREFIX_UNITS = {"rank": ("第", "名")}
NO_SUFFIX_UNITS = frozenset({"index"})

QUALIFIER_MARK = {"exact": "", "over": "≥ ", "under": "≤ ", "approx": "≈ ", "target": "目标 ", "range": ""}
QUALIFIER_LABEL = {
    "exact": ("确数", "exact"),
    "over": ("超过·下限", "more than (lower bound)"),
    "under": ("不超过·上限", "at most (upper bound)"),
    "approx": ("约数", "approximate"),
    "target": ("目标值", "target"),
    "range": ("区间", "range"),
}
STATUS_LABEL = {
    "extracted": ("已抽取", "extracted"),
    "needs_review": ("待复核", "needs review"),
    "corrected": ("已更正", "corrected"),
}
LEVEL_LABEL = LEVEL_LABELS
RATE_BASIS_LABEL = {  # the toggle's wording for each derived unit
    "per_10k_residents": ("每万常住人口", "per 10,000 residents"),
    "yuan_per_100m_gdp": ("每亿元GDP", "per 100 million yuan of GDP"),
}
RATE_SHORT = {"per_10k_residents": "每万人", "yuan_per_100m_gdp": "每亿元GDP"}  # for narrow labels
PROXY_MARK = "※"  # a derived value whose denominator is from a neighbouring year
STAT_MARK = SOURCE_TIER_MARKS["official"]  # a figure from official statistics, where colour alone cannot say so
CANNOT = ("无法计算", "cannot compute")


def unit_suffix(unit: str) -> str:
    """The measure word written after a number of this unit (人, 元, %), '' when there is none."""
    if unit in NO_SUFFIX_UNITS or unit in PREFIX_UNITS:
        return ""
    if unit in RATE_SUFFIX:
        return RATE_SUFFIX[unit]
    spec = load_units().get(unit) or {}
    measures = spec.get("measures") or []
    return str(measures[0]) if measures else ""


def unit_label(unit: str) -> str:
    """'人 person' style axis label for a unit code; the code itself when it is not declared."""
    spec = load_units().get(unit)
    if not spec:
        return unit
    return f"{spec.get('name_zh', unit)} {spec.get('name_en', '')}".strip()


def _trim(number: float, digits: int) -> str:
    text = f"{number:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def short_number(value: float, unit: str = "person") -> str:
    """129.07万, 248.77亿, 3,500, 33.81 — the compact reading, without unit or qualifier."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit in SCALABLE_UNITS:
        magnitude = abs(value)
        if magnitude >= YI:
            return f"{_trim(value / YI, 2)}亿"
        if magnitude >= WAN:
            return f"{_trim(value / WAN, 2)}万"
    if 0 < abs(value) < 1:  # small rates (0.086 postdocs per 10,000 residents) keep three significant digits
        return _trim(value, max(2, 2 - math.floor(math.log10(abs(value)))))
    return _trim(value, 2)


def exact_number(value: float) -> str:
    """The exact value with thousands separators: 1,290,700 or 33.81."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return _trim(value, 4)


def _with_unit(number: str, unit: str) -> str:
    if unit in PREFIX_UNITS:
        before, after = PREFIX_UNITS[unit]
        return f"{before}{number}{after}"
    return f"{number}{unit_suffix(unit)}"


def value_label(value: float, unit: str, qualifier: str = "exact", value_high: float | None = None) -> str:
    """What a bar or cell says: '≥ 100万人', '≈ 3.5亿元', '33.81%', '10万–20万元', '第3名'."""
    if qualifier == "range" and value_high is not None and not _isnan(value_high):
        return _with_unit(f"{short_number(value, unit)}–{short_number(value_high, unit)}", unit)
    return QUALIFIER_MARK.get(qualifier, "") + _with_unit(short_number(value, unit), unit)


def exact_label(value: float, unit: str, qualifier: str = "exact", value_high: float | None = None) -> str:
    """The exact reading for hovers and the quote panel: '≥ 1,000,000 人'."""
    suffix = unit_suffix(unit)
    spaced = f" {suffix}" if suffix and suffix not in ("%", "/万人") else suffix
    if unit in PREFIX_UNITS:
        return value_label(value, unit, qualifier, value_high)
    if qualifier == "range" and value_high is not None and not _isnan(value_high):
        return f"{exact_number(value)}–{exact_number(value_high)}{spaced}"
    return f"{QUALIFIER_MARK.get(qualifier, '')}{exact_number(value)}{spaced}"


def clip(text: str, n: int) -> str:
    """`text` cut to `n` characters, an ellipsis marking the cut."""
    return text if len(text) <= n else text[: n - 1] + "…"


def bilingual(pair: tuple[str, str]) -> str:
    return f"{pair[0]} {pair[1]}"


def qualifier_text(qualifier: str) -> str:
    return bilingual(QUALIFIER_LABEL.get(qualifier, (qualifier, qualifier)))


def status_text(status: str) -> str:
    return bilingual(STATUS_LABEL.get(status, (status, status)))


def tier_text(tier: str) -> str:
    """'官方统计 official statistics', '二手来源 secondary source', '新闻报道 press report' for a source tier."""
    return bilingual(SOURCE_TIER_LABELS.get(tier, SOURCE_TIER_LABELS[PRESS]))


def tier_mark(tier: str) -> str:
    """The mark a figure of this tier carries beside its value ('' for a press report)."""
    return SOURCE_TIER_MARKS.get(tier, "")


def outlet_text(outlet: object) -> str:
    """An article's outlet, or 来源未注明 when the manifest names none."""
    text = "" if outlet is None else str(outlet).strip()
    return text if text and text != "nan" else bilingual(NO_SOURCE)


def percent_change(fraction: float | None) -> str:
    """A relative difference as read: '+3.2%', '−1.5%' (a real minus sign), '–' when unknown."""
    if fraction is None or _isnan(fraction):
        return "–"
    sign = "+" if fraction > 0 else "−" if fraction < 0 else "±"
    return f"{sign}{abs(fraction) * 100:.1f}%"


def _isnan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)
