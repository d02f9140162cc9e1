"""The refresh job: incremental, equal to a run from scratch, logged, robust to bad input and to repeats."""

from __future__ import annotations

import filecmp
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update

from etl.jobs import outputs, staging
from etl.jobs.plan import WORKBOOK_NAME, Options
from etl.jobs.refresh import run
from etl.paths import CURATED_DIR, RAW_DIR
from etl.store import csv_pieces
from etl.store.schema import locks, make_engine
from tests.refresh_workspace import Workspace, comparable, record_extracted

STABLE_TABLES = {  # table → key; columns that record when something happened are not compared
    "facts": ("fact_id", ()),
    "articles": ("article_id", ()),
    "derived_facts": ("fact_id", ()),
    "crosscheck": ("article_fact_id", ()),
    "corrections": ("line", ()),
    "rejected_inputs": (["file", "reason"], ("id", "detected_at", "detail")),  # details name the folder
}


def test_a_refresh_with_nothing_new_does_nothing_and_says_so(ws: Workspace) -> None:
    before = ws.facts()
    summary = ws.refresh()
    assert summary.outcome == "nothing_new"
    assert summary.message.startswith("nothing new")
    assert ws.facts().equals(before)
    runs = ws.runs()
    assert list(runs["kind"]) == ["run", "refresh"]
    assert list(runs["outcome"]) == ["success", "nothing_new"]
    assert runs["finished_at"].notna().all()
    assert list(runs["facts_total"]) == [len(before), len(before)]


def test_only_new_and_changed_articles_are_extracted(ws: Workspace, monkeypatch) -> None:
    extracted = record_extracted(monkeypatch)
    ws.add_article("100_new.txt", ws.copy_of_seed(0, "附记 100"))
    summary = ws.refresh()
    assert extracted == ["100_new"]
    assert (summary.outcome, summary.articles_added, summary.articles_changed) == ("success", 1, 0)
    assert summary.facts_added == (ws.facts()["article_id"] == "100_new").sum() > 0
    extracted.clear()
    assert ws.refresh().outcome == "nothing_new"
    assert extracted == []


def test_a_changed_article_replaces_its_own_facts_and_history_keeps_the_old_ones(ws: Workspace) -> None:
    before = ws.facts()
    target = ws.seed_files()[3]
    article_id = target.stem
    target.write_text(target.read_text(encoding="utf-8") + "\n截至目前，衢州市人才资源总量达88.8万人。\n",
                      encoding="utf-8")
    summary = ws.refresh()
    after = ws.facts()
    old, new = before[before["article_id"] == article_id], after[after["article_id"] == article_id]
    assert len(new) > 0 and set(new["fact_id"]).isdisjoint(old["fact_id"]), "a new text means new fact ids"
    others_before = before[before["article_id"] != article_id].reset_index(drop=True)
    others_after = after[after["article_id"] != article_id].reset_index(drop=True)
    pd.testing.assert_frame_equal(others_before, others_after)
    history = ws.table("facts_history")
    assert set(history["fact_id"]) == set(old["fact_id"])
    assert set(history["retired_reason"]) == {"article_changed"}
    assert set(history["retired_run_id"]) == {summary.run_id}
    assert (summary.articles_changed, summary.facts_retired, summary.facts_added) == (1, len(old), len(new))


def test_a_removed_article_is_retired_into_history_not_deleted(ws: Workspace) -> None:
    gone = ws.seed_files()[2]
    article_id = gone.stem
    old = ws.facts().query("article_id == @article_id")
    gone.unlink()
    summary = ws.refresh()
    assert article_id not in set(ws.facts()["article_id"])
    assert article_id not in set(ws.table("articles")["article_id"])
    history = ws.table("facts_history").query("article_id == @article_id")
    assert sorted(history["fact_id"]) == sorted(old["fact_id"])
    assert set(history["retired_reason"]) == {"article_removed"}
    run = ws.runs().iloc[-1]
    assert (run["articles_removed"], run["facts_retired"], run["outcome"]) == (1, len(old), "success")
    assert summary.articles_removed == 1
    reasons = set(ws.table("rejected_inputs")["reason"])
    assert "manifest_file_missing" in reasons, "the manifest still lists the removed file"


def test_bad_inputs_are_set_aside_and_the_rest_of_the_batch_lands(ws: Workspace) -> None:
    ws.add_article("100_gbk.txt", ws.copy_of_seed(1, "附记：GBK 编码"), encoding="gbk")
    ws.add_article("101_good.txt", ws.copy_of_seed(2, "附记 101"))
    (ws.raw / "102_empty.txt").write_bytes(b"")
    (ws.raw / "103_binary.txt").write_bytes(b"\x00\x01\x02PK" * 100)
    with (ws.raw / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write("104_bad.txt,only three,fields\n")
    summary = ws.refresh()
    assert summary.outcome == "success"
    assert summary.articles_added == 2
    articles = ws.table("articles").set_index("article_id")
    assert articles.loc["100_gbk", "encoding"] == "gb18030"
    assert {"100_gbk", "101_good"} <= set(ws.facts()["article_id"])
    rejected = ws.table("rejected_inputs")
    by_reason = dict(zip(rejected["reason"], rejected["file"], strict=False))
    assert by_reason["empty"] == "102_empty.txt"
    assert by_reason["binary"] == "103_binary.txt"
    assert by_reason["manifest_row_malformed"].startswith("manifest.csv line")


@pytest.fixture(params=["one batch", "batches of one article"])
def batching(request, monkeypatch) -> str:
    """Big jobs run in batches, recompute the per-capita tables whole and rewrite CSV files piece by piece;
    the second setting takes those paths with the five seed articles."""
    if request.param != "one batch":
        monkeypatch.setenv(staging.BATCH_ENV, "1")
        monkeypatch.setattr(staging, "PATCH_LIMIT", 0)
        monkeypatch.setattr(outputs, "SPLICE_LIMIT", 0)
    return request.param


def assert_same_outputs(a: Workspace, b: Workspace) -> None:
    for name, (key, drop) in STABLE_TABLES.items():
        pd.testing.assert_frame_equal(comparable(a.table(name), key, drop), comparable(b.table(name), key, drop),
                                      obj=name)
    for name in ("facts.csv", "articles.csv", "derived_facts.csv", "crosscheck.csv", "regions.csv",
                 "indicators.csv", "corrections.csv"):
        assert filecmp.cmp(a.curated / name, b.curated / name, shallow=False), name


def test_a_run_in_batches_of_one_article_equals_a_run_in_one_batch(tmp_path: Path, monkeypatch) -> None:
    whole = Workspace(tmp_path / "whole")
    whole.run()
    monkeypatch.setenv(staging.BATCH_ENV, "1")
    batched = Workspace(tmp_path / "batched")
    summary = batched.run()
    assert summary.facts_added == len(whole.facts()) == len(batched.facts())
    assert_same_outputs(whole, batched)
    assert batched.run().outcome == "nothing_new", "a second run finds the whole per-capita tables unchanged"


def test_csv_files_formatted_on_worker_processes_are_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    """Two workers read back and format the CSV pieces (one article each) while the run writes them in order."""
    whole = Workspace(tmp_path / "whole")
    whole.run()
    submitted: list[str] = []

    class CountingPool(ProcessPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            submitted.append(args[1])
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(csv_pieces, "ProcessPoolExecutor", CountingPool)
    monkeypatch.setenv(staging.BATCH_ENV, "1")
    monkeypatch.setenv("ZJ_WORKERS", "2")
    parallel = Workspace(tmp_path / "parallel")
    parallel.run()
    assert submitted.count("facts") == whole.facts()["article_id"].nunique() > 1
    assert_same_outputs(whole, parallel)


def test_a_sequence_of_refreshes_equals_one_run_from_scratch(tmp_path: Path, batching: str) -> None:
    inc = Workspace(tmp_path / "inc")
    inc.run()
    seed = inc.seed_files()
    inc.add_article("100_copy.txt", inc.copy_of_seed(0, "附记 100").replace("129.07万", "130.00万"))
    inc.add_article("101_copy.txt", inc.copy_of_seed(4, "附记 101"), published="2024-09")
    assert inc.refresh().outcome == "success"
    seed[2].unlink()
    seed[3].write_text(seed[3].read_text(encoding="utf-8") + "\n附记：补充一句。\n", encoding="utf-8")
    manifest = (inc.raw / "manifest.csv").read_text(encoding="utf-8")
    (inc.raw / "manifest.csv").write_text(manifest.replace(f"{seed[4].name},", f"{seed[4].name},Retitled ", 1),
                                          encoding="utf-8")
    assert inc.refresh().outcome == "success"
    assert inc.refresh().outcome == "nothing_new"

    (tmp_path / "full").mkdir()
    shutil.copytree(inc.raw, tmp_path / "full" / "raw")
    full = Workspace(tmp_path / "full")
    full.run()
    assert_same_outputs(inc, full)


def test_csv_files_that_lag_behind_the_database_are_written_again(ws: Workspace) -> None:
    written = (ws.curated / "facts.csv").read_bytes()
    (ws.curated / "facts.csv").unlink()
    summary = ws.refresh()
    assert summary.outcome == "nothing_new"
    assert (ws.curated / "facts.csv").read_bytes() == written
    assert "CSV files written: facts" in summary.message


def test_a_lock_held_elsewhere_is_respected_until_its_heartbeat_goes_stale(ws: Workspace) -> None:
    now = datetime.now(UTC)
    ws.hold_lock_elsewhere(now)
    engine = make_engine(ws.db_url)
    skipped = ws.refresh()
    assert skipped.outcome == "skipped"
    assert "other-host" in skipped.message
    with engine.begin() as conn:
        conn.execute(update(locks).values(heartbeat_at=now - timedelta(hours=2)))
    engine.dispose()
    taken = ws.refresh()
    assert taken.outcome == "nothing_new"
    assert "took over the lock" in taken.message and "other-host" in taken.message
    assert ws.table("locks").empty, "the lock is released after the run"


def test_a_refresh_that_changes_data_replaces_the_workbook(ws: Workspace) -> None:
    workbook = ws.exports / WORKBOOK_NAME
    first = ws.refresh(export=True)
    assert first.outcome == "nothing_new" and workbook.exists(), "a missing workbook is written even so"
    written = workbook.stat().st_mtime_ns
    assert ws.refresh(export=True).outcome == "nothing_new"
    assert workbook.stat().st_mtime_ns == written, "an up-to-date workbook is left alone"
    ws.add_article("100_new.txt", ws.copy_of_seed(0, "附记 100"))
    changed = ws.refresh(export=True)
    assert changed.outcome == "success" and changed.workbook == str(workbook)
    assert workbook.stat().st_mtime_ns > written
    assert not [p for p in ws.exports.iterdir() if p.name != workbook.name], "no temporary files left behind"


def test_export_dir_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EXPORT_DIR", str(tmp_path / "officials"))
    assert Options(curated_dir=tmp_path).workbook_path() == tmp_path / "officials" / "zj_talent_latest.xlsx"
    monkeypatch.delenv("EXPORT_DIR")
    assert Options(curated_dir=tmp_path).workbook_path() == tmp_path / "exports" / "zj_talent_latest.xlsx"


def test_the_lock_heartbeat_is_renewed_while_held_and_the_row_removed_on_release(ws: Workspace,
                                                                                   monkeypatch) -> None:
    from etl.store import locking

    monkeypatch.setattr(locking, "HEARTBEAT_SECONDS", 0.1)
    engine = make_engine(ws.db_url)
    lock = locking.DatabaseLock(engine).acquire()
    try:
        first = lock.holder().heartbeat_at
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while lock.holder().heartbeat_at == first and datetime.now(UTC) < deadline:
            time.sleep(0.05)
        assert lock.holder().heartbeat_at > first
        with pytest.raises(locking.LockBusy, match="pid"):
            locking.DatabaseLock(engine).acquire(wait=0.2)
    finally:
        lock.release()
    assert lock.holder() is None
    engine.dispose()


def test_a_run_started_by_hand_fails_loudly_when_the_lock_stays_held(ws: Workspace) -> None:
    from etl.store.locking import LockBusy

    ws.hold_lock_elsewhere(datetime.now(UTC))
    with pytest.raises(LockBusy, match="other-host"):
        ws.run(lock_wait=0.5)
    assert ws.runs().iloc[-1]["outcome"] == "skipped"


def test_a_first_run_on_a_fresh_clone_leaves_the_committed_curated_files_as_they_are(tmp_path: Path) -> None:
    """`python -m etl run` on a fresh clone: a new database, the committed CSV files in place. A known
    problem keeps the time it was first seen (the file carries it), so no committed file changes."""
    curated = tmp_path / "curated"
    shutil.copytree(CURATED_DIR, curated, ignore=shutil.ignore_patterns("*.sqlite*", ".*", "exports"))
    committed = {p.name: p.read_bytes() for p in curated.glob("*.csv")}
    assert "rejected_inputs.csv" in committed
    run(RAW_DIR, curated, f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    changed = [name for name, data in committed.items() if (curated / name).read_bytes() != data]
    assert not changed, f"regenerate and commit data/curated (python -m etl run): {changed} differ"


def test_a_new_problem_is_dated_now_and_a_known_one_keeps_its_first_time(ws: Workspace) -> None:
    first = ws.table("rejected_inputs").set_index("file")["detected_at"]
    (ws.raw / "empty.txt").write_bytes(b"")
    ws.db_path.unlink()  # a rebuilt database: only the curated file remembers the known problems
    ws.run()
    again = ws.table("rejected_inputs").set_index("file")["detected_at"]
    assert {f: str(again[f]) for f in first.index} == {f: str(first[f]) for f in first.index}
    assert pd.Timestamp(again["empty.txt"]) > pd.Timestamp(first.max())
