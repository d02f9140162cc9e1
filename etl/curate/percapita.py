"""Fair comparison: per-capita and per-GDP values, and a cross-check of article figures against statistics.

Pure functions over the facts table. A rate divides only a figure that allows it: an annual flow or a stock
(`RATE_NUMERATOR_KINDS`); a part-year or multi-year total is refused with the reason, never turned into one
year's rate. A derived value uses the denominator of the same region and year; where only a neighbouring
year (±1) exists it is used and flagged as a proxy; with no denominator there is no value, only the reason.
A lower-bound numerator gives a lower-bound rate: qualifiers propagate.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from etl.curate.comparable import CLASS_NAMES, PERIOD_CLASS, period_label, period_label_en
from etl.extract.indicators import Taxonomy
from etl.vocabulary import ARTICLE, LIVE_STATUSES, RATE_NUMERATOR_KINDS, STATISTICS

PROXY_YEARS = (1, -1)
TOLERANCE = {"exact": 0.01, "approx": 0.05}

DERIVED_COLUMNS = [
    "fact_id", "indicator_code", "indicator_name_zh", "indicator_name_en", "family", "region_code",
    "region_name", "region_level", "year", "value", "value_high", "unit", "qualifier", "status", "note",
    "numerator_fact_id", "numerator_indicator_code", "numerator_value", "numerator_value_high",
    "numerator_unit", "numerator_year", "numerator_article_id", "numerator_quote", "numerator_period_kind",
    "numerator_period_start", "numerator_period_end",
    "denominator_fact_id", "denominator_indicator_code", "denominator_value", "denominator_unit",
    "denominator_year", "denominator_source_title", "denominator_source_url", "denominator_source_tier",
    "proxy_year",
]
REFUSED = "refused_period"  # the numerator's period allows no rate (part of a year, several years)
# What derive and crosscheck read of an article figure and of an official one
ARTICLE_COLUMNS = ["fact_id", "region_code", "region_name", "indicator_name_zh", "article_id", "year", "value",
                   "qualifier", "number_text", "quote"]
OFFICIAL_COLUMNS = ["fact_id", "region_code", "year", "value", "unit", "source_title", "source_url", "source_tier"]
CROSSCHECK_COLUMNS = [
    "article_fact_id", "statistics_fact_id", "region_code", "region_name", "indicator_code",
    "indicator_name_zh", "article_id", "article_year", "official_year", "article_value", "article_qualifier",
    "article_number_text", "article_quote", "official_value", "official_source_title", "official_source_url",
    "official_source_tier", "relative_difference", "consistent", "verdict",
]


def _id(*parts: str) -> str:
    return hashlib.sha1(":".join(parts).encode("utf-8")).hexdigest()[:16]


def _live(facts: pd.DataFrame, source_kind: str, indicators: set[str], columns: list[str]) -> pd.DataFrame:
    """The live facts of one source kind and these indicators, in table order, with only `columns`.

    One pass over the whole table, not one per derived indicator.
    """
    keep = (facts["status"].isin(LIVE_STATUSES) & (facts["source_kind"] == source_kind)
            & facts["indicator_code"].isin(indicators))
    return facts.loc[keep, ["indicator_code", *columns]]


def _denominators(official: pd.DataFrame) -> dict[tuple[str, int], dict]:
    """(region, year) → the official row for it; a later row for the same year wins, as it always has."""
    rows = _records(official, OFFICIAL_COLUMNS)
    return {(row["region_code"], int(row["year"])): row for row in rows if not pd.isna(row["region_code"])}


def _denominator(by_key: dict[tuple[str, int], dict], region: str, year: int) -> tuple[dict | None, bool]:
    """The denominator row for `year`, else the nearest neighbouring year (flagged), else None."""
    if (region, year) in by_key:
        return by_key[region, year], False
    for offset in PROXY_YEARS:
        if (region, year - offset) in by_key:
            return by_key[region, year - offset], True
    return None, False


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """Rows as dicts of the values iterrows gave (NaN stays NaN), without boxing each value through pandas
    as iterrows and `to_dict` do."""
    values = [frame[c].to_numpy(dtype=object) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


NUMERATOR_COLUMNS = ["fact_id", "region_code", "region_name", "region_level", "year", "qualifier", "value",
                     "value_high", "unit", "article_id", "quote", "period_kind", "period_start", "period_end"]


def derive(facts: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """One row per (derived indicator, numerator fact): the rate, or no value and the reason why."""
    specs = taxonomy.derived.values()
    articles = _live(facts, ARTICLE, {spec.numerator for spec in specs}, NUMERATOR_COLUMNS)
    official = _live(facts, STATISTICS, {spec.denominator for spec in specs}, OFFICIAL_COLUMNS)
    rows = []
    for spec in specs:
        indicator = taxonomy.indicators[spec.code]
        denominator = taxonomy.indicators[spec.denominator]
        numerators = articles[articles["indicator_code"] == spec.numerator]
        denominators = _denominators(official[official["indicator_code"] == spec.denominator])
        for num in _records(numerators, NUMERATOR_COLUMNS):
            row = _numerator_part(spec, indicator, num)
            if num["period_kind"] not in RATE_NUMERATOR_KINDS:
                row.update(value=None, value_high=None, status=REFUSED, note=refusal_note(num))
                rows.append(row)
                continue
            den, proxy = _denominator(denominators, num["region_code"], row["year"])
            row["proxy_year"] = proxy
            row.update(_no_denominator(num, row["year"], denominator) if den is None
                       else _rate(num, den, spec.scale, proxy, row["year"]))
            rows.append(row)
    return pd.DataFrame(rows, columns=DERIVED_COLUMNS)


def _numerator_part(spec, indicator, num: dict) -> dict:
    """What a derived row says about its indicator and its numerator, whatever becomes of the rate."""
    year = int(num["year"])
    return {
        "fact_id": _id(num["fact_id"], spec.code), "indicator_code": spec.code,
        "indicator_name_zh": indicator.name_zh, "indicator_name_en": indicator.name_en,
        "family": indicator.family, "region_code": num["region_code"], "region_name": num["region_name"],
        "region_level": num["region_level"], "year": year, "unit": indicator.unit,
        "qualifier": num["qualifier"], "numerator_fact_id": num["fact_id"],
        "numerator_indicator_code": spec.numerator, "numerator_value": num["value"],
        "numerator_value_high": num["value_high"], "numerator_unit": num["unit"],
        "numerator_year": year, "numerator_article_id": num["article_id"], "numerator_quote": num["quote"],
        "numerator_period_kind": num["period_kind"], "numerator_period_start": _text(num["period_start"]),
        "numerator_period_end": _text(num["period_end"]) or "",
        "denominator_indicator_code": spec.denominator, "denominator_source_tier": "", "proxy_year": False,
    }


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def refusal_note(num: dict) -> str:
    """Why a part-year or multi-year figure gives no rate: dividing it by one year's population would read as
    one year's rate (2019年以来5年新增50万 is not 50万 a year)."""
    kind = str(num["period_kind"])
    zh = period_label(kind, num["period_start"], num["period_end"])
    en = period_label_en(kind, num["period_start"], num["period_end"])
    what_zh, what_en = CLASS_NAMES.get(PERIOD_CLASS.get(kind, kind), (kind, kind))
    return (f"分子为{zh}（{what_zh}），不是年度数或时点数，不计算人均值 · the numerator is {en} ({what_en}), "
            "not an annual flow or a stock: no rate")


def _no_denominator(num: dict, year: int, denominator) -> dict:
    return {"value": None, "value_high": None, "status": "no_denominator", "note": (
        f"没有{num['region_name']}{year}年(±1年)的{denominator.name_zh}统计数字 · "
        f"no statistic for {num['region_name']} in {year} or a neighbouring year ({denominator.name_en})")}


def _rate(num: dict, den: dict, scale: float, proxy: bool, year: int) -> dict:
    high = num["value_high"] / den["value"] * scale if pd.notna(num["value_high"]) else None
    den_year = int(den["year"])
    return {
        "value": num["value"] / den["value"] * scale, "value_high": high,
        "status": "derived_proxy_year" if proxy else "derived",
        "note": (f"分母用{den_year}年数据(代替{year}年) · denominator from {den_year} used as a proxy for {year}"
                 if proxy else ""),
        "denominator_fact_id": den["fact_id"], "denominator_value": den["value"], "denominator_unit": den["unit"],
        "denominator_year": den_year, "denominator_source_title": den["source_title"],
        "denominator_source_url": den["source_url"], "denominator_source_tier": den["source_tier"],
    }


def qualifier_consistent(article_value: float, qualifier: str, official_value: float) -> bool:
    """Does what the article says (超/多 = at least, 近/约 = about, 最高 = at most) fit the official value?"""
    if qualifier == "over":
        return official_value >= article_value
    if qualifier == "under":
        return official_value <= article_value
    tolerance = TOLERANCE.get(qualifier, TOLERANCE["approx"])
    return abs(official_value - article_value) <= tolerance * official_value


def crosscheck(facts: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """Article figures beside the official figure for the same region and indicator, worst first.

    The official year is the article's year or the year before (official figures lag a year).
    """
    checked = {i.code for i in taxonomy.indicators.values() if i.statistics_names}
    articles = _records(_live(facts, ARTICLE, checked, ARTICLE_COLUMNS), ["indicator_code", *ARTICLE_COLUMNS])
    official: dict[tuple[str, str, object], dict] = {}
    for row in _records(_live(facts, STATISTICS, checked, OFFICIAL_COLUMNS),
                        ["indicator_code", *OFFICIAL_COLUMNS]):
        if not pd.isna(row["region_code"]):  # the first official row of a region, indicator and year counts
            official.setdefault((row["region_code"], row["indicator_code"], row["year"]), row)
    rows = []
    for fact in articles:
        year = int(fact["year"])
        off = official.get((fact["region_code"], fact["indicator_code"], year))
        if off is None:
            off = official.get((fact["region_code"], fact["indicator_code"], year - 1))
        if off is None:
            continue
        difference = (fact["value"] - off["value"]) / off["value"]
        consistent = qualifier_consistent(fact["value"], fact["qualifier"], off["value"])
        rows.append({
            "article_fact_id": fact["fact_id"], "statistics_fact_id": off["fact_id"],
            "region_code": fact["region_code"], "region_name": fact["region_name"],
            "indicator_code": fact["indicator_code"], "indicator_name_zh": fact["indicator_name_zh"],
            "article_id": fact["article_id"], "article_year": year, "official_year": int(off["year"]),
            "article_value": fact["value"], "article_qualifier": fact["qualifier"],
            "article_number_text": fact["number_text"], "article_quote": fact["quote"],
            "official_value": off["value"], "official_source_title": off["source_title"],
            "official_source_url": off["source_url"], "official_source_tier": off["source_tier"],
            "relative_difference": difference, "consistent": consistent,
            "verdict": ("与统计数字相符 consistent with the statistic" if consistent else
                        "与统计数字不符 not consistent with the statistic"),
        })
    frame = pd.DataFrame(rows, columns=CROSSCHECK_COLUMNS)
    if frame.empty:
        return frame
    order = frame["relative_difference"].abs().sort_values(ascending=False).index
    return frame.loc[order].reset_index(drop=True)
