"""The gazetteer of every county, township and listed zone, and when a name in a text is a place."""

from __future__ import annotations

import csv

import pytest

from etl.extract.regions import load_gazetteer
from etl.paths import REFERENCE_DIR
from tests.extract.articles import facts_of


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


def test_every_township_and_zone_of_the_reference_lists_is_known(gazetteer) -> None:
    with (REFERENCE_DIR / "zhejiang_townships.csv").open(encoding="utf-8") as fh:
        towns = [r for r in csv.DictReader(fh) if r["name"].endswith(("镇", "乡", "街道"))]
    with (REFERENCE_DIR / "zhejiang_zones.csv").open(encoding="utf-8") as fh:
        zones = list(csv.DictReader(fh))
    assert len(towns) == 1364 and len(zones) == 136
    for town in towns:
        region = gazetteer.get(town["code"])
        assert (region.name_zh, region.level, region.parent_code) == (town["name"], "town", town["county_code"])
    names = {r.name_zh for r in gazetteer.regions.values() if r.level == "zone"}
    assert {z["name"] for z in zones} <= names


def test_corridors_and_cross_border_areas_never_hang_off_one_county(gazetteer) -> None:
    for name in ("长三角生态绿色一体化发展示范区", "杭州城西科创大走廊", "长三角G60科创走廊", "水乡客厅"):
        region = gazetteer.lookup(name)
        assert gazetteer.get(region.parent_code).level in ("city", "province"), name


def test_zone_codes_are_registered_and_stable(gazetteer) -> None:
    with (REFERENCE_DIR / "zone_codes.csv").open(encoding="utf-8") as fh:
        registry = {r["name_zh"]: r["code"] for r in csv.DictReader(fh)}
    assert registry["衢州智造新城"] == "330800-Z01" and registry["长三角生态绿色一体化发展示范区"] == "330421-Z01"
    for name, code in registry.items():
        assert gazetteer.get(code).name_zh == name


@pytest.mark.parametrize(("text", "region"), [
    ("丽水经济技术开发区新增高层次人才120名。", "丽水经济技术开发区"),
    ("宁波高新区引进博士45名。", "宁波高新技术产业开发区"),
    ("瑞安经济开发区新增规上企业12家。", "浙江瑞安经济开发区"),
    ("乌镇镇新引进人才300名。", "乌镇镇"),
])
def test_zones_and_towns_the_text_names_get_their_figures(text, region) -> None:
    (fact,) = facts_of(text + "\n", "2024-05", region="浙江省").values()
    assert fact.region_name == region


def test_the_manifest_may_name_a_zone_as_the_article_region() -> None:
    facts = facts_of("今年1-6月,新引进市级以上人才10人。\n", "2020-07-20", region="萧山经济技术开发区")
    assert facts["10人"].region_name == "萧山经济技术开发区" and facts["10人"].region_source == "article"


def test_a_shared_town_name_is_resolved_by_the_county_named_nearby_else_flagged() -> None:
    near = facts_of("桐乡市高桥街道新增人才驿站3家。\n", "2024-05", region="嘉兴市")
    assert near["3家"].region_code == "330483004"
    story = facts_of("黄岩区持续优化人才服务。高桥街道新增人才驿站3家。\n", "2024-05", region="台州市")
    assert story["3家"].region_code == "331003008"
    unknown = facts_of("高桥街道新增人才驿站3家。\n", "2024-05", region="浙江省")
    assert unknown["3家"].region_code == "330000" and "region_ambiguous" in unknown["3家"].review_reason


@pytest.mark.parametrize(("text", "region"), [
    ("“西湖明珠工程”入选人才达到200名。", "嘉兴市"),
    ("沿常山江布局产业,新增企业15家。", "嘉兴市"),
    ("全市新增全省重点实验室8家。", "嘉兴市"),
    ("环杭州湾现代纺织服装集群引进优质产业项目87个。", "嘉兴市"),
    ("R&D经费支出占GDP比重高于全省平均近50%。", "嘉兴市"),
    ("主动融入长三角,新引进项目20个。", "嘉兴市"),
])
def test_place_names_inside_other_words_are_not_mentions(text, region) -> None:
    (fact,) = facts_of(text + "\n", "2024-05", region="嘉兴市").values()
    assert fact.region_name == region


def test_a_name_the_article_defines_and_a_bare_zone_word_refer_back() -> None:
    text = ("丽水经济技术开发区(以下简称“丽水经开区”)加快集聚人才。丽水经开区新增博士30名。\n\n"
            "开发区人才公寓新增200套。\n")
    facts = facts_of(text, "2024-05", region="丽水市")
    assert facts["30名"].region_name == "丽水经济技术开发区"
    assert facts["200套"].region_name == "丽水经济技术开发区"


def test_a_bare_demonstration_zone_is_the_one_in_the_articles_city() -> None:
    facts = facts_of("签署示范区人才高地建设合作协议,专业技术人员57项职业资格实现互认。\n", "2024-10", region="嘉兴市")
    assert facts["57项"].region_name == "长三角生态绿色一体化发展示范区"
    designation = facts_of("建设共同富裕示范区,新增人才驿站12家。\n", "2024-10", region="嘉兴市")
    assert designation["12家"].region_name == "嘉兴市"


def test_a_zone_the_lists_lack_goes_to_its_host_and_is_flagged() -> None:
    facts = facts_of("柯桥高新技术产业园区排名全省第7位。\n", "2021-01-30", region="柯桥区")
    (fact,) = facts.values()
    assert fact.region_name == "柯桥区"
    assert fact.status == "needs_review" and "zone_unlisted: 柯桥高新技术产业园区" in fact.review_reason
