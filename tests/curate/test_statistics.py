"""Official statistics as a second source, per-capita values, and the article-versus-official cross-check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from etl.curate.percapita import derive, qualifier_consistent
from etl.curate.statistics import load_statistics, statistics_facts
from etl.extract.indicators import load_taxonomy, parse_taxonomy
from etl.extract.regions import load_gazetteer
from etl.extract.units import load_units
from etl.paths import REFERENCE_DIR
from etl.store.schema import make_engine

HEADER = "region_name,region_code,level,year,indicator,value,unit,source_title,source_url,quote\n"


def official(tmp_path: Path, rows: str) -> tuple[list, list]:
    folder = tmp_path / "raw" / "statistics"
    folder.mkdir(parents=True)
    (folder / "t.csv").write_text(HEADER + rows, encoding="utf-8")
    tables, rejected = load_statistics(tmp_path / "raw")
    facts, bad = statistics_facts(tables, load_gazetteer(), load_taxonomy(), load_units())
    return facts, rejected + bad


def test_good_rows_become_statistics_facts_with_their_source(tmp_path: Path) -> None:
    facts, rejected = official(tmp_path, (
        "嘉兴市,330400,city,2023,resident_population,5584000,persons,公报,https://x.example/a,常住人口558.4万人\n"
        "嘉兴市,330400,city,2020,resident_population,5400868,persons,[census 2020-11-01] 普查,https://x.example/b,q\n"
        "桐乡市,,county,2020,gdp,120000000000,yuan,GDP表,https://x.example/c,1200亿元\n"))
    assert rejected == []
    by_indicator = {f.indicator_code: f for f in facts}
    year_end = by_indicator["resident_population"]
    assert (year_end.source_kind, year_end.value, year_end.period_end, year_end.source_url) == \
        ("statistics", 5584000, "2023-12-31", "https://x.example/a")
    census = by_indicator["resident_population_census"]
    assert (census.period_end, census.year) == ("2020-11-01", 2020)
    assert by_indicator["gdp"].region_code == "330483" and by_indicator["gdp"].period_kind == "year"
    raw = (tmp_path / "raw" / "statistics" / "t.csv").read_bytes().decode("utf-8")
    assert raw[year_end.char_start:year_end.char_end].startswith("嘉兴市,330400,city,2023")


def test_bad_rows_are_set_aside_with_file_line_and_reason(tmp_path: Path) -> None:
    facts, rejected = official(tmp_path, (
        "西湖风景名胜区,,other,2020,resident_population,23763,persons,普查,,q\n"
        "嘉兴市,330400,city,2023,resident_population,五百万,persons,公报,,q\n"
        "嘉兴市,330400,city,2023,gdp,7000,persons,公报,,q\n"
        "嘉兴市,330400,city,2023,talent_index,3,index,公报,,q\n"
        "嘉兴市,330400,city,2023,gdp,700000000000,yuan,公报,,q,extra\n"
        "嘉兴市,330400,city,2023,gdp,700000000000,yuan,公报,,q\n"))
    reasons = {r.file: r.reason for r in rejected}
    assert reasons == {
        "statistics/t.csv line 2": "statistics_region_unknown",
        "statistics/t.csv line 3": "statistics_value_invalid",
        "statistics/t.csv line 4": "statistics_unit_mismatch",
        "statistics/t.csv line 5": "statistics_indicator_unknown",
        "statistics/t.csv line 6": "statistics_row_malformed",
    }
    assert [f.value for f in facts] == [700000000000]
    assert all("t.csv line" in r.detail for r in rejected)


def test_xlsx_tables_are_read_like_csv(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "statistics"
    folder.mkdir(parents=True)
    pd.DataFrame([{"region_name": "湖州市", "region_code": "330500", "year": 2022, "indicator": "resident_population",
                   "value": 3406000, "unit": "persons", "source_title": "湖州统计", "source_url": "", "quote": "q"}]
                 ).to_excel(folder / "huzhou.xlsx", index=False)
    tables, rejected = load_statistics(tmp_path / "raw")
    facts, bad = statistics_facts(tables, load_gazetteer(), load_taxonomy(), load_units())
    assert rejected == bad == []
    assert [(f.region_name, f.year, f.value) for f in facts] == [("湖州市", 2022, 3406000)]


def test_each_row_keeps_its_source_tier_and_a_row_without_one_is_unverified(tmp_path: Path) -> None:
    header = HEADER.rstrip("\n") + ",source_tier\n"
    facts, rejected = official(tmp_path, "")
    (tmp_path / "raw" / "statistics" / "t.csv").write_text(header + (
        "嘉兴市,330400,city,2023,resident_population,5584000,persons,公报,https://x.example/a,q,official\n"
        "湖州市,330500,city,2022,resident_population,3406000,persons,汇编,https://x.example/b,q,Secondary\n"
        "金华市,330700,city,2022,resident_population,7120000,persons,转载,https://x.example/c,q,\n"
        "台州市,331000,city,2022,resident_population,6678000,persons,排行,https://x.example/d,q,offical\n"),
        encoding="utf-8")
    tables, _ = load_statistics(tmp_path / "raw")
    facts, rejected = statistics_facts(tables, load_gazetteer(), load_taxonomy(), load_units())
    assert [(f.region_name, f.source_tier) for f in facts] == [
        ("嘉兴市", "official"), ("湖州市", "secondary"), ("金华市", "unverified")]
    assert [(r.file, r.reason) for r in rejected] == [("statistics/t.csv line 5", "statistics_tier_unknown")]
    assert "'offical'" in rejected[0].detail and "official_repost" in rejected[0].detail


def test_the_seed_statistics_carry_the_tiers_their_readme_counts(seed_run) -> None:
    facts = pd.read_sql_table("facts", make_engine(seed_run["db_url"]))
    tiers = facts.loc[facts["source_kind"] == "statistics", "source_tier"].value_counts().to_dict()
    assert tiers == {"secondary": 119, "official_repost": 58, "official": 29, "unverified": 1}  # 西湖风景名胜区's
    # official_repost row has no region code and is set aside
    assert set(facts.loc[facts["source_kind"] == "article", "source_tier"]) == {"press"}


def facts_frame(rows: list[dict]) -> pd.DataFrame:
    base = {"status": "extracted", "value_high": None, "quote": "q", "article_id": "a", "number_text": "n",
            "source_title": "", "source_url": "", "unit": "person", "region_level": "city",
            "indicator_name_zh": "x", "qualifier": "exact", "period_kind": "as_of", "period_start": "2024-03-01",
            "period_end": "2024-03-01", "source_tier": "official"}
    return pd.DataFrame([{**base, **row} for row in rows])


def test_per_capita_uses_same_year_then_a_flagged_neighbour_and_never_the_census() -> None:
    facts = facts_frame([
        {"fact_id": "t1", "source_kind": "article", "indicator_code": "talent_total", "region_code": "330400",
         "region_name": "嘉兴市", "year": 2024, "value": 1290700, "qualifier": "over"},
        {"fact_id": "t2", "source_kind": "article", "indicator_code": "talent_total", "region_code": "330500",
         "region_name": "湖州市", "year": 2022, "value": 500000},
        {"fact_id": "t3", "source_kind": "article", "indicator_code": "talent_total", "region_code": "330700",
         "region_name": "金华市", "year": 2020, "value": 800000},
        {"fact_id": "p1", "source_kind": "statistics", "indicator_code": "resident_population",
         "region_code": "330400", "region_name": "嘉兴市", "year": 2023, "value": 5584000},
        {"fact_id": "p2", "source_kind": "statistics", "indicator_code": "resident_population",
         "region_code": "330500", "region_name": "湖州市", "year": 2022, "value": 3406000},
        {"fact_id": "p3", "source_kind": "statistics", "indicator_code": "resident_population_census",
         "region_code": "330700", "region_name": "金华市", "year": 2020, "value": 7050683},
    ])
    derived = derive(facts, load_taxonomy()).set_index("numerator_fact_id")
    jiaxing, huzhou, jinhua = derived.loc["t1"], derived.loc["t2"], derived.loc["t3"]
    assert jiaxing["value"] == pytest.approx(1290700 / 5584000 * 10000)
    assert (jiaxing["status"], jiaxing["denominator_year"], jiaxing["qualifier"]) == ("derived_proxy_year", 2023, "over")
    assert (huzhou["status"], bool(huzhou["proxy_year"])) == ("derived", False)
    assert pd.isna(jinhua["value"]) and jinhua["status"] == "no_denominator"
    assert "金华市" in jinhua["note"] and "no statistic for 金华市 in 2020" in jinhua["note"]


@pytest.mark.parametrize(("kind", "start", "end", "words"), [
    ("cumulative", "2019-01-01", "2024-10-01", "2019年以来累计（至2024年10月）（多年累计数）"),
    ("partial_year", "2024-01-01", "2024-03-31", "2024年1–3月（年内部分月份数）"),
])
def test_a_part_year_or_multi_year_numerator_gives_no_rate_and_says_why(kind, start, end, words) -> None:
    facts = facts_frame([
        {"fact_id": "g1", "source_kind": "article", "indicator_code": "new_graduates", "region_code": "330400",
         "region_name": "嘉兴市", "year": 2024, "value": 500000, "qualifier": "over", "period_kind": kind,
         "period_start": start, "period_end": end},
        {"fact_id": "g2", "source_kind": "article", "indicator_code": "new_graduates", "region_code": "330400",
         "region_name": "嘉兴市", "year": 2023, "value": 90000, "period_kind": "year",
         "period_start": "2023-01-01", "period_end": "2023-12-31"},
        {"fact_id": "p1", "source_kind": "statistics", "indicator_code": "resident_population",
         "region_code": "330400", "region_name": "嘉兴市", "year": 2024, "value": 5600000},
        {"fact_id": "p2", "source_kind": "statistics", "indicator_code": "resident_population",
         "region_code": "330400", "region_name": "嘉兴市", "year": 2023, "value": 5584000, "source_tier": "secondary"},
    ])
    derived = derive(facts, load_taxonomy()).set_index("numerator_fact_id")
    refused, annual = derived.loc["g1"], derived.loc["g2"]
    assert refused["status"] == "refused_period" and pd.isna(refused["value"])
    assert pd.isna(refused["denominator_value"]) and words in refused["note"]
    assert (refused["numerator_period_kind"], refused["numerator_period_end"]) == (kind, end)
    assert annual["value"] == pytest.approx(90000 / 5584000 * 10000)
    assert (annual["numerator_period_kind"], annual["denominator_source_tier"]) == ("year", "secondary")


def test_a_percentage_or_rank_can_never_be_normalised() -> None:
    document = yaml.safe_load((REFERENCE_DIR / "indicators.yaml").read_text(encoding="utf-8"))
    document["derived"].append({"code": "bad_rate", "name_zh": "错", "name_en": "bad", "family": "other",
                                "unit": "per_10k_residents", "numerator": "skilled_talent_share_employed",
                                "denominator": "resident_population", "scale": 10000})
    with pytest.raises(ValueError, match="must not be divided"):
        parse_taxonomy(document, load_units())


@pytest.mark.parametrize(("value", "qualifier", "official_value", "consistent"), [
    (5500000, "over", 5584000, True), (5600000, "over", 5584000, False),
    (1000000, "approx", 1030000, True), (1000000, "approx", 1100000, False),
    (200000, "under", 180000, True), (100, "exact", 100.5, True), (100, "exact", 103, False),
])
def test_qualifier_consistency(value, qualifier, official_value, consistent) -> None:
    assert qualifier_consistent(value, qualifier, official_value) is consistent


def test_seed_crosscheck_pairs_jiaxing_population_with_the_official_figure(seed_run) -> None:
    engine = make_engine(seed_run["db_url"])
    pairs = pd.read_sql_table("crosscheck", engine)
    jiaxing = pairs[(pairs["region_name"] == "嘉兴市") & (pairs["indicator_code"] == "resident_population")].iloc[0]
    assert (jiaxing["article_value"], jiaxing["article_qualifier"], jiaxing["official_year"]) == (5500000, "over", 2023)
    assert jiaxing["official_value"] == 5584000
    assert jiaxing["relative_difference"] == pytest.approx((5500000 - 5584000) / 5584000)
    assert bool(jiaxing["consistent"])
    derived = pd.read_sql_table("derived_facts", engine)
    talent = derived[(derived["indicator_code"] == "talent_total_per_10k_residents")
                     & (derived["region_name"] == "嘉兴市")].iloc[0]
    assert talent["value"] == pytest.approx(1290700 / 5584000 * 10000)
    assert talent["denominator_year"] == 2023 and bool(talent["proxy_year"])
    assert (derived["status"] == "no_denominator").sum() > 0
    assert derived.loc[derived["status"] == "no_denominator", "value"].isna().all()


def test_seed_statistics_land_beside_articles(seed_run) -> None:
    facts = pd.read_sql_table("facts", make_engine(seed_run["db_url"]))
    official_facts = facts[facts["source_kind"] == "statistics"]
    assert len(official_facts) >= 180
    jiaxing_2020 = official_facts[(official_facts["region_code"] == "330400") & (official_facts["year"] == 2020)]
    assert set(jiaxing_2020["indicator_code"]) >= {"resident_population", "resident_population_census", "gdp"}
    rejected = pd.read_sql_table("rejected_inputs", make_engine(seed_run["db_url"]))
    assert "statistics_region_unknown" in set(rejected["reason"])


def test_statistics_folder_is_optional(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(Path(REFERENCE_DIR).parent / "raw", raw, ignore=shutil.ignore_patterns("statistics"))
    assert load_statistics(raw) == ([], [])


def test_derived_indicators_keep_their_full_names() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.indicators["talent_total_per_10k_residents"].name_en == "Talent per 10,000 residents"
    assert taxonomy.indicators["talent_total_per_10k_residents"].description.endswith("year-end residents.")
