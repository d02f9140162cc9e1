"""Analysts' corrections: checked line by line, applied on every run and refresh, orphans reported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from etl.curate.corrections import CORRECTIONS_PATH, load_corrections, parse_corrections
from etl.extract.reference import ReferenceData, load_reference
from tests.refresh_workspace import Workspace, record_extracted

JIAXING, NANHU = "330400", "330402"


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return load_reference()


def pick(ws: Workspace, article_index: int = 0, nth: int = 0) -> pd.Series:
    """A fact of a seed article that is not flagged for review, to correct in a test."""
    article_id = ws.seed_files()[article_index].stem
    facts = ws.facts()
    return facts[(facts["article_id"] == article_id) & (facts["status"] == "extracted")].iloc[nth]


def line(fact_id: str, **fields) -> dict:
    return {"fact_id": fact_id, "reason": "checked against the article", "analyst": "王芳", **fields}


def test_problems_are_reported_with_their_line_and_good_lines_still_apply(reference: ReferenceData) -> None:
    text = ("fact_id,action,value,unit,qualifier,region_code,indicator_code,reason,analyst,colour\n"
            "aaaaaaaaaaaaaaaa,correct,12.5,,,,,ok,王芳,\n"
            "bbbbbbbbbbbbbbbb,correct,,furlong,,,,bad unit,王芳,\n"
            "cccccccccccccccc,correct,,,roughly,999999,no_such_indicator,three problems,王芳,\n"
            "dddddddddddddddd,correct,twelve,,,,,not a number,王芳,\n"
            "eeeeeeeeeeeeeeee,reject,,,,,,,王芳,\n"
            "aaaaaaaaaaaaaaaa,reject,,,,,,again,王芳,\n"
            "not-an-id,reject,,,,,,why,王芳,\n"
            "ffffffffffffffff,correct,,,,,,nothing set,王芳,\n")
    corrections, problems = parse_corrections(text, reference)
    assert [(c.line, c.fact_id, c.changes) for c in corrections] == [(2, "aaaaaaaaaaaaaaaa", (("value", 12.5),))]
    found = {p.file: p.detail for p in problems}
    assert "unknown column(s) ['colour']" in found["corrections.csv line 1"]
    assert "furlong" in found["corrections.csv line 3"]
    assert all(word in found["corrections.csv line 4"] for word in ("roughly", "999999", "no_such_indicator"))
    assert "'twelve' is not a number" in found["corrections.csv line 5"]
    assert "reason is empty" in found["corrections.csv line 6"]
    assert "already corrected on line 2" in found["corrections.csv line 7"]
    assert "not a fact id" in found["corrections.csv line 8"]
    assert "sets no field" in found["corrections.csv line 9"]
    assert {p.reason for p in problems} == {"correction_invalid"}


def test_a_file_without_the_required_columns_applies_nothing(reference: ReferenceData) -> None:
    corrections, problems = parse_corrections("id,value\nabc,1\n", reference)
    assert corrections == []
    assert problems[0].reason == "corrections_header" and "fact_id" in problems[0].detail


def test_corrections_are_applied_on_a_run_and_shown_as_corrected_or_rejected(ws: Workspace) -> None:
    fixed, dropped = pick(ws, 0, 0), pick(ws, 0, 1)
    ws.write_corrections([line(fixed["fact_id"], value="4321", region_code=NANHU, qualifier="approx"),
                          line(dropped["fact_id"], action="reject", reason="a ratio, not a count")])
    summary = ws.run()
    facts = ws.facts().set_index("fact_id")
    corrected, rejected = facts.loc[fixed["fact_id"]], facts.loc[dropped["fact_id"]]
    assert (corrected["status"], corrected["value"], corrected["qualifier"]) == ("corrected", 4321.0, "approx")
    assert (corrected["region_code"], corrected["region_name"], corrected["region_source"]) == (NANHU, "南湖区",
                                                                                              "analyst")
    assert corrected["review_reason"] == "corrected by 王芳: checked against the article"
    assert corrected["quote"] == fixed["quote"], "the quote stays what the article says"
    assert (rejected["status"], rejected["review_reason"]) == ("rejected", "rejected by 王芳: a ratio, not a count")
    assert summary.corrections_applied == 2 and ws.runs().iloc[-1]["corrections_applied"] == 2
    assert list(ws.table("corrections", "line")["outcome"]) == ["applied", "applied"]
    csv = pd.read_csv(ws.curated / "facts.csv", dtype=str).set_index("fact_id")
    assert csv.loc[fixed["fact_id"], "status"] == "corrected"


def test_a_new_correction_reaches_the_published_fact_on_the_next_refresh_and_withdrawing_it_restores_it(
        ws: Workspace, monkeypatch) -> None:
    fact = pick(ws, 1, 0)
    extracted = record_extracted(monkeypatch)
    ws.write_corrections([line(fact["fact_id"], indicator_code="talent_total")])
    summary = ws.refresh()
    assert (summary.outcome, summary.facts_changed) == ("success", 1)
    assert extracted == [fact["article_id"]], "only the corrected fact's article is rebuilt"
    after = ws.facts().set_index("fact_id").loc[fact["fact_id"]]
    assert (after["indicator_code"], after["family"], after["status"]) == ("talent_total", "talent_total",
                                                                           "corrected")
    assert ws.refresh().outcome == "nothing_new"
    ws.write_corrections([])
    assert ws.refresh().outcome == "success"
    restored = ws.facts().set_index("fact_id").loc[fact["fact_id"]]
    pd.testing.assert_series_equal(restored, fact.drop("fact_id").rename(fact["fact_id"]), check_names=False)


def test_a_correction_whose_fact_is_gone_is_reported_as_an_orphan(ws: Workspace) -> None:
    fact = pick(ws, 2, 0)
    ws.write_corrections([line(fact["fact_id"], value="7"), line("0123456789abcdef", action="reject")])
    summary = ws.refresh()
    assert summary.correction_orphans == ["line 3: fact 0123456789abcdef"]
    Path(ws.raw / f"{fact['article_id']}.txt").unlink()
    summary = ws.refresh()
    assert summary.correction_orphans == [f"line 2: fact {fact['fact_id']}", "line 3: fact 0123456789abcdef"]
    run = ws.runs().iloc[-1]
    assert (run["correction_orphans"], run["corrections_applied"]) == (2, 0)
    rejected = ws.table("rejected_inputs")
    orphans = rejected[rejected["reason"] == "correction_orphan"]
    assert sorted(orphans["file"]) == ["corrections.csv line 2", "corrections.csv line 3"]
    assert list(ws.table("corrections", "line")["outcome"]) == ["orphan", "orphan"]


def test_a_correction_that_would_break_the_fact_is_refused_and_the_fact_kept_as_extracted(ws: Workspace) -> None:
    fact = pick(ws, 0, 0)
    ws.write_corrections([line(fact["fact_id"], value_high=str(fact["value"] / 2))])
    ws.refresh()
    after = ws.facts().set_index("fact_id").loc[fact["fact_id"]]
    assert after["status"] == fact["status"] and after["value"] == fact["value"]
    rejected = ws.table("rejected_inputs").set_index("file")
    assert "would be below value" in rejected.loc["corrections.csv line 2", "detail"]


def test_the_shipped_corrections_are_valid_and_all_apply_to_the_seed(seed_run) -> None:
    reference = load_reference()
    corrections, problems = load_corrections(CORRECTIONS_PATH, reference)
    assert problems == []
    assert len(corrections) >= 1
    summary = seed_run["summary"]
    assert summary.correction_orphans == [], "a shipped correction points at a fact the seed no longer yields"
    assert summary.corrections_applied == len(corrections)
