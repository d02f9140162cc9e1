"""Period resolution against publication dates, on cues as they appear in the seed articles."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from etl.extract.period_choice import resolve_period
from etl.extract.periods import Period, find_period_cues
from etl.paths import RAW_DIR
from etl.vocabulary import PERIOD_KINDS

PUB = date(2024, 10, 1)


def _resolve(sentence: str, figure: str, published: date = PUB) -> Period:
    return resolve_period(sentence, sentence.index(figure), published)


def _cue_texts(sentence: str) -> list[str]:
    return [cue.text for cue in find_period_cues(sentence)]


CASES = [
    # sentence, figure, published, start, end, kind, year, cue
    ("今年新增人才3万人", "3万", PUB, date(2024, 1, 1), PUB, "partial_year", 2024, "今年"),
    (
        "今年以来,拱墅已先后举办活动10余场",
        "10余",
        PUB,
        date(2024, 1, 1),
        PUB,
        "partial_year",
        2024,
        "今年以来",
    ),
    ("开年以来,共签约项目27个", "27", PUB, date(2024, 1, 1), PUB, "partial_year", 2024, "开年以来"),
    ("年初以来,新增人才500名", "500", PUB, date(2024, 1, 1), PUB, "partial_year", 2024, "年初以来"),
    ("今年8月,48个项目获奖", "48", PUB, date(2024, 8, 1), date(2024, 8, 31), "partial_year", 2024, "今年8月"),
    ("去年新引进博士后研究人员31名", "31", PUB, date(2023, 1, 1), date(2023, 12, 31), "year", 2023, "去年"),
    ("前年新增大学生2万人", "2万", PUB, date(2022, 1, 1), date(2022, 12, 31), "year", 2022, "前年"),
    (
        "去年5月,论坛吸引300人参加",
        "300",
        PUB,
        date(2023, 5, 1),
        date(2023, 5, 31),
        "partial_year",
        2023,
        "去年5月",
    ),
    (
        "2023年,嘉兴创新指数列全省第二",
        "第二",
        PUB,
        date(2023, 1, 1),
        date(2023, 12, 31),
        "year",
        2023,
        "2023年",
    ),
    ("2024年,新增人才5万人", "5万", PUB, date(2024, 1, 1), PUB, "partial_year", 2024, "2024年"),
    (
        "2023年底,人才总量达120万",
        "120",
        PUB,
        date(2023, 12, 31),
        date(2023, 12, 31),
        "as_of",
        2023,
        "2023年底",
    ),
    (
        "2023年末人才总量达120万",
        "120",
        PUB,
        date(2023, 12, 31),
        date(2023, 12, 31),
        "as_of",
        2023,
        "2023年末",
    ),
    (
        "截至2023年底,人才总量达120万",
        "120",
        PUB,
        date(2023, 12, 31),
        date(2023, 12, 31),
        "as_of",
        2023,
        "截至2023年底",
    ),
    ("截至目前,人才资源总量达129.07万", "129", PUB, PUB, PUB, "as_of", 2024, "截至目前"),
    ("目前,嘉善已聚集起6家国家实验室", "6家", PUB, PUB, PUB, "as_of", 2024, "目前"),
    ("一个人才平台,至今已集聚百余名各类高级人才", "百余", PUB, PUB, PUB, "as_of", 2024, "至今"),
    ("眼下,可实现120余项服务", "120", PUB, PUB, PUB, "as_of", 2024, "眼下"),
    ("当前,全县共有人才5万", "5万", PUB, PUB, PUB, "as_of", 2024, "当前"),
    ("基地现已入驻企业30家", "30", PUB, PUB, PUB, "as_of", 2024, "现已"),
    ("据统计,嘉兴已引进落地87家高端创新载体", "87", PUB, PUB, PUB, "as_of", 2024, "已"),
    ("2019年以来,人才净流入超50万人", "50万", PUB, date(2019, 1, 1), PUB, "cumulative", 2024, "2019年以来"),
    ("2020年以来,上线60余项服务功能", "60", PUB, date(2020, 1, 1), PUB, "cumulative", 2024, "2020年以来"),
    (
        "该研究中心自2021年成立以来,吸引了全国20多位硕博研究生",
        "20多",
        PUB,
        date(2021, 1, 1),
        PUB,
        "cumulative",
        2024,
        "自2021年成立以来",
    ),
    (
        "数据显示,5年间,新增就业大学生超过7万人",
        "7万",
        PUB,
        date(2020, 1, 1),
        PUB,
        "cumulative",
        2024,
        "5年间",
    ),
    ("5年来,新增就业大学生超过7万人", "7万", PUB, date(2020, 1, 1), PUB, "cumulative", 2024, "5年来"),
    ("近5年,新增就业大学生超过7万人", "7万", PUB, date(2020, 1, 1), PUB, "cumulative", 2024, "近5年"),
    ("近三年,研发了130多项专利技术", "130", PUB, date(2022, 1, 1), PUB, "cumulative", 2024, "近三年"),
    ("近一年来,引进人才200名", "200", PUB, date(2023, 10, 1), PUB, "cumulative", 2024, "近一年来"),
    ("嘉兴5年新增青年大学生超50万人", "50万", PUB, date(2020, 1, 1), PUB, "cumulative", 2024, "5年"),
    ("近年来,共集聚67名博士", "67", PUB, None, PUB, "cumulative", 2024, "近年来"),
    ("这几年,我们培养了110余名高级技能人才", "110", PUB, None, PUB, "cumulative", 2024, "这几年"),
    ("近几年,引进项目40个", "40", PUB, None, PUB, "cumulative", 2024, "近几年"),
    ("历届大赛获奖项目已落地嘉兴141个", "141", PUB, None, PUB, "cumulative", 2024, "历届"),
    ("线下累计布局应用场景超2000个", "2000", PUB, None, PUB, "cumulative", 2024, "累计"),
    (
        "1至8月,工业增加值实现1892.1亿元",
        "1892",
        PUB,
        date(2024, 1, 1),
        date(2024, 8, 31),
        "partial_year",
        2024,
        "1至8月",
    ),
    (
        "今年1至8月,增加值1892.1亿元",
        "1892",
        PUB,
        date(2024, 1, 1),
        date(2024, 8, 31),
        "partial_year",
        2024,
        "今年1至8月",
    ),
    (
        "2024年1至8月,增加值1892.1亿元",
        "1892",
        PUB,
        date(2024, 1, 1),
        date(2024, 8, 31),
        "partial_year",
        2024,
        "2024年1至8月",
    ),
    (
        "1月至7月,签约人才项目12个",
        "12",
        PUB,
        date(2024, 1, 1),
        date(2024, 7, 31),
        "partial_year",
        2024,
        "1月至7月",
    ),
    (
        "1—8月,增加值1892.1亿元",
        "1892",
        PUB,
        date(2024, 1, 1),
        date(2024, 8, 31),
        "partial_year",
        2024,
        "1—8月",
    ),
    (
        "1-8月,增加值1892.1亿元",
        "1892",
        PUB,
        date(2024, 1, 1),
        date(2024, 8, 31),
        "partial_year",
        2024,
        "1-8月",
    ),
    (
        "今年前三季度,兑现近3150万元",
        "3150",
        PUB,
        date(2024, 1, 1),
        date(2024, 9, 30),
        "partial_year",
        2024,
        "今年前三季度",
    ),
    (
        "前三季度,兑现近3150万元",
        "3150",
        PUB,
        date(2024, 1, 1),
        date(2024, 9, 30),
        "partial_year",
        2024,
        "前三季度",
    ),
    ("上半年,新增人才2万", "2万", PUB, date(2024, 1, 1), date(2024, 6, 30), "partial_year", 2024, "上半年"),
    (
        "一季度,新增人才8000名",
        "8000",
        PUB,
        date(2024, 1, 1),
        date(2024, 3, 31),
        "partial_year",
        2024,
        "一季度",
    ),
    (
        "9月24日,7所高校代表进行座谈",
        "7所",
        PUB,
        date(2024, 9, 24),
        date(2024, 9, 24),
        "as_of",
        2024,
        "9月24日",
    ),
    (
        "10月14日下午,实验室内有3名博士",
        "3名",
        PUB,
        date(2024, 10, 14),
        date(2024, 10, 14),
        "as_of",
        2024,
        "10月14日下午",
    ),
    (
        "12月20日,签约项目8个",
        "8个",
        date(2024, 3, 1),
        date(2023, 12, 20),
        date(2023, 12, 20),
        "as_of",
        2023,
        "12月20日",
    ),
    (
        "5月18日,签约项目8个",
        "8个",
        date(2024, 3, 1),
        date(2024, 5, 18),
        date(2024, 5, 18),
        "as_of",
        2024,
        "5月18日",
    ),
    (
        "“2024年,我们将争取项目总投资突破1000亿元",
        "1000",
        date(2024, 3, 1),
        date(2024, 1, 1),
        date(2024, 3, 1),
        "partial_year",
        2024,
        "2024年",
    ),
    (
        "2022年衢州第二批“双领”计划引才活动举行,20余个项目通过评审",
        "20余",
        date(2022, 10, 1),
        date(2022, 1, 1),
        date(2022, 10, 1),
        "partial_year",
        2022,
        "2022年",
    ),
    (
        "今年前三季度,兑现近3150万元",
        "3150",
        date(2022, 10, 1),
        date(2022, 1, 1),
        date(2022, 9, 30),
        "partial_year",
        2022,
        "今年前三季度",
    ),
    (
        "去年成功突破亿元大关",
        "亿元",
        date(2024, 3, 1),
        date(2023, 1, 1),
        date(2023, 12, 31),
        "year",
        2023,
        "去年",
    ),
    (
        "2025年以来,累计促成人才流动共享212人次",
        "212",
        date(2025, 12, 1),
        date(2025, 1, 1),
        date(2025, 12, 1),
        "cumulative",
        2025,
        "2025年以来",
    ),
    (
        "2024年新增人才5万人",
        "5万",
        date(2025, 12, 1),
        date(2024, 1, 1),
        date(2024, 12, 31),
        "year",
        2024,
        "2024年",
    ),
]


@pytest.mark.parametrize(("sentence", "figure", "published", "start", "end", "kind", "year", "cue"), CASES)
def test_cue_resolves(
    sentence: str, figure: str, published: date, start: date | None, end: date, kind: str, year: int, cue: str
) -> None:
    period = _resolve(sentence, figure, published)
    assert (period.start, period.end, period.kind, period.year, period.cue) == (start, end, kind, year, cue)
    assert period.cue_start == sentence.index(cue)


def test_no_cue_is_as_of_publication() -> None:
    assert _resolve("在嘉兴每万从业人员中,人才资源数达3928人", "3928") == Period(
        PUB, PUB, "as_of_publication", 2024, "", -1
    )


@pytest.mark.parametrize(
    "text",
    [
        "深耕29年",
        "两年多",
        "正值“十四五”收官之年",
        "2024“星耀南湖·长三角科技人才周”",
        "如今年轻人越来越多",
        "从12个月缩短至3个月",
    ],
)
def test_durations_and_names_are_not_calendar_years(text: str) -> None:
    cues = find_period_cues(text)
    assert not [cue for cue in cues if cue.category in ("explicit_year", "relative_year", "month", "since")]
    assert "十四五" not in _cue_texts(text)


@pytest.mark.parametrize("text", ["十余年来", "两年多来", "多年来"])
def test_approximate_durations_are_open_ended(text: str) -> None:
    period = _resolve(f"{text},培养人才300名", "300")
    assert (period.start, period.kind, period.cue) == (None, "cumulative", text)


def test_anaphoric_this_year_is_not_a_duration() -> None:
    assert _cue_texts("也是这一年,嘉兴在全省创新提出“嘉兴人才日”") == []


def test_explicit_year_wins_over_preceding_duration() -> None:
    sentence = "再把发展时针朝前拨——2019年以来,嘉兴5年新增青年大学生超50万人,人才净流入占比已呈明显上升趋势。"
    period = _resolve(sentence, "50万")
    assert (period.start, period.end, period.kind, period.year) == (date(2019, 1, 1), PUB, "cumulative", 2024)
    assert (period.cue, period.cue_start) == ("2019年以来", sentence.index("2019"))


def test_nearest_cue_before_the_figure_wins() -> None:
    sentence = "近三年,该公司研发了130多项专利技术,公司产值逐年翻倍,去年成功突破亿元大关。"
    published = date(2024, 3, 1)
    assert _resolve(sentence, "130", published).cue == "近三年"
    assert _resolve(sentence, "亿元", published).cue == "去年"


def test_cue_after_the_figure_only_within_its_clause() -> None:
    assert _resolve("新增人才3万人,今年以来累计5万人", "3万").kind == "as_of_publication"
    assert _resolve("新增人才3万人今年以来", "3万").cue == "今年以来"


def test_nothing_after_the_figure_when_a_cue_precedes() -> None:
    sentence = "在嘉兴550多万常住人口中,截至目前,人才资源总量达129.07万"
    assert _resolve(sentence, "550").kind == "as_of_publication"
    assert _resolve(sentence, "129").cue == "截至目前"


def test_already_takes_the_period_of_a_cue_in_its_clause() -> None:
    sentence = "今年已市县联动举办产才对接活动125场,累计邀请各领域相关人才专家超万人,成功落地项目近百个。"
    for figure in ("125", "超万", "近百"):
        period = _resolve(sentence, figure)
        assert (period.kind, period.start, period.cue) == ("partial_year", date(2024, 1, 1), "今年")


def test_accumulated_takes_the_start_of_an_earlier_since_cue() -> None:
    sentence = "2020年以来,“嘉兴人才码”应用陆续上线60余项服务功能,线下累计布局应用场景超2000个。"
    period = _resolve(sentence, "2000")
    assert (period.kind, period.start, period.cue) == ("cumulative", date(2020, 1, 1), "2020年以来")


def test_accumulated_in_a_dated_clause_takes_that_year() -> None:
    period = _resolve("拱墅的全方位人才服务同样可圈可点:2023年累计推出1162套人才共有产权房", "1162")
    assert (period.kind, period.year, period.cue) == ("year", 2023, "2023年")


def test_accumulated_up_to_now_stays_open_ended() -> None:
    assert _resolve("运行至今,中欧中心已累计对接创新项目200余个", "200").start is None
    assert _resolve("截至目前累计评选项目219个", "219").start is None


def test_dated_events_elsewhere_do_not_date_already() -> None:
    sentence = (
        "2021年,浙江大学嘉兴研究院揭牌成立,加快先进技术转移转化;2023年,嘉善复旦研究院正式开园……"
        "据统计,嘉兴已引进落地87家高端创新载体,合作共建创新载体达到44家。"
    )
    for figure in ("87", "44"):
        period = _resolve(sentence, figure)
        assert (period.kind, period.cue) == ("as_of", "已")


def test_day_range_is_one_cue() -> None:
    period = _resolve("就在不久前的9月23日、24日,与四十余位专家开展研讨", "四十余", date(2024, 9, 1))
    assert (period.start, period.end, period.cue) == (date(2024, 9, 23), date(2024, 9, 24), "9月23日、24日")


def test_bare_month_far_after_publication_is_last_year() -> None:
    assert _resolve("11月,签约项目8个", "8个", date(2024, 3, 1)).year == 2023
    assert _resolve("5月,签约项目8个", "8个", date(2024, 9, 1)).year == 2024


def test_cue_strengths_rank_explicit_over_relative_over_weak() -> None:
    strengths = {cue.text: cue.strength for cue in find_period_cues("2019年以来,近5年,目前已累计")}
    assert strengths["2019年以来"] > strengths["近5年"] > strengths["目前"]
    assert strengths["近5年"] > strengths["已"] and strengths["近5年"] > strengths["累计"]


def _published_months() -> dict[str, date]:
    with (RAW_DIR / "manifest.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {row["file"]: date(*map(int, row["published"].split("-")), 1) for row in rows}


def _paragraphs(path: Path) -> list[str]:
    blocks = re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
    joined = ("".join(line.strip() for line in block.splitlines()) for block in blocks)
    return [text for text in joined if text]


@pytest.mark.parametrize("path", sorted(RAW_DIR.glob("*.txt")), ids=lambda path: path.name)
def test_cue_spans_are_exact_on_raw_articles(path: Path) -> None:
    published = _published_months()[path.name]
    for paragraph in _paragraphs(path):
        cues = find_period_cues(paragraph)
        for cue in cues:
            assert paragraph[cue.start : cue.end] == cue.text
            period = cue.resolve(published)
            assert period.kind in PERIOD_KINDS
            assert period.year == period.end.year
            assert period.start is None or period.start <= period.end
        for left, right in zip(cues, cues[1:], strict=False):
            assert left.end <= right.start
