"""Facts as a whole: provenance offsets, stable ids, declared reference data, validation before publishing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from etl.extract.facts import extract_article
from etl.extract.indicators import load_taxonomy
from etl.extract.regions import load_gazetteer
from etl.jobs.refresh import run
from etl.paths import REFERENCE_DIR
from etl.store.schema import make_engine, validate_facts
from tests.extract.articles import article, extract


def facts_of(db_url: str) -> pd.DataFrame:
    return pd.read_sql_table("facts", make_engine(db_url))


def test_every_fact_points_at_its_exact_words_in_the_raw_file(seed_run) -> None:
    everything = facts_of(seed_run["db_url"])
    facts = everything[everything["source_kind"] == "article"]
    assert len(facts) > 150
    texts = {p.stem: p.read_bytes().decode("utf-8-sig") for p in seed_run["raw"].glob("*.txt")}
    for fact in facts.itertuples():
        raw = texts[fact.article_id]
        assert raw[fact.char_start:fact.char_end] == fact.number_text
        passage = raw[fact.quote_start:fact.quote_end]
        assert re.sub(r"\s", "", passage) == re.sub(r"\s", "", fact.quote)
        assert fact.quote_start <= fact.char_start < fact.char_end <= fact.quote_end
        assert "\n" not in fact.quote
    official = everything[everything["source_kind"] == "statistics"]
    table = (seed_run["raw"] / "statistics" / "population.csv").read_bytes().decode("utf-8-sig")
    for fact in official.itertuples():
        row = table[fact.char_start:fact.char_end]
        assert fact.number_text in row and fact.quote in row.replace('""', '"')


def test_fact_ids_are_stable_across_runs(seed_run, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run(seed_run["raw"], again, f"sqlite:///{tmp_path / 'again.sqlite'}")
    first = facts_of(seed_run["db_url"]).set_index("fact_id")
    second = facts_of(f"sqlite:///{tmp_path / 'again.sqlite'}").set_index("fact_id")
    assert first.index.is_unique
    assert set(first.index) == set(second.index)
    assert (first.loc[second.index, "value"] == second["value"]).all()


def test_curated_csvs_match_the_database(seed_run) -> None:
    facts = facts_of(seed_run["db_url"])
    csv = pd.read_csv(seed_run["curated"] / "facts.csv", encoding="utf-8-sig", dtype={"region_code": str})
    assert list(csv.columns)[:20] == [
        "fact_id", "article_id", "region_code", "region_name", "region_level", "indicator_code",
        "indicator_name_zh", "indicator_name_en", "family", "value", "value_high", "unit", "qualifier",
        "period_start", "period_end", "period_kind", "year", "quote", "char_start", "char_end"]
    assert len(csv) == len(facts)
    assert sorted(csv["fact_id"]) == sorted(facts["fact_id"])
    for name in ("regions", "indicators", "articles", "rejected_inputs"):
        assert (seed_run["curated"] / f"{name}.csv").exists()


def test_unmatched_figures_are_kept_and_flagged(seed_run) -> None:
    facts = facts_of(seed_run["db_url"])
    other = facts[facts["family"] == "other"]
    unmatched = other[other["indicator_code"].str.startswith("other_")]
    assert len(unmatched) > 0
    assert (unmatched["status"] == "needs_review").all()
    assert unmatched["review_reason"].str.contains("indicator_unmatched").all()


def test_attribution_prefers_the_clause_then_the_heading_then_the_article() -> None:
    text = ("衢州:人才新政\n\n张三\n\n去年,江山市新引进博士12名,全省仅有博士后3千名。"
            "新增就业大学生2.3万人。\n\n")
    facts = {f.number_text: f for f in extract(text, region="嘉兴市")}
    assert facts["12名"].region_name == "江山市" and facts["12名"].indicator_code == "doctors"
    assert facts["3千名"].region_name == "浙江省" and facts["3千名"].value == 3000
    assert facts["2.3万人"].region_name == "衢州市" and facts["2.3万人"].region_source == "heading"
    # a paragraph that opens with 去年 dates the undated figures after it
    assert facts["12名"].year == 2023 and facts["12名"].period_source == "sentence"
    assert facts["2.3万人"].year == 2023 and facts["2.3万人"].period_source == "paragraph"


def test_ranks_use_the_scope_not_the_province_as_region() -> None:
    facts = extract("2023年,湖州市创新指数居全省第四。\n", published="2024-05", region="浙江省")
    rank = next(f for f in facts if f.unit == "rank")
    assert (rank.region_name, rank.indicator_code, rank.value, rank.year) == \
        ("湖州市", "innovation_index_rank_province", 4, 2023)


def test_targets_and_caps_are_qualified() -> None:
    facts = {f.number_text: f for f in extract(
        "德清县争取引进高层次人才超500名,给予一次性5万元安家补贴,最高30万元奖励。\n")}
    assert facts["超500名"].qualifier == "target"
    assert facts["5万元"].indicator_code == "subsidy_one_off"
    assert facts["最高30万元"].qualifier == "under"


def test_a_new_indicator_is_a_data_edit(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, reference)
    document = yaml.safe_load((reference / "indicators.yaml").read_text(encoding="utf-8"))
    document["indicators"].append({
        "code": "talent_code_users", "name_zh": "人才码用户", "name_en": "Talent-code users",
        "family": "services_and_housing", "unit": "person", "units": ["person"], "keywords": ["人才码用户"],
        "description": "Users of the talent QR code."})
    (reference / "indicators.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with (reference / "aliases_extra.csv").open("a", encoding="utf-8") as fh:
        fh.write("330500,苕溪之城,test alias\n")
    facts = extract_article(article("截至目前,苕溪之城人才码用户达12万人。\n", region=""),
                            load_gazetteer(reference), load_taxonomy(reference))
    assert [(f.indicator_code, f.region_name, f.value) for f in facts] == [("talent_code_users", "湖州市", 120000)]


def test_broken_reference_data_publishes_nothing(seed_run, tmp_path: Path) -> None:
    curated = tmp_path / "curated"
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run(seed_run["raw"], curated, db)
    before = facts_of(db)
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, reference)
    text = (reference / "indicators.yaml").read_text(encoding="utf-8")
    (reference / "indicators.yaml").write_text(text.replace("family: talent_total", "family: talents", 1),
                                               encoding="utf-8")
    with pytest.raises(ValueError, match="talents"):
        run(seed_run["raw"], curated, db, reference_dir=reference)
    assert facts_of(db).equals(before)


def test_validation_names_what_is_wrong(seed_run) -> None:
    facts = facts_of(seed_run["db_url"])
    broken = facts.copy()
    broken.loc[0, "qualifier"] = "roughly"
    broken.loc[1, "region_code"] = "999999"
    with pytest.raises(Exception, match="roughly|qualifier"):
        validate_facts(broken, set(facts["region_code"]), set(facts["indicator_code"]), set(facts["unit"]),
                       set(facts["article_id"]))
    bad_region = facts.copy()
    bad_region.loc[1, "region_code"] = "999999"
    with pytest.raises(ValueError, match="999999"):
        validate_facts(bad_region, set(facts["region_code"]), set(facts["indicator_code"]), set(facts["unit"]),
                       set(facts["article_id"]))


def test_this_district_refers_back_to_the_district_named_before() -> None:
    facts = {f.number_text: f for f in extract(
        "台州市黄岩区近三年累计引育各类人才3.2万名，建成人才公寓1500套。"
        "据介绍，该区计划到2025年实现人才资源总量突破30万人。长兴县研发经费投入强度达3.1%，"
        "全县共有省级以上研发机构86家。\n", published="2024-08", region="台州市")}
    assert (facts["3.2万名"].region_name, facts["3.2万名"].indicator_code) == ("黄岩区", "talent_introduced")
    target = facts["突破30万人"]
    assert (target.region_name, target.qualifier, target.year, target.indicator_code) == \
        ("黄岩区", "target", 2025, "talent_total")
    assert (facts["3.1%"].region_name, facts["3.1%"].indicator_code) == ("长兴县", "rd_share_gdp")
    assert (facts["86家"].region_name, facts["86家"].indicator_code) == ("长兴县", "innovation_carriers")


WENZHOU = ("温州：打造青年友好型城市\r\n\r\n■ 记者 李华\r\n\r\n一、引才规模创新高\r\n\r\n2023年，温州市新增就业大学生18.6万人，"
           "同比增长15.2%。截至今年6月底，全市人才资源总量达到240万人，较2020年增加\r\n\r\n近40万人。\r\n\r\n"
           "二、政策含金量更足\r\n\r\n瑞安市对新引进的全日制博士给予每人每月3000元生活补贴；对顶尖人才团队最高给予1亿元资助。"
           "乐清市今年前三季度兑现各类人才政策资金2.3亿元，惠及人才1.5万人次。\r\n\r\n图为温州青年人才驿站\r\n")


def test_unseen_gbk_crlf_article_with_numbered_headings() -> None:
    from etl.extract.sources import decode_article

    text, encoding = decode_article(WENZHOU.encode("gbk"))
    facts = {f.number_text: f for f in extract_article(article(text, published="2024-11", region="温州市"),
                                                       load_gazetteer(), load_taxonomy())}
    assert encoding == "gb18030"
    assert not facts["18.6万人"].quote.startswith("一、")
    assert (facts["18.6万人"].indicator_code, facts["18.6万人"].year) == ("new_graduates", 2023)
    assert (facts["240万人"].indicator_code, facts["240万人"].period_kind) == ("talent_total", "as_of")
    growth = facts["近40万人"]
    assert (growth.qualifier, growth.period_kind, growth.period_start) == ("approx", "cumulative", "2020-01-01")
    assert text[growth.char_start:growth.char_end] == "近40万人"
    assert facts["3000元"].indicator_code == "subsidy_monthly" and facts["3000元"].region_name == "瑞安市"
    assert (facts["最高给予1亿元"].qualifier if "最高给予1亿元" in facts else facts["1亿元"].qualifier) == "under"
    funds = facts["2.3亿元"]
    assert (funds.indicator_code, funds.region_name, funds.period_end) == ("talent_funds_disbursed", "乐清市", "2024-09-30")
    assert facts["1.5万人次"].indicator_code == "people_served"


def test_a_goal_reaches_the_clauses_that_add_to_it_not_its_terms() -> None:
    facts = {f.number_text: f for f in extract("力争全年新引进大学生3.5万人,新增技能人才1万人。\n")}
    assert facts["3.5万人"].qualifier == "target" and facts["1万人"].qualifier == "target"
    done = {f.number_text: f for f in extract("力争全年引进项目50个,目前已完成引进项目20个。\n")}
    assert done["50个"].qualifier == "target" and done["20个"].qualifier == "exact"
