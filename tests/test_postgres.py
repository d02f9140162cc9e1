"""PostgreSQL works wherever SQLite does: run, migrate, refresh, export, dashboard, the Procfile.

The `db_url` cases run on both backends; `pg_url` cases on PostgreSQL only. Without a server they are
skipped with the reason (see tests/conftest.py), and under CI=true they fail instead of skipping.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from etl.jobs.refresh import run
from etl.paths import PROJECT_ROOT, RAW_DIR, resolve_db_url
from etl.store.schema import ensure_schema, make_engine, metadata
from tests.processes import free_port, stop


def engine_for(url: str):
    return make_engine(resolve_db_url(url))


def table_counts(url: str, names=("facts", "articles", "regions", "indicators")) -> dict[str, int]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {n: conn.execute(text(f"SELECT count(*) FROM {n}")).scalar_one() for n in names}
    finally:
        engine.dispose()


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m <args>` from the project root, with DATABASE_URL only if the test gives one."""
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_ROOT, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def etl_commands() -> set[str]:
    """The sub-commands `python -m etl` offers (other engineers add refresh, schedule, export, migrate)."""
    from etl.jobs.cli import build_parser

    parser = build_parser()
    for action in parser._actions:  # noqa: SLF001 - argparse keeps sub-parsers here
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            return set(action.choices)
    return set()


def missing_indexes(url: str) -> dict[str, set[str]]:
    """Declared indexes of the bulk-loaded tables that the database lacks, by table."""
    engine = engine_for(url)
    try:
        present = inspect(engine)
        gaps = {name: {ix.name for ix in metadata.tables[name].indexes}
                - {ix["name"] for ix in present.get_indexes(name)}
                for name in ("facts", "facts_history", "derived_facts")}
        return {name: gap for name, gap in gaps.items() if gap}
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------ URL handling

@pytest.mark.parametrize("given, expected", [
    ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
])
def test_database_urls_name_the_psycopg_driver(given: str, expected: str) -> None:
    assert resolve_db_url(given) == expected


def test_db_flag_beats_database_url_beats_default(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env@h/db")
    assert resolve_db_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    assert resolve_db_url(None) == "postgresql+psycopg://env@h/db"
    monkeypatch.delenv("DATABASE_URL")
    assert resolve_db_url(None, tmp_path).startswith("sqlite:///")


# ------------------------------------------------------------------------------------ both backends

def test_second_start_never_fails(db_url: str, tmp_path) -> None:
    """ensure_schema and a full run twice on the same database: same tables, no error, no duplicates."""
    engine = engine_for(db_url)
    try:
        ensure_schema(engine)
        ensure_schema(engine)
        assert {"facts", "articles", "regions", "indicators", "runs", "schema_info"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    first = run(RAW_DIR, tmp_path / "c1", resolve_db_url(db_url))
    assert missing_indexes(db_url) == {}, "a first load builds the indexes it deferred"
    second = run(RAW_DIR, tmp_path / "c2", resolve_db_url(db_url))
    assert first.facts_total == second.facts_total > 0
    assert table_counts(db_url)["facts"] == first.facts_total
    assert missing_indexes(db_url) == {}


def test_concurrent_first_starts_do_not_collide(db_url: str) -> None:
    """release, web and clock may all start on an empty database: concurrent schema creation succeeds."""
    code = ("import sys; from etl.store.schema import ensure_schema, make_engine; from etl.paths import resolve_db_url; "
            "ensure_schema(make_engine(resolve_db_url(sys.argv[1])))")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], cwd=PROJECT_ROOT, env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.stderr.read() for p in procs if p.wait(timeout=120) != 0]
    assert not errors, errors[0][-2000:]


def test_types_round_trip(db_url: str, seed_run, tmp_path) -> None:
    """Dates, booleans, NULLs and Chinese text read back the same from either backend."""
    run(seed_run["raw"], tmp_path / "curated", resolve_db_url(db_url))
    engine, reference = engine_for(db_url), engine_for(seed_run["db_url"])
    try:
        query = "SELECT fact_id, region_name, value, value_high, quote, year FROM facts ORDER BY fact_id"
        ours = pd.read_sql(query, engine)
        theirs = pd.read_sql(query, reference)
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
        regions = pd.read_sql("SELECT code, official FROM regions ORDER BY code", engine)
        assert set(regions["official"].map(bool)) == {True, False}
        published = pd.read_sql("SELECT published FROM articles", engine)["published"]
        assert pd.to_datetime(published).dt.year.between(2000, 2100).all()
    finally:
        engine.dispose()
        reference.dispose()


# -------------------------------------------------------------------------------- PostgreSQL via the CLI

@pytest.mark.postgres
def test_cli_run_takes_database_url(pg_url: str, tmp_path) -> None:
    """The Procfile convention: DATABASE_URL=postgresql://… python -m etl run."""
    done = cli("etl", "run", "--curated", str(tmp_path), env={"DATABASE_URL": pg_url})
    assert done.returncode == 0, done.stderr[-2000:]
    assert table_counts(pg_url)["facts"] > 100
    assert not (tmp_path / "talent.sqlite").exists(), "the run wrote SQLite although DATABASE_URL was set"


@pytest.mark.postgres
def test_cli_db_flag_takes_postgresql(pg_url: str, tmp_path) -> None:
    done = cli("etl", "run", "--curated", str(tmp_path), "--db", pg_url,
               env={"DATABASE_URL": f"sqlite:///{tmp_path / 'not-this.sqlite'}"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert table_counts(pg_url)["facts"] > 100
    assert not (tmp_path / "not-this.sqlite").exists()


@pytest.mark.postgres
def test_migrate_twice(pg_url: str) -> None:
    """`python -m etl migrate` (the Procfile's release step) creates the schema; a second time is a no-op."""
    if "migrate" not in etl_commands():
        pytest.fail("python -m etl migrate does not exist; the Procfile's release step needs it")
    for _ in range(2):
        done = cli("etl", "migrate", env={"DATABASE_URL": pg_url})
        assert done.returncode == 0, done.stderr[-2000:]
    assert {"facts", "runs", "schema_info"} <= set(inspect(engine_for(pg_url)).get_table_names())


@pytest.mark.postgres
def test_refresh_on_postgresql(pg_url: str, raw_copy: Path, tmp_path) -> None:
    """A refresh after a run on PostgreSQL picks up a new article."""
    if "refresh" not in etl_commands():
        pytest.fail("python -m etl refresh does not exist")
    env = {"DATABASE_URL": pg_url}
    assert cli("etl", "run", "--raw", str(raw_copy), "--curated", str(tmp_path), env=env).returncode == 0
    before = table_counts(pg_url)["articles"]
    seed = sorted(raw_copy.glob("*.txt"))[0]
    text_ = seed.read_text(encoding="utf-8").replace("嘉兴", "湖州") + "\n（新增）\n"
    (raw_copy / "999_added.txt").write_text(text_, encoding="utf-8")
    done = cli("etl", "refresh", "--raw", str(raw_copy), "--curated", str(tmp_path), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert table_counts(pg_url)["articles"] == before + 1


@pytest.mark.postgres
def test_export_from_postgresql(pg_url: str, tmp_path) -> None:
    if "export" not in etl_commands():
        pytest.fail("python -m etl export does not exist")
    env = {"DATABASE_URL": pg_url}
    assert cli("etl", "run", "--curated", str(tmp_path), env=env).returncode == 0
    out = tmp_path / "talent.xlsx"
    done = cli("etl", "export", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    from openpyxl import load_workbook

    workbook = load_workbook(out, read_only=True)
    assert workbook.sheetnames


@pytest.mark.postgres
def test_dashboard_reads_postgresql(pg_url: str, tmp_path) -> None:
    run(RAW_DIR, tmp_path, resolve_db_url(pg_url))
    from dashboard.repository import Repository

    snapshot = Repository(pg_url).snapshot(max_age=0)
    assert snapshot.ok, snapshot.message
    current = pd.read_sql("SELECT fact_id, value FROM facts WHERE status NOT IN ('rejected', 'retired')",
                          make_engine(resolve_db_url(pg_url)))
    assert 0 < len(current) < table_counts(pg_url)["facts"]  # the shipped corrections reject one seed fact
    assert sorted(snapshot.facts["fact_id"]) == sorted(current["fact_id"])


# ---------------------------------------------------------------------------------------------- Procfile

def procfile() -> dict[str, str]:
    lines = (PROJECT_ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_procfile_declares_web_clock_release() -> None:
    procs = {k.strip(): v.strip() for k, v in procfile().items()}
    assert set(procs) == {"web", "clock", "release"}
    assert procs["web"].startswith("gunicorn ") and "WEB_CONCURRENCY" in procs["web"] and "dashboard.app:server" in procs["web"]
    assert shlex.split(procs["clock"])[:4] == ["python", "-m", "etl", "schedule"]
    assert shlex.split(procs["release"])[:4] == ["python", "-m", "etl", "migrate"]


@pytest.mark.slow
@pytest.mark.postgres
def test_honcho_runs_release_and_web_against_postgresql(pg_url: str, tmp_path) -> None:
    """`honcho start` with DATABASE_URL: release migrates, gunicorn serves the dashboard from PostgreSQL."""
    pytest.importorskip("honcho")
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "DATABASE_URL": pg_url,
           "PORT": str(port), "WEB_CONCURRENCY": "2", "PYTHONPATH": str(PROJECT_ROOT)}
    release = subprocess.run(["honcho", "run", *shlex.split(procfile()["release"])], cwd=PROJECT_ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert release.returncode == 0, release.stderr[-2000:]
    assert cli("etl", "run", "--curated", str(tmp_path), env={"DATABASE_URL": pg_url}).returncode == 0
    proc = subprocess.Popen(["honcho", "start", "web"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()
    try:
        deadline, status, body = time.monotonic() + 240, None, ""
        while time.monotonic() < deadline and status is None and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
                    status, body = response.status, response.read().decode("utf-8", "replace")
            except OSError:
                time.sleep(0.5)
        assert status == 200, "".join(output)[-3000:]
        assert 'id="login-form"' in body, "gunicorn serves the dashboard behind its sign-in form"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=30)
        assert refused.value.code == 401
    finally:
        stop(proc)
