"""Number forms of real text: ranks in words, doubling, ratios and structures, streaks, per mille,
foreign currency, areas, spaces inside figures and traditional script. Each form on sentences of our own,
then on the real article where it occurs (tests/dev_corpus)."""

from __future__ import annotations

import pytest

from etl.extract.quantities import find_quantities
from tests.goldscore import DEV_DIR

PUB = "2024-05"


def one(text: str, figure: str):
    found = [q for q in find_quantities(text) if figure in q.text]
    assert len(found) == 1, [q.text for q in find_quantities(text)]
    return found[0]


@pytest.mark.parametrize(("text", "figure", "value", "qualifier", "scope"), [
    ("创新指数位居全省第二", "第二", 2, "exact", "全省"),
    ("总量全市第一、全省前三", "第一", 1, "exact", "全市"),
    ("总量全市第一、全省前三", "前三", 3, "under", "全省"),
    ("R&D经费支出占GDP比重列全省县域第二", "第二", 2, "exact", "全省县域"),
    ("五个领域指数均位列全省前十", "前十", 10, "under", "全省"),
    ("跃居全省第二,创历史最好", "第二", 2, "exact", "全省"),
    ("综合排名全省第十六", "第十六", 16, "exact", "全省"),
    ("排名全省第7位,全市第1位", "第1位", 1, "exact", "全市"),
])
def test_ranks_in_words_with_or_without_a_verb(text, figure, value, qualifier, scope) -> None:
    rank = one(text, figure)
    assert (rank.value, rank.unit, rank.qualifier, rank.rank_scope) == (value, "rank", qualifier, scope)


@pytest.mark.parametrize("text", ["全省第一批未来工厂", "获评全市第二届优秀企业", "全国第一家数字银行", "全省首个"])
def test_ordinals_are_not_ranks(text: str) -> None:
    assert [q for q in find_quantities(text) if q.unit == "rank"] == []


@pytest.mark.parametrize(("text", "value"), [("实现“五年翻一番”", 2), ("产值翻番", 2), ("十年翻两番", 4)])
def test_doubling_is_a_multiple(text: str, value: int) -> None:
    q = one(text, "番")
    assert (q.value, q.unit) == (value, "times")


def test_a_structure_of_shares_gives_one_figure_each() -> None:
    found = [q for q in find_quantities("三次产业结构为2.7:40.4:56.8。") if q.unit == "percent"]
    assert [q.value for q in found] == [2.7, 40.4, 56.8]
    assert [q.value for q in find_quantities("三次产业结构比例为6.7∶74.1∶19.2")] == [6.7, 74.1, 19.2]


def test_a_ratio_to_one_is_a_ratio_and_a_time_is_nothing() -> None:
    q = one("城乡居民收入比为2.6:1", "2.6")
    assert (q.value, q.unit) == (2.6, "ratio")
    assert find_quantities("会议于18:30开始") == []


@pytest.mark.parametrize(("text", "figure", "value", "unit"), [
    ("研发经费支出占GDP比重连续7年保持在4%以上", "7年", 7, "years"),
    ("连续七年位居全省第一", "七年", 7, "years"),
    ("给予三年期资助", "三年期", 3, "years"),
    ("人口自然增长率为-6.8‰", "6.8‰", -6.8, "per_mille"),
    ("出生率为7.5℅", "7.5℅", 7.5, "percent"),
    ("合同外资达到5.03亿美元", "5.03亿美元", 503_000_000, "usd"),
    ("规划面积12.5平方公里", "12.5平方公里", 12.5, "square_km"),
    ("新增建设用地30公顷", "30公顷", 30, "hectare"),
    ("提供1500平米免费办公场地", "1500平米", 1500, "square_meter"),
    ("科研创新区4幢大楼已完成主体结构", "4幢", 4, "count"),
    ("科技创新政策百分百兑现", "百分百", 100, "percent"),
    ("享受500万贷款全额贴息", "500万", 5_000_000, "yuan"),
])
def test_measures_of_real_text(text, figure, value, unit) -> None:
    q = one(text, figure)
    assert (q.value, q.unit) == (value, unit)


@pytest.mark.parametrize(("text", "kept"), [
    ("其中1000万元以上项目6个,500万元以上项目10个", ["6个", "10个"]),
    ("300亩以上现代农业园区10个", ["10个"]),
    ("该五个系列的专业技术人才约占94%", ["94%"]),
    ("三次产业协调发展", []),
    ("浙江省现代纺织技术创新中心(二期)项目现场", []),
    ("开展“一对一”帮扶,结对8对师徒", ["8对"]),
])
def test_words_that_look_like_figures_but_are_not(text, kept) -> None:
    assert [q.text for q in find_quantities(text)] == kept


def test_spaces_inside_figures_from_a_pdf_are_read_through(tmp_path) -> None:
    from tests.extract.articles import extract

    facts = extract("全市地区生产总值从 773 亿元增至 1,020 亿元,增速 7. 5%,居全省第 17 位。\n", published=PUB)
    by_text = {f.number_text: f for f in facts}  # number_text is the raw file's, spaces and all
    assert by_text["773 亿元"].value == 77_300_000_000
    assert by_text["1,020 亿元"].value == 102_000_000_000
    assert by_text["7. 5%"].value == 7.5
    assert by_text["全省第 17 位"].value == 17


def test_traditional_script_is_read_and_quoted_as_written() -> None:
    from tests.extract.articles import extract

    facts = extract("桐廬縣對高層次人才項目給予最高500萬元的創業資助,共有22項系列活動。\n", published=PUB,
                    region="桐庐县")
    by_text = {f.number_text: f for f in facts}
    assert (by_text["最高500萬元"].value, by_text["最高500萬元"].unit, by_text["最高500萬元"].qualifier) == \
        (5_000_000, "yuan", "under")
    assert by_text["22項"].value == 22
    assert "桐廬縣" in by_text["22項"].quote  # the quote is the article's own script


@pytest.mark.parametrize(("article", "number_text", "value", "unit"), [
    ("tl2015_junshan", "500萬元", 5_000_000, "yuan"),
    ("tt2021_keji", "7. 5%", 7.5, "percent"),
    ("tt2021_keji", "翻一番", 2, "times"),
    ("dq2021_jucai", "第二", 2, "rank"),
    ("ds2022_gongbao", "6.8‰", -6.8, "per_mille"),
    ("ds2022_gongbao", "74.1", 74.1, "percent"),
    ("aj2018_gzbg", "4.6亿美元", 460_000_000, "usd"),
    ("xc2022_chuangxin", "7年", 7, "years"),
    ("xc2022_chuangxin", "百分百", 100, "percent"),
])
def test_forms_on_the_real_articles_where_they_occur(article, number_text, value, unit) -> None:
    from etl.extract.facts import extract_article
    from etl.extract.indicators import load_taxonomy
    from etl.extract.regions import load_gazetteer
    from etl.extract.sources import build_article, parse_manifest

    manifest, _ = parse_manifest((DEV_DIR / "manifest.csv").read_text(encoding="utf-8"))
    text = (DEV_DIR / "articles" / f"{article}.txt").read_text(encoding="utf-8")
    facts = extract_article(build_article(f"{article}.txt", text, "utf-8", manifest[article]),
                            load_gazetteer(), load_taxonomy())
    hits = [f for f in facts if f.number_text.endswith(number_text)]
    assert hits, [f.number_text for f in facts]
    assert (hits[0].value, hits[0].unit) == (value, unit)


def test_the_characters_every_form_needs_are_in_form_chars() -> None:
    """FORM_CHARS lets a sentence skip all phrase forms at once: check it on every sentence we have."""
    from etl.extract.forms import FORM_CHARS, doublings, fractions, ranks, ratios, streaks
    from etl.paths import RAW_DIR

    texts = [p.read_text(encoding="utf-8") for p in (*RAW_DIR.glob("*.txt"), *(DEV_DIR / "articles").glob("*.txt"))]
    texts += ["全市第一、全省前三", "四分之一", "一半", "三成", "百分百", "翻两番", "2.6:1", "连续七年", "三年期资助"]
    checked = 0
    for text in texts:
        for line in text.splitlines():
            chars = set(line)
            found = ranks(line, line, [], chars) + fractions(line, line, [], chars) + ratios(line, line, [], chars)
            found += streaks(line, line, [], chars) + doublings(line, line, chars)
            if found:
                checked += 1
                assert not FORM_CHARS.isdisjoint(chars), line
    assert checked > 30
