"""The refresh job as real processes on a real SQLite file: killed mid-publish, started twice, scheduled."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from etl.jobs.cli import main
from etl.jobs.refresh import PAUSE_ENV, RESUME_ENV
from etl.jobs.schedule import next_run_time
from etl.paths import PROJECT_ROOT
from tests.refresh_workspace import Workspace

PAUSED = "ZJ_TEST: paused before commit"
PATIENCE = 240  # seconds any process may take to get where a test waits for it, on a loaded machine
UNCHANGED_BY_A_KILL = ("facts", "articles", "article_inputs", "runs", "rejected_inputs", "facts_history")


def wait_for_line(proc: subprocess.Popen, text: str, timeout: float = PATIENCE) -> None:
    """Read the process's stderr until a line containing `text`; fail with what it said instead."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    said, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        said.append(line)
        if text in line:
            return
    pytest.fail(f"no {text!r} from the process (exit {proc.poll()}): {''.join(said)[-2000:]}")


def snapshot(ws: Workspace) -> dict[str, pd.DataFrame]:
    return {name: ws.table(name) for name in UNCHANGED_BY_A_KILL}


def test_a_refresh_killed_inside_its_transaction_publishes_nothing_and_the_next_one_completes(ws: Workspace
                                                                                              ) -> None:
    ws.add_article("100_new.txt", ws.copy_of_seed(0, "附记 100"))
    before = snapshot(ws)
    proc = ws.cli("refresh", env={PAUSE_ENV: "60"})
    try:
        wait_for_line(proc, PAUSED)
        during = snapshot(ws)  # what the dashboard sees while the refresh holds its transaction open
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    for name, frame in before.items():
        pd.testing.assert_frame_equal(during[name], frame, obj=f"{name} while the refresh was paused")
        pd.testing.assert_frame_equal(ws.table(name), frame, obj=f"{name} after the kill")
    assert list(ws.table("locks")["pid"]) == [proc.pid], "the dead refresh's lock row is left behind"

    summary = ws.refresh()
    assert summary.outcome == "success" and summary.articles_added == 1
    assert f"pid {proc.pid}" in summary.message, "the next refresh says whose lock it took over"
    assert "100_new" in set(ws.facts()["article_id"])
    assert ws.table("locks").empty


def test_a_refresh_stopped_with_sigterm_rolls_back_and_leaves_no_lock_or_scratch_files(ws: Workspace,
                                                                                         tmp_path: Path) -> None:
    ws.add_article("100_new.txt", ws.copy_of_seed(0, "附记 100"))
    before = snapshot(ws)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = ws.cli("refresh", env={PAUSE_ENV: "60", "TMPDIR": str(scratch)})
    try:
        wait_for_line(proc, PAUSED)
        assert list(scratch.glob("zj-spool-*")), "the batches wait in the scratch folder until the commit"
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    for name, frame in before.items():
        pd.testing.assert_frame_equal(ws.table(name), frame, obj=f"{name} after SIGTERM")
    assert ws.table("locks").empty and not list(scratch.iterdir())
    assert ws.refresh().articles_added == 1


def test_two_refreshes_at_once_one_publishes_and_the_others_skip_or_wait(ws: Workspace, tmp_path: Path) -> None:
    ws.add_article("100_new.txt", ws.copy_of_seed(0, "附记 100"))
    resume = tmp_path / "resume"
    first = ws.cli("refresh", env={PAUSE_ENV: str(PATIENCE), RESUME_ENV: str(resume)})
    wait_for_line(first, PAUSED)  # it holds the lock until we let it go on
    impatient = ws.cli("refresh")
    wait_for_line(impatient, "refresh not started")  # it found the lock taken; it records that once first commits
    patient = ws.cli("refresh", "--wait", str(PATIENCE))
    resume.touch()
    for proc in (first, impatient, patient):
        proc.wait(timeout=PATIENCE)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    runs = ws.runs().iloc[1:]
    assert sorted(runs["outcome"]) == ["nothing_new", "skipped", "success"]
    assert runs["finished_at"].notna().all()
    skipped = runs[runs["outcome"] == "skipped"].iloc[0]
    assert any(f"pid {p.pid}" in skipped["message"] for p in (first, patient)), "it names the holder"
    facts = ws.facts()
    assert facts["fact_id"].is_unique and (facts["article_id"] == "100_new").sum() > 0
    assert ws.table("locks").empty


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c, started in the background", "sigterm"])
def test_the_schedule_runs_the_refresh_in_its_own_process(ws: Workspace, stop: signal.Signals) -> None:
    """The clock stops on Ctrl-C even when started as `… &` from a script (which starts it with SIGINT
    ignored), and on the SIGTERM a process manager sends."""
    ws.add_article("100_new.txt", ws.copy_of_seed(0, "附记 100"))
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN) if stop == signal.SIGINT else None
    try:
        clock = ws.cli("schedule", "--now", "--cron", "0 6 * * *")
    finally:
        if inherited is not None:
            signal.signal(signal.SIGINT, inherited)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline and len(ws.runs()) < 2 and clock.poll() is None:
        time.sleep(0.3)
    clock.send_signal(stop)  # stopped here or, if anything above fails, by the ws fixture
    assert clock.wait(timeout=PATIENCE) == 0, clock.stderr.read()
    assert f"{stop.name}: the schedule stops" in clock.stderr.read()
    run = ws.runs().iloc[-1]
    assert (run["kind"], run["outcome"], run["articles_added"]) == ("refresh", "success", 1)


def test_next_run_time_follows_refresh_cron(monkeypatch) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2025, 3, 1, 7, 0, tzinfo=shanghai)
    monkeypatch.delenv("REFRESH_CRON", raising=False)
    assert next_run_time(now) == datetime(2025, 3, 2, 6, 0, tzinfo=shanghai), "default: daily at 06:00 Shanghai"
    monkeypatch.setenv("REFRESH_CRON", "30 7 * * *")
    assert next_run_time(now) == datetime(2025, 3, 1, 7, 30, tzinfo=shanghai)
    monkeypatch.setenv("REFRESH_CRON", "not a cron line")
    assert next_run_time(now) is None
    monkeypatch.setenv("REFRESH_CRON", "off")
    assert next_run_time(now) is None


def test_migrate_creates_and_upgrades_the_schema_and_can_run_twice(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # a database from before the run log had correction counters
        conn.execute("CREATE TABLE runs (run_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL, "
                     "outcome TEXT NOT NULL)")
        conn.execute("INSERT INTO runs (kind, started_at, outcome) VALUES ('run', '2024-01-01', 'success')")
    for _ in range(2):
        assert main(["migrate", "--db", f"sqlite:///{path}"]) == 0
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        views = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        kept = conn.execute("SELECT corrections_applied, outcome FROM runs").fetchall()
    assert {"corrections_applied", "correction_orphans"} <= columns
    assert "fact_conflicts" in views
    assert {"facts", "facts_history", "locks", "article_inputs", "corrections"} <= tables
    assert kept == [(0, "success")]


def test_migrate_builds_an_index_added_since_the_database_was_made(ws: Workspace) -> None:
    with sqlite3.connect(ws.db_path) as conn:
        conn.execute("DROP INDEX ix_facts_summary")
    assert main(["migrate", "--db", ws.db_url]) == 0
    with sqlite3.connect(ws.db_path) as conn:
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT source_kind, family, count(*) FROM facts "
                            "GROUP BY source_kind, family").fetchall()
    assert "COVERING INDEX ix_facts_summary" in plan[-1][-1], "the run summary reads the index, not the table"
    assert ws.refresh().facts_total == len(ws.facts())


def test_a_start_on_a_current_database_checks_little_but_restores_a_missing_table(ws: Workspace) -> None:
    from etl.store.schema import make_engine, schema_is_current

    engine = make_engine(ws.db_url)
    try:
        assert schema_is_current(engine)
        with sqlite3.connect(ws.db_path) as conn:
            conn.execute("DROP TABLE crosscheck")
        assert not schema_is_current(engine)
        assert ws.refresh().outcome in ("success", "nothing_new")
        assert schema_is_current(engine)
    finally:
        engine.dispose()


def test_the_procfile_runs_the_schedule_and_migrates_on_release() -> None:
    procfile = (PROJECT_ROOT / "Procfile").read_text(encoding="utf-8")
    assert "clock: python -m etl schedule" in procfile
    assert "release: python -m etl migrate" in procfile
