"""Tables inside articles: one fact per figure cell, the indicator and unit from the header, the place from
the row label, the period from the header, label or caption."""

from __future__ import annotations

from etl.extract.tables import split_cells, table_runs
from etl.extract.text import physical_lines
from tests.extract.articles import facts_of

PIPES = """各市主要指标

表1 2023年各市地区生产总值
地区 | 地区生产总值(亿元) | 增长(%)
杭州市 | 20059 | 5.6
宁波市 | 16452.8 | 6.1
"""

ALIGNED = """全省人才资源继续增长。下表为部分县(市、区)人才资源情况(单位:万人)。
县(市、区)    人才资源总量    技能人才
萧山区        45.3           30.1
余杭区        38.7           21.5
"""

YEARS = """| 指标 | 2022年 | 2023年 |
|---|---|---|
| 人才资源总量(万人) | 120.5 | 129.07 |
| 研发投入占GDP比重(%) | 3.2 | 3.45 |
"""

BULLETIN = """主要指标完成情况如下:
指标名称          单位      绝对数      比上年增长(%)
地区生产总值      亿元      7062.45     6.3
常住人口          万人      558.4       1.2
"""


def cells(text: str) -> dict[str, tuple]:
    facts = facts_of(text, "2024-03-10", region="浙江省")
    return {f.fact_id: (f.number_text, f.value, f.unit, f.region_name, f.indicator_code, f.year, f.period_source)
            for f in facts.values()}


def test_a_pipe_table_gives_a_fact_per_cell_with_header_units() -> None:
    found = set(cells(PIPES).values())
    assert ("20059", 2_005_900_000_000, "yuan", "杭州市", "gdp", 2023, "table") in found
    assert ("6.1", 6.1, "percent", "宁波市", "growth_rate", 2023, "table") in found
    assert len(found) == 4


def test_space_aligned_columns_take_the_unit_of_the_caption() -> None:
    found = {v[:5] for v in cells(ALIGNED).values()}
    assert ("45.3", 453_000, "person", "萧山区", "talent_total") in found
    assert ("21.5", 215_000, "person", "余杭区", "skilled_talent_total") in found


def test_year_columns_date_each_cell_and_the_row_label_names_the_indicator() -> None:
    found = {v[0]: v for v in cells(YEARS).values()}
    assert found["120.5"][1:3] == (1_205_000, "person") and found["120.5"][5] == 2022
    assert found["3.45"][2] == "percent" and found["3.45"][4] == "rd_share_gdp" and found["3.45"][5] == 2023


def test_a_unit_column_gives_each_row_its_unit() -> None:
    found = {v[0]: v for v in cells(BULLETIN).values()}
    assert found["7062.45"][1:3] == (706_245_000_000, "yuan")
    assert found["558.4"][1:3] == (5_584_000, "person")
    assert found["1.2"][2] == "percent" and found["1.2"][4] == "growth_rate"


def test_cells_keep_their_raw_offsets_and_the_quote_is_the_row() -> None:
    from tests.extract.articles import extract

    text = "前言。\n\n" + PIPES
    for fact in extract(text, published="2024-03"):
        assert text[fact.char_start:fact.char_end] == fact.number_text
        assert fact.quote == text[fact.quote_start:fact.quote_end] and fact.number_text in fact.quote


def test_prose_with_wide_spaces_is_not_a_table() -> None:
    lines = physical_lines("■ 邹晓津  杨丽英\n\n人才是第一资源。  全市新增人才5万人。\n")
    assert table_runs(lines) == []
    assert split_cells("人才是第一资源。全市新增人才5万人。", 0) is None
