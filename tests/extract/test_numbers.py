"""Chinese number/quantity parser: one case per phrasing seen in the seed articles, plus the traps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl.extract.numbers import (
    FULLWIDTH,
    Quantity,
    _number_re,
    numeral_matches,
    parse_numeral,
)
from etl.extract.quantities import find_quantities
from etl.extract.units import load_units
from etl.paths import RAW_DIR
from etl.vocabulary import QUALIFIERS

ARTICLES = sorted(RAW_DIR.glob("*.txt"))


def only(text: str) -> Quantity:
    """The single quantity in text (the cases are built to hold exactly one)."""
    found = find_quantities(text)
    assert len(found) == 1, [q.text for q in found]
    return found[0]


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("129.07万", 1290700),
        ("1.8万", 18000),
        ("248.77亿", 24877000000),
        ("16.4亿", 1640000000),
        ("百万", 1_000_000),
        ("千万", 10_000_000),
        ("两", 2),
        ("百", 100),
        ("万", 10000),
        ("四十", 40),
        ("一百二十", 120),
        ("3千", 3000),
        ("1,000", 1000),
        ("３千", 3000),
        ("十", 10),
        ("数百亿", 10_000_000_000),
    ],
)
def test_parse_numeral_is_exact(numeral: str, value: float) -> None:
    assert parse_numeral(numeral) == value


@pytest.mark.parametrize("bad", ["", "abc", "万千", "四五百万"])
def test_parse_numeral_rejects_non_numerals_and_ranges(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_numeral(bad)


# (text, expression, value, unit, qualifier)
QUANTITIES = [
    ("人才资源总量达129.07万——平均", "129.07万", 1290700, None, "exact"),
    ("新增就业大学生1.8万人,创历史新高", "1.8万人", 18000, "person", "exact"),
    ("计划总投资248.77亿元。", "248.77亿元", 24877000000, "yuan", "exact"),
    ("占从业人员比重达33.81%。", "33.81%", 33.81, "percent", "exact"),
    ("发放一次性3万元的育才补贴", "3万元", 30000, "yuan", "exact"),
    ("新引进博士后研究人员31名,", "31名", 31, "person", "exact"),
    ("累计促成人才流动共享212人次,", "212人次", 212, "person_time", "exact"),
    ("项目落户投产后仅5个月,", "5个月", 5, "month", "exact"),
    ("开展了为期两天的学术研讨", "两天", 2, "day", "exact"),
    ("占地50亩的浙大衢州中试基地", "50亩", 50, "mu", "exact"),
    ("一个面积不到2平方米的岗亭", "不到2平方米", 2, "square_meter", "under"),
    ("累计里程6000多公里,", "6000多公里", 6000, "km", "over"),
    ("人才资源数达3928人。", "3928人", 3928, "person", "exact"),
    ("覆盖人才群体超百万人,", "超百万人", 1_000_000, "person", "over"),
    ("覆盖人才群体超百万,", "超百万", 1_000_000, None, "over"),
    ("成功落地高层次科创人才项目近百个,", "近百个", 100, "count", "approx"),
    ("企业计划投入千万元科研资金", "千万元", 10_000_000, "yuan", "exact"),
    ("企业计划投入百万元科研资金", "百万元", 1_000_000, "yuan", "exact"),
    ("总金额超千万元,", "超千万元", 10_000_000, "yuan", "over"),
    ("在嘉兴550多万常住人口中", "550多万", 5_500_000, None, "over"),
    ("重点企业1100余家,", "1100余家", 1100, "count", "over"),
    ("吸引了全国20多位硕博研究生", "20多位", 20, "person", "over"),
    ("至今已集聚百余名各类高级人才", "百余名", 100, "person", "over"),
    ("累计邀请各领域相关人才专家超万人,", "超万人", 10000, "person", "over"),
    ("累计拥有高技能人才约4.1万人,", "约4.1万人", 41000, "person", "approx"),
    ("人才项目政策兑现近3150万元。", "近3150万元", 31_500_000, "yuan", "approx"),
    ("争取项目总投资突破1000亿元。", "突破1000亿元", 100_000_000_000, "yuan", "over"),
    ("去年成功突破亿元大关", "突破亿元", 100_000_000, "yuan", "over"),
    ("新增就业大学生超过7万人。", "超过7万人", 70000, "person", "over"),
    ("给予最高20万元补助", "最高20万元", 200000, "yuan", "under"),
    ("短短1个多月,已有", "1个多月", 1, "month", "over"),
    ("与四十余位生物医药专家", "四十余位", 40, "person", "over"),
    ("覆盖了全国近80%的省份", "近80%", 80, "percent", "approx"),
    ("国际人才交流活动10余场,", "10余场", 10, "count", "over"),
    ("达成产学研合作200余项。", "200余项", 200, "count", "over"),
    ("累计开展近50期课程", "近50期", 50, "count", "approx"),
    ("共推出220余堂课", "220余堂", 220, "count", "over"),
    ("每年可销售花卉苗木50万盆,", "50万盆", 500000, "count", "exact"),
    ("一个班仅30个人,", "30个人", 30, "person", "exact"),
    ("在全市打造21个人才之家", "21个", 21, "count", "exact"),
    ("目前已经培育出了两个新品种", "两个", 2, "count", "exact"),
    ("嘉善达181.4,首次", "181.4", 181.4, None, "exact"),
    ("招聘100人以上。", "100人以上", 100, "person", "over"),
    ("培训50人左右。", "50人左右", 50, "person", "approx"),
    ("使每吨铸件成本降低超400元。", "超400元", 400, "yuan", "over"),
    ("研发投入占GDP比重3.45%,", "3.45%", 3.45, "percent", "exact"),
    ("同比增长8.0%,", "8.0%", 8.0, "percent", "exact"),
    ("提高2个百分点", "2个百分点", 2, "percentage_point", "exact"),
    ("产值增长3倍", "3倍", 3, "times", "exact"),
    ("绿道长3千米", "3千米", 3, "km", "exact"),
    ("实现营收9.79亿元,", "9.79亿元", 979_000_000, "yuan", "exact"),
    ("签约3个项目", "3个", 3, "count", "exact"),
    ("上千家企业参与", "上千家", 1000, "count", "over"),
    ("吸引1万余人", "1万余人", 10000, "person", "over"),
    ("产值五百余万元", "五百余万元", 5_000_000, "yuan", "over"),
    ("共1,000人参加", "1,000人", 1000, "person", "exact"),
    ("全角１２３名研究生", "１２３名", 123, "person", "exact"),
    ("增长３．５％", "３．５％", 3.5, "percent", "exact"),
    ("最高一项保额达140万元。", "140万元", 1_400_000, "yuan", "under"),
]


@pytest.mark.parametrize(("text", "expression", "value", "unit", "qualifier"), QUANTITIES)
def test_quantity(text: str, expression: str, value: float, unit: str | None, qualifier: str) -> None:
    q = only(text)
    assert (q.text, q.value, q.unit, q.qualifier, q.kind) == (expression, value, unit, qualifier, "quantity")
    assert text[q.start:q.end] == expression
    assert q.value_high is None


@pytest.mark.parametrize(
    ("text", "number", "measure"),
    [
        ("总投资超过248.77亿元以上", "248.77亿元", "元"),
        ("约4.1万人", "4.1万人", "人"),
        ("不到2平方米", "2平方米", "平方米"),
        ("达成产学研合作200余项", "200余项", "项"),
        ("增长３．５％", "３．５％", "％"),
        ("人才资源总量达129.07万——", "129.07万", ""),
        ("总产值达数百亿元", "百亿元", "元"),
        ("短短1个多月", "1个多月", "个月"),
    ],
)
def test_number_span_leaves_out_qualifier_words(text: str, number: str, measure: str) -> None:
    q = only(text)
    assert text[q.number_start:q.number_end] == number
    assert q.measure == measure


def test_vague_amount_is_its_lower_bound() -> None:
    q = only("氟硅新材料产业链总产值达数百亿元。")
    assert (q.text, q.value, q.unit, q.qualifier, q.vague) == ("数百亿元", 1e10, "yuan", "over", True)


@pytest.mark.parametrize(
    ("text", "expression", "low", "high", "unit"),
    [
        ("产值可达四五百万。", "四五百万", 4_000_000, 5_000_000, None),
        ("补助3至5万元", "3至5万元", 30000, 50000, "yuan"),
        ("签了两三个项目", "两三个", 2, 3, "count"),
        ("来了两三个人", "两三个人", 2, 3, "person"),
        ("招聘10-20名", "10-20名", 10, 20, "person"),
    ],
)
def test_range(text: str, expression: str, low: float, high: float, unit: str | None) -> None:
    q = only(text)
    assert (q.text, q.value, q.value_high, q.unit, q.qualifier) == (expression, low, high, unit, "range")


RANKS = [
    ("“浙江省科技人才发展指数测评榜单”列全省第3位。", "全省第3位", 3, "全省"),
    ("排名实现3年连续提升、列全国第20位,", "全国第20位", 20, "全国"),
    ("全社会研发投入占GDP比重3.45%,居全省第二。", "全省第二", 2, "全省"),
    ("嘉兴创新指数列全省第二;", "全省第二", 2, "全省"),
    ("嘉善达181.4,首次跻身全省第3位,", "全省第3位", 3, "全省"),
    ("持续位列县(市)第1位。", "县(市)第1位", 1, "县(市)"),
    ("全省“无感监测”营商指数连续排名第一……", "第一", 1, ""),
    ("协助企业入选省级重点研发项目数量居全市第一,", "全市第一", 1, "全市"),
    ("吸引了全球200余名青年,报名数居杭州市首位。", "杭州市首位", 1, "杭州市"),
    ("数量居全市第一。", "全市第一", 1, "全市"),
    ("位居全国榜首。", "全国榜首", 1, "全国"),
]


@pytest.mark.parametrize(("text", "expression", "value", "scope"), RANKS)
def test_rank(text: str, expression: str, value: float, scope: str) -> None:
    ranks = [q for q in find_quantities(text) if q.kind == "rank"]
    assert len(ranks) == 1
    q = ranks[0]
    assert (q.text, q.value, q.unit, q.rank_scope, q.qualifier) == (expression, value, "rank", scope, "exact")
    assert text[q.number_start:q.number_end].startswith(("第", "首", "榜"))


def test_rank_top_n_is_an_upper_bound() -> None:
    q = only("位居全国前10位")
    assert (q.text, q.value, q.qualifier, q.rank_scope) == ("全国前10位", 10, "under", "全国")


@pytest.mark.parametrize(
    ("text", "expression", "value", "qualifier"),
    [
        ("长三角拥有全国约四分之一的“双一流”高校", "约四分之一", 25, "approx"),
        ("有三分之一的世界500强企业在长三角建立了研发中心", "三分之一", 100 / 3, "exact"),
        ("规模以上工业总产值约占衢州市的一半。", "一半", 50, "approx"),
        ("将近一半的企业", "将近一半", 50, "approx"),
        ("百分之三十的企业", "百分之三十", 30, "exact"),
        ("增长两成", "两成", 20, "exact"),
        ("七成以上", "七成以上", 70, "over"),
    ],
)
def test_fraction_is_percent(text: str, expression: str, value: float, qualifier: str) -> None:
    q = only(text)
    assert (q.text, q.unit, q.qualifier) == (expression, "percent", qualifier)
    assert q.value == pytest.approx(value)


NOT_FIGURES = [
    # dates, years, times of day
    "2024年", "2019年以来", "9月24日", "10月26日", "今年8月", "5月18日", "2025年7月", "今年1至8月",
    "今年1月至7月", "从18时值班至零点", "经常晚上十一二点才下班", "2024-09-28", "18:30开始",
    "2024“星耀南湖·长三角科技人才周”", "2023星耀南湖聚才建圈强链",
    # durations in years
    "5年间", "深耕29年", "十余年磨一剑", "落户海宁两年多", "排名实现3年连续提升", "近三年", "通过10年建设发展",
    "7年建校", "近一年来", "短短两年时间",
    # ordinals
    "第八届", "第二批", "第六届", "第一次人才工作会议", "首批", "第一资源", "今年前三季度",
    # codes, letters and names
    "长三角G60科创走廊", "5G", "中英ESG人才", "世界500强", "一群80后和90后", "“135N”产业集群",
    "大学生“550”引才计划", "“1+8+N”平湖人才服务矩阵", "全省“315”科技创新体系", "“四个互认”",
    "构建“15分钟青年人才发展服务圈”", "“十四五”圆满交卷", "十五五壮丽开局", "台州市六届五次党代会",
    "塑造“1+X”人才服务品牌", "丽水市1+9共享人才库", "“三位一体”", "三位一体", "518线路打卡",
    "《西湖区青年人才十条》", "问题1:教育科技人才", "实施人才服务十件实事", "促成从“0到1”的突破",
    # the numeral 一 and other words built on numerals
    "一批", "一个", "一次性", "一站式", "一件事", "一键兑现", "一码供给", "一地认定", "最高一项",
    "三大体系", "五大平台", "四大招商兵团", "两大高能级平台", "等5大平台建设", "十七大传统产业", "六大类别",
    "三地互认", "四省边际", "嘉兴五县(市)两区", "三个“一号工程”", "“高质量发展、服务群众、防范化解风险”三种能力",
    "千头万绪", "海纳百川", "为了千里奔赴", "每万从业人员", "万人计划", "推进“百企千才”", "八八战略",
    "中核二三公司", "每周三晚", "三番五次", "成百上千", "三五成群",
    # rank wording without a number
    "数量居嘉兴市前列", "居全省第一方阵",
]


@pytest.mark.parametrize("text", NOT_FIGURES)
def test_not_a_figure(text: str) -> None:
    assert find_quantities(text) == []


def test_arabic_one_with_a_measure_is_a_figure() -> None:
    found = find_quantities("平均每5名嘉兴人中就有1人是人才")
    assert [(q.text, q.value, q.unit) for q in found] == [("5名", 5, "person"), ("1人", 1, "person")]


def test_long_quoted_speech_keeps_its_figures() -> None:
    q = only("“在管委会的对接下,今年顺利完成2000名大学生的招聘目标。”")
    assert (q.text, q.value, q.unit) == ("2000名", 2000, "person")


def test_short_quote_hides_figures_but_not_the_ones_after_it() -> None:
    found = find_quantities("吸引“沪苏浙皖”26个城市加盟")
    assert [q.text for q in found] == ["26个"]


def test_two_figures_in_one_clause() -> None:
    found = find_quantities("拱墅已将海外人才项目导入周期从12个月缩短至3个月。")
    assert [(q.text, q.value, q.unit) for q in found] == [("12个月", 12, "month"), ("3个月", 3, "month")]


def test_qualifier_word_inside_another_word_is_not_a_qualifier() -> None:
    assert only("共签约3个项目").qualifier == "exact"


def test_figure_at_the_very_start_of_a_sentence() -> None:
    found = find_quantities("两天后,三十人到场")
    assert [(q.text, q.unit) for q in found] == [("两天", "day"), ("三十人", "person")]
    assert [q.text for q in find_quantities("三十人到场")] == ["三十人"]


def test_units_vocabulary() -> None:
    units = load_units()
    assert load_units() is units
    for code in ("person", "person_time", "yuan", "percent", "percentage_point", "count", "rank", "index",
                 "month", "day", "mu", "square_meter", "km", "times", "per_10k"):
        assert {"name_zh", "name_en", "kind", "measures"} <= set(units[code])
    measures = [m for spec in units.values() for m in spec["measures"] or []]
    assert len(measures) == len(set(measures)), "a measure word belongs to one unit only"


@pytest.mark.parametrize("path", ARTICLES, ids=[p.stem for p in ARTICLES])
def test_article_spans_are_exact(path: Path) -> None:
    text = path.read_text(encoding="utf-8-sig")
    found = find_quantities(text)
    assert found
    units = set(load_units())
    previous_end = 0
    for q in found:
        assert text[q.start:q.end] == q.text
        assert q.start <= q.number_start < q.number_end <= q.end
        assert q.start >= previous_end, "quantities overlap or are out of order"
        previous_end = q.end
        assert q.qualifier in QUALIFIERS and q.qualifier != "target"
        assert q.unit is None or q.unit in units
        assert q.kind in ("quantity", "rank")
        assert (q.value_high is not None) == (q.qualifier == "range")
        assert not re.fullmatch(r"[0-9一二三四五六七八九十]+[年月日时]", q.text), q.text
        assert q.text.strip() == q.text


def test_numeral_matches_are_those_of_a_full_scan():
    """Trying the numeral pattern only where a numeral can begin finds exactly what finditer finds."""
    texts = [path.read_text(encoding="utf-8").translate(FULLWIDTH) for path in ARTICLES]
    texts += ["约3万人", "上百家企业", "超过１２０名", "数十万元", "三四百人,第5届", "近两千名高层次人才"]
    for text in texts:
        expected = [(m.span(), m.groupdict()) for m in _number_re().finditer(text)]
        assert [(m.span(), m.groupdict()) for m in numeral_matches(text)] == expected
