"""Two articles on the same figure: both facts stay, the fact_conflicts view says whether they agree."""

from __future__ import annotations

from pathlib import Path

from etl.jobs.refresh import update
from etl.paths import resolve_db_url
from etl.store.conflicts import read_conflicts
from etl.store.schema import make_engine
from tests.refresh_workspace import Workspace

JIAXING = "330400"


def test_two_articles_that_disagree_are_marked_and_both_facts_kept(tmp_path: Path, db_url: str) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.add_article("100_reprint.txt", ws.copy_of_seed(0, "（转载）").replace("129.07万", "130.00万"))
    url = resolve_db_url(db_url)
    update(ws.options(db_url=url, full=True, kind="run"))
    engine = make_engine(url)
    conflicts = read_conflicts(engine)
    engine.dispose()

    disagree = conflicts[conflicts["kind"] == "disagree"]
    talent = disagree[(disagree["region_code"] == JIAXING) & (disagree["indicator_code"] == "talent_total")]
    assert len(talent) == 1
    row = talent.iloc[0]
    assert (row["n_facts"], row["n_articles"], row["n_distinct_values"]) == (2, 2, 2)
    assert (row["min_value"], row["max_value"]) == (1290700.0, 1300000.0)
    assert len(row["fact_ids"].split("|")) == 2
    agree = conflicts[conflicts["kind"] == "agree"]
    assert len(agree) > 5, "the reprint repeats the other figures: two sources agree"
    assert (agree["n_distinct_values"] == 1).all()
    assert "talent_total" not in set(agree[agree["region_code"] == JIAXING]["indicator_code"])
    assert not conflicts["indicator_code"].str.startswith("other_").any(), "unnamed figures are not compared"


def test_a_rejected_fact_no_longer_counts_as_a_source(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.add_article("100_reprint.txt", ws.copy_of_seed(0, "（转载）").replace("129.07万", "130.00万"))
    ws.run()
    facts = ws.facts()
    reprinted = facts[(facts["article_id"] == "100_reprint") & (facts["indicator_code"] == "talent_total")]
    ws.write_corrections([{"fact_id": reprinted.iloc[0]["fact_id"], "action": "reject",
                           "reason": "misprint in the reprint", "analyst": "王芳"}])
    assert ws.refresh().outcome == "success"
    conflicts = ws.table("fact_conflicts")
    assert conflicts[(conflicts["region_code"] == JIAXING) & (conflicts["indicator_code"] == "talent_total")].empty
    assert (ws.facts()["fact_id"] == reprinted.iloc[0]["fact_id"]).any(), "the rejected fact is kept, marked"
