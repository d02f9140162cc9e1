"""The period of a figure from the nearest scope that dates it: clause, sentence, paragraph, heading,
document (title year, document type, an early-year review), publication; `period_source` says which."""

from __future__ import annotations

from datetime import date

import pytest

from etl.extract.facts import extract_article
from etl.extract.indicators import load_taxonomy
from etl.extract.period_context import document_context
from etl.extract.regions import load_gazetteer
from etl.extract.sources import ManifestRow, build_article
from tests.extract.articles import facts_of


@pytest.mark.parametrize(("title", "opening", "published", "year", "basis"), [
    ("岱山县2021年国民经济和社会发展统计公报", "", date(2022, 4, 18), 2021, "统计公报"),
    ("嘉兴市国民经济和社会发展统计公报", "", date(2023, 3, 1), 2022, "统计公报"),
    ("2018年政府工作报告", "", date(2018, 1, 20), 2017, "政府工作报告"),
    ("", "各位代表:\n现在,我代表县人民政府向大会作工作报告,请予审议。", date(2018, 2, 1), 2017, "政府工作报告"),
    ("关于2023年国民经济和社会发展计划执行情况与2024年计划草案的报告", "", date(2024, 1, 25), 2023,
     "计划执行情况的报告"),
    ("柯桥区2020创新驱动发展", "", date(2021, 1, 30), 2020, "title"),
])
def test_the_document_says_which_year_it_reports_on(title, opening, published, year, basis) -> None:
    context = document_context(title, opening, published)
    assert context.year == year, context.basis
    assert basis in context.basis or (basis == "title" and "title" in context.basis)
    assert context.frame.source == "document"


def test_an_early_year_review_is_about_last_year_but_a_news_story_is_not() -> None:
    review = "2021年,我区新增专业技术人才7044人。就2021年全区专业技术人才队伍组成结构分析来看……2021年通过评审……"
    assert document_context("新增7044人", review, date(2022, 2, 8)).year == 2021
    news = "在近日召开的大会上,该县宣布了新政。2020年,该县R&D经费支出占GDP比重达到3.34%,去年国家级人才入选数列全省第一。"
    assert document_context("聚才引智", news, date(2021, 3, 16)).year is None
    assert document_context("", review, date(2022, 7, 8)).year is None  # not early in the year


def test_a_bulletin_dates_its_year_end_and_whole_year_figures() -> None:
    text = ("年末全县户籍人口170723人,比上年末减少3010人。\n\n全年新设企业504个,城镇登记失业率为1.78%。\n")
    facts = facts_of(text, "2022-04-18", title="岱山县2021年国民经济和社会发展统计公报", region="岱山县")
    stock, flow, rate = facts["170723人"], facts["504个"], facts["1.78%"]
    assert (stock.year, stock.period_kind, stock.period_end, stock.period_source) == \
        (2021, "as_of", "2021-12-31", "clause")
    assert (flow.year, flow.period_kind, flow.period_source) == (2021, "year", "clause")
    assert (rate.year, rate.period_source) == (2021, "sentence")


def test_a_paragraph_opening_dates_what_follows_but_not_the_next_paragraph() -> None:
    text = "2023年,全县新引进人才5000名。全县新增就业大学生1.2万人。\n\n当前,全县拥有院士工作站3家。\n"
    facts = facts_of(text, "2024-09")
    assert (facts["1.2万人"].year, facts["1.2万人"].period_source) == (2023, "paragraph")
    assert facts["3家"].year == 2024


def test_a_dated_event_does_not_date_the_figures_after_it() -> None:
    text = "2020年11月,研究院项目落地嘉兴。以其为核,近60名博士后汇聚禾城。\n"
    assert facts_of(text, "2024-10")["近60名"].year == 2024


def test_a_section_heading_dates_its_section() -> None:
    text = "人才工作总结\n\n一、2022年工作回顾\n\n全市新增高技能人才2.1万人。\n"
    fact = facts_of(text, "2023-06")["2.1万人"]
    assert (fact.year, fact.period_kind, fact.period_source) == (2022, "year", "heading")


def test_a_target_looks_ahead_of_a_reviewed_year() -> None:
    text = "2025年,全区共建实验室35家。力争全年开展产学研用合作项目100个。\n"
    facts = facts_of(text, "2026-02-08", title="柯桥区科创平台成效")
    assert facts["35家"].year == 2025
    assert (facts["100个"].year, facts["100个"].qualifier) == (2026, "target")


def test_a_comparison_base_marks_the_change_not_the_year() -> None:
    facts = facts_of("2021年,全区专业技术人才达145883人,较2020年增长5%。\n", "2022-02-08")
    assert (facts["5%"].year, facts["5%"].period_kind) == (2021, "year")
    since = facts_of("截至今年6月底,全市人才资源总量达到240万人,较2020年增加近40万人。\n", "2024-08")["近40万人"]
    assert (since.period_start, since.period_end, since.period_kind) == ("2020-01-01", "2024-06-30", "cumulative")


def test_a_streak_dates_only_its_clause() -> None:
    facts = facts_of("目前,全县研发经费支出占GDP比重连续7年保持在4%以上,创新指数蝉联全省第二。\n", "2022-07-31")
    assert (facts["4%以上"].period_start, facts["4%以上"].period_end) == ("2015-01-01", "2021-12-31")
    assert facts["全省第二"].year == 2022


def test_a_flow_dated_only_by_publication_is_flagged_for_review() -> None:
    facts = facts_of("全市新增就业大学生1.2万人。全市拥有院士工作站3家。\n", "2024-09")
    assert facts["1.2万人"].period_source == "publication"
    assert facts["1.2万人"].status == "needs_review" and "period_assumed" in facts["1.2万人"].review_reason
    assert "period_assumed" not in facts["3家"].review_reason


def test_periods_worked_out_from_an_inferred_publication_date_are_flagged() -> None:
    """Without a date from the manifest, the file or its URL, 今年 and 目前 rest on a guess; a written year does not."""
    text = "2023年，全市新增高技能人才1.5万人。今年以来，全市引进博士120名。目前全市拥有院士工作站3家。\n"
    undated = build_article("t.txt", text, "utf-8", ManifestRow(file="t.txt", primary_region="嘉兴市"))
    assert undated.published_source == "inferred"
    facts = {f.number_text: f for f in extract_article(undated, load_gazetteer(), load_taxonomy())}
    assert "date_inferred" not in facts["1.5万人"].review_reason
    for guessed in ("120名", "3家"):
        assert facts[guessed].status == "needs_review" and "date_inferred" in facts[guessed].review_reason
    dated = facts_of(text, "2024-02")
    assert not any("date_inferred" in f.review_reason for f in dated.values())


def test_a_work_report_reviews_last_year_and_its_goals_are_next_years_targets() -> None:
    text = ("各位代表:\n现在,我代表市人民政府向大会报告工作,请予审议。\n\n一、2023年工作回顾\n"
            "过去一年,全市实现地区生产总值1356.2亿元。研发投入强度达3.6%,居嘉兴第二。年末全市常住人口112.3万人。\n\n"
            "二、2024年主要目标\n地区生产总值增长7%左右;新引进大学生3万人以上。\n")
    facts = facts_of(text, "2024-01-20", title="二〇二四年海宁市人民政府工作报告", region="海宁市")
    assert facts["1356.2亿元"].year == 2023 and facts["3.6%"].year == 2023
    assert facts["112.3万人"].region_name == "海宁市", "a rank's scope (嘉兴第二) is not what 全市 refers to"
    goal = facts["3万人以上"]
    assert (goal.year, goal.period_kind, goal.qualifier) == (2024, "year", "target")
