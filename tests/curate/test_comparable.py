"""etl.curate.comparable: which figures may stand side by side, which set a view draws, and why a figure is
left out."""

from __future__ import annotations

import pandas as pd
import pytest

from etl.curate.comparable import Basis, basis_columns, pick, reason


def figures(*rows: tuple) -> pd.DataFrame:
    """(region, name, level, value, kind, start, end[, qualifier]) → a facts frame."""
    return pd.DataFrame([{
        "region_code": r[0], "region_name": r[1], "region_level": r[2], "indicator_code": "x", "value": r[3],
        "period_kind": r[4], "period_start": r[5], "period_end": r[6], "year": int(r[6][:4]),
        "qualifier": r[7] if len(r) > 7 else "exact"} for r in rows])


@pytest.mark.parametrize(("kind", "start", "end", "expected"), [
    ("year", "2024-01-01", "2024-12-31", ("year", "2024")),
    ("as_of", "2024-03-01", "2024-03-01", ("stock", "2024")),
    ("as_of_publication", "2024-10-01", "2024-10-01", ("stock", "2024")),
    ("partial_year", "2024-01-01", "2024-09-30", ("partial_year:01-09", "2024")),
    ("cumulative", "2019-01-01", "2024-09-30", ("cumulative:2019-01", "2024-09")),
    ("cumulative", None, "2024-09-30", ("cumulative:", "2024-09")),
])
def test_a_figures_set_is_its_kind_of_period_its_period_and_its_level(kind, start, end, expected):
    keys = basis_columns(figures(("1", "a", "county", 1.0, kind, start, end))).iloc[0]
    assert (keys["cmp_kind"], keys["cmp_period"], keys["cmp_level"]) == (*expected, "county")


def test_a_basis_key_survives_a_url_and_nonsense_does_not():
    basis = Basis("partial_year:01-09", "2024", "county")
    assert Basis.parse(basis.key) == basis
    assert Basis.parse("stock~~") == Basis("stock", "", "")
    assert [Basis.parse(t) for t in ("", "flow~2024~city", "year~2024~village", "year~2024")] == [None] * 4
    assert basis.label() == ("2024年1–9月数 · 各县（市、区）", "Jan–Sep figures for 2024 · counties and districts")


def test_latest_per_region_takes_the_commonest_kind_and_says_the_years_differ():
    found = pick(figures(
        ("1", "甲", "county", 10.0, "year", "2023-01-01", "2023-12-31"),
        ("2", "乙", "county", 20.0, "year", "2024-01-01", "2024-12-31"),
        ("2", "乙", "county", 15.0, "year", "2023-01-01", "2023-12-31"),
        ("3", "丙", "county", 90.0, "cumulative", "2019-01-01", "2024-06-30"),
        ("4", "丁", "city", 99.0, "year", "2024-01-01", "2024-12-31"),
        ("1", "甲", "county", 50.0, "year", "2025-01-01", "2025-12-31", "target"),
    ))
    assert found.basis == Basis("year", "", "county")
    assert found.shown.set_index("region_name")["value"].to_dict() == {"甲": 10.0, "乙": 20.0}
    assert found.years_note()[0] == "各地区最新数字的年份不同（2023年1个、2024年1个）"
    reasons = found.left_out.set_index("region_name")["reason_zh"].to_dict()
    assert reasons == {"丙": "2019年以来累计（至2024年6月），不是年度数", "丁": "丁属地级市，本图比较各县（市、区）",
                       "甲": "目标值，不是实际数"}
    assert list(found.left_out["region_name"])[:2] == ["丙", "丁"], "regions not drawn at all come first"


def test_a_chosen_year_draws_that_years_set_and_names_the_others():
    rows = figures(("1", "甲", "county", 10.0, "year", "2023-01-01", "2023-12-31"),
                   ("2", "乙", "county", 20.0, "year", "2024-01-01", "2024-12-31"))
    found = pick(rows, year=2024)
    assert found.basis == Basis("year", "2024", "county") and list(found.shown["region_name"]) == ["乙"]
    assert found.left_out.iloc[0]["reason_zh"] == "2023年，不是2024年的数字"
    asked = pick(rows, Basis("year", "2023", "county"))
    assert list(asked.shown["region_name"]) == ["甲"], "a set asked for is drawn"
    assert pick(rows, Basis("stock", "2023", "county")).basis == Basis("year", "", "county"), "else the largest"


def test_every_level_only_when_asked():
    rows = figures(("1", "甲", "county", 10.0, "year", "2024-01-01", "2024-12-31"),
                   ("2", "乙", "city", 20.0, "year", "2024-01-01", "2024-12-31"))
    assert len(pick(rows).shown) == 1
    assert len(pick(rows, Basis("year", "2024", "")).shown) == 2


def test_a_part_year_figure_of_other_months_is_named_with_the_set_it_is_not_in():
    row = basis_columns(figures(("1", "甲", "county", 1.0, "partial_year", "2024-01-01", "2024-03-31")))
    record = {**figures(("1", "甲", "county", 1.0, "partial_year", "2024-01-01", "2024-03-31")).iloc[0].to_dict(),
              **row.iloc[0].to_dict()}
    assert reason(record, Basis("partial_year:01-09", "2024", "county")) == (
        "2024年1–3月，本图为2024年1–9月数", "Jan–Mar 2024; the chart shows Jan–Sep figures for 2024")
