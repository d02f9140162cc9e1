"""The extractor against the hand-annotated gold set of the five seed articles.

Bars: recall and precision ≥ 0.95 overall, 1.0 on the headline indicators, region and year right for
≥ 0.95 of the figures found, and every value/unit/qualifier found equal to the annotation.
"""

from __future__ import annotations

import pandas as pd
import pytest

from etl.store.schema import make_engine
from tests.goldscore import score


@pytest.fixture(scope="module")
def result(seed_run):
    facts = pd.read_sql_table("facts", make_engine(seed_run["db_url"]))
    return score(facts, seed_run["raw"])


def test_recall_and_precision(result) -> None:
    assert result.recall >= 0.95, result.misses[["article", "number_text", "note"]].to_string()
    assert result.precision >= 0.95, result.false_positives[["article_id", "number_text", "quote"]].to_string()


def test_every_headline_figure_is_found_with_the_right_indicator_family(result) -> None:
    assert result.headline_recall == 1.0
    headline = result.pairs[result.pairs["gold_headline"] == 1]
    assert (headline["gold_family"] == headline["fact_family"]).all(), \
        headline[["gold_number_text", "gold_family", "fact_family"]].to_string()
    assert (headline["fact_status"] == "extracted").all()


def test_region_and_year_are_right_for_nearly_all_figures(result) -> None:
    assert result.share(result.region_right) >= 0.95
    assert result.share(result.year_right) >= 0.95


def test_values_units_and_qualifiers_match_the_annotation(result) -> None:
    assert result.share(result.value_right) >= 0.99
    assert result.share(result.unit_right) == 1.0
    assert result.share(result.qualifier_right) == 1.0


@pytest.mark.parametrize(("article", "number_text", "indicator", "value", "unit", "qualifier", "region", "year"), [
    ("000_f6b007840dd8fbca", "129.07万", "talent_total", 1290700, "person", "exact", "嘉兴市", 2024),
    ("000_f6b007840dd8fbca", "3928人", "talent_per_10k_workers", 3928, "per_10k", "exact", "嘉兴市", 2024),
    ("000_f6b007840dd8fbca", "33.81%", "skilled_talent_share_employed", 33.81, "percent", "exact", "嘉兴市", 2024),
    ("000_f6b007840dd8fbca", "超111万人", "skilled_talent_total", 1110000, "person", "over", "嘉兴市", 2024),
    ("000_f6b007840dd8fbca", "3.45%", "rd_share_gdp", 3.45, "percent", "exact", "嘉兴市", 2023),
    ("000_f6b007840dd8fbca", "550多万", "resident_population", 5500000, "person", "over", "嘉兴市", 2024),
    ("000_f6b007840dd8fbca", "超50万人", "new_graduates", 500000, "person", "over", "嘉兴市", 2024),
    ("001_c97fb4016c467cf9", "31名", "postdocs", 31, "person", "exact", "秀洲区", 2023),
    ("001_c97fb4016c467cf9", "1.8万人", "new_graduates", 18000, "person", "exact", "秀洲区", 2023),
    ("001_c97fb4016c467cf9", "84名", "doctors", 84, "person", "exact", "秀洲区", 2023),
    ("001_c97fb4016c467cf9", "248.77亿元", "investment", 24877000000, "yuan", "target", "桐乡市", 2024),
    ("001_c97fb4016c467cf9", "约4.1万人", "high_skilled_total", 41000, "person", "approx", "海盐县", 2024),
    ("001_c97fb4016c467cf9", "43.44%", "high_skilled_share_of_skilled", 43.44, "percent", "exact", "海盐县", 2024),
    ("002_eea76f0dae49dd7d", "3万元", "subsidy_one_off", 30000, "yuan", "exact", "嘉善县", 2025),
    ("002_eea76f0dae49dd7d", "40%", "subsidy_salary_share", 40, "percent", "exact", "嘉善县", 2025),
    ("002_eea76f0dae49dd7d", "最高20万元", "subsidy_cap", 200000, "yuan", "under", "嘉善县", 2025),
    ("002_eea76f0dae49dd7d", "181.4", "innovation_index", 181.4, "index", "exact", "嘉善县", 2025),
    ("002_eea76f0dae49dd7d", "212人次", None, 212, "person_time", "exact", "青田县", 2025),
    ("003_0246a69145be841d", "近3150万元", "talent_funds_disbursed", 31500000, "yuan", "approx", "衢州智造新城", 2022),
    ("003_0246a69145be841d", "67名", "doctors", 67, "person", "exact", "衢州智造新城", 2022),
])
def test_named_figures(seed_run, article, number_text, indicator, value, unit, qualifier, region, year) -> None:
    facts = pd.read_sql_table("facts", make_engine(seed_run["db_url"]))
    hits = facts[(facts["article_id"] == article) & (facts["number_text"] == number_text)]
    assert len(hits) >= 1, f"{number_text} not extracted"
    fact = hits.iloc[0]
    if indicator:
        assert fact["indicator_code"] == indicator
    assert fact["value"] == pytest.approx(value)
    assert (fact["unit"], fact["qualifier"], fact["region_name"], fact["year"]) == (unit, qualifier, region, year)


def test_ranks_carry_their_scope_in_the_indicator(seed_run) -> None:
    facts = pd.read_sql_table("facts", make_engine(seed_run["db_url"]))
    jiashan = facts[(facts["article_id"] == "002_eea76f0dae49dd7d") & (facts["unit"] == "rank")]
    by_indicator = dict(zip(jiashan["indicator_code"], jiashan["value"], strict=False))
    assert by_indicator["innovation_index_rank_province"] == 3
    assert by_indicator["innovation_index_rank_county_level"] == 1
    jiaxing = facts[(facts["article_id"] == "000_f6b007840dd8fbca") & (facts["unit"] == "rank")]
    assert set(jiaxing["indicator_code"]) >= {"innovation_index_rank_province", "rd_share_gdp_rank_province",
                                              "talent_attraction_rank_national", "sci_tech_talent_index_rank_province"}
