"""Fair comparison: per-capita and per-GDP values, and a cross-check of article figures against official ones.

Pure functions over the facts table. A derived value uses the denominator of the same region and year;
where only a neighbouring year (±1) exists it is used and flagged as a proxy; with no denominator there is
no value, only the reason. A lower-bound numerator gives a lower-bound rate: qualifiers propagate.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from etl.indicators import Taxonomy

PROXY_YEARS = (1, -1)
LIVE_STATUSES = ("extracted", "needs_review", "corrected")
TOLERANCE = {"exact": 0.01, "approx": 0.05}

DERIVED_COLUMNS = [
    "fact_id", "indicator_code", "indicator_name_zh", "indicator_name_en", "family", "region_code",
    "region_name", "region_level", "year", "value", "value_high", "unit", "qualifier", "status", "note",
    "numerator_fact_id", "numerator_indicator_code", "numerator_value", "numerator_value_high",
    "numerator_unit", "numerator_year", "numerator_article_id", "numerator_quote",
    "denominator_fact_id", "denominator_indicator_code", "denominator_value", "denominator_unit",
    "denominator_year", "denominator_source_title", "denominator_source_url", "proxy_year",
]
CROSSCHECK_COLUMNS = [
    "article_fact_id", "statistics_fact_id", "region_code", "region_name", "indicator_code",
    "indicator_name_zh", "article_id", "article_year", "official_year", "article_value", "article_qualifier",
    "article_number_text", "article_quote", "official_value", "official_source_title", "official_source_url",
    "relative_difference", "consistent", "verdict",
]


def _id(*parts: str) -> str:
    return hashlib.sha1(":".join(parts).encode("utf-8")).hexdigest()[:16]


def _denominator(candidates: pd.DataFrame, year: int) -> tuple[pd.Series | None, bool]:
    """The denominator row for `year`, else the nearest neighbouring year (flagged), else None."""
    by_year = {int(row["year"]): row for _, row in candidates.iterrows()}
    if year in by_year:
        return by_year[year], False
    for offset in PROXY_YEARS:
        if year - offset in by_year:
            return by_year[year - offset], True
    return None, False


def derive(facts: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """One row per (derived indicator, numerator fact): the rate, or no value and the reason why."""
    live = facts[facts["status"].isin(LIVE_STATUSES)]
    official = live[live["source_kind"] == "statistics"]
    rows = []
    for spec in taxonomy.derived.values():
        indicator = taxonomy.indicators[spec.code]
        denominator_indicator = taxonomy.indicators[spec.denominator]
        numerators = live[(live["indicator_code"] == spec.numerator) & (live["source_kind"] == "article")]
        denominators = official[official["indicator_code"] == spec.denominator]
        for _, num in numerators.iterrows():
            den, proxy = _denominator(denominators[denominators["region_code"] == num["region_code"]], int(num["year"]))
            row = {
                "fact_id": _id(num["fact_id"], spec.code), "indicator_code": spec.code,
                "indicator_name_zh": indicator.name_zh, "indicator_name_en": indicator.name_en,
                "family": indicator.family, "region_code": num["region_code"], "region_name": num["region_name"],
                "region_level": num["region_level"], "year": int(num["year"]), "unit": indicator.unit,
                "qualifier": num["qualifier"], "numerator_fact_id": num["fact_id"],
                "numerator_indicator_code": spec.numerator, "numerator_value": num["value"],
                "numerator_value_high": num["value_high"], "numerator_unit": num["unit"],
                "numerator_year": int(num["year"]), "numerator_article_id": num["article_id"],
                "numerator_quote": num["quote"], "denominator_indicator_code": spec.denominator,
                "proxy_year": proxy,
            }
            if den is None:
                row.update(value=None, value_high=None, status="no_denominator", note=(
                    f"没有{num['region_name']}{int(num['year'])}年(±1年)的{denominator_indicator.name_zh}官方数据 · "
                    f"no official {denominator_indicator.name_en} for {num['region_name']} in {int(num['year'])} "
                    "or a neighbouring year"))
            else:
                high = num["value_high"] / den["value"] * spec.scale if pd.notna(num["value_high"]) else None
                row.update(
                    value=num["value"] / den["value"] * spec.scale, value_high=high,
                    status="derived_proxy_year" if proxy else "derived",
                    note=(f"分母用{int(den['year'])}年数据(代替{int(num['year'])}年) · denominator from "
                          f"{int(den['year'])} used as a proxy for {int(num['year'])}") if proxy else "",
                    denominator_fact_id=den["fact_id"], denominator_value=den["value"], denominator_unit=den["unit"],
                    denominator_year=int(den["year"]), denominator_source_title=den["source_title"],
                    denominator_source_url=den["source_url"])
            rows.append(row)
    return pd.DataFrame(rows, columns=DERIVED_COLUMNS)


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
    live = facts[facts["status"].isin(LIVE_STATUSES)]
    official = live[live["source_kind"] == "statistics"]
    checked = {i.code for i in taxonomy.indicators.values() if i.statistics_names}
    articles = live[(live["source_kind"] == "article") & live["indicator_code"].isin(checked)]
    rows = []
    for _, fact in articles.iterrows():
        same = official[(official["region_code"] == fact["region_code"])
                        & (official["indicator_code"] == fact["indicator_code"])]
        for year in (int(fact["year"]), int(fact["year"]) - 1):
            match = same[same["year"] == year]
            if len(match):
                off = match.iloc[0]
                break
        else:
            continue
        difference = (fact["value"] - off["value"]) / off["value"]
        consistent = qualifier_consistent(fact["value"], fact["qualifier"], off["value"])
        rows.append({
            "article_fact_id": fact["fact_id"], "statistics_fact_id": off["fact_id"],
            "region_code": fact["region_code"], "region_name": fact["region_name"],
            "indicator_code": fact["indicator_code"], "indicator_name_zh": fact["indicator_name_zh"],
            "article_id": fact["article_id"], "article_year": int(fact["year"]), "official_year": int(off["year"]),
            "article_value": fact["value"], "article_qualifier": fact["qualifier"],
            "article_number_text": fact["number_text"], "article_quote": fact["quote"],
            "official_value": off["value"], "official_source_title": off["source_title"],
            "official_source_url": off["source_url"], "relative_difference": difference, "consistent": consistent,
            "verdict": ("与官方数据相符 consistent with the official figure" if consistent else
                        "与官方数据不符 not consistent with the official figure"),
        })
    frame = pd.DataFrame(rows, columns=CROSSCHECK_COLUMNS)
    if frame.empty:
        return frame
    order = frame["relative_difference"].abs().sort_values(ascending=False).index
    return frame.loc[order].reset_index(drop=True)
