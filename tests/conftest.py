"""Shared fixtures: the seed articles run through the real pipeline into a real SQLite database (and what the
tests read of it), a private workspace for the jobs, the dashboard's repository on the seed data, and
databases on both backends (`db_url` is parametrised over SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from dashboard import repository
from etl.jobs.refresh import run
from etl.paths import RAW_DIR
from tests.pgserver import PgServer, create_database, drop_database, find_pg_bin, psycopg_connect
from tests.refresh_workspace import Workspace


@pytest.fixture(scope="session")
def seed_run(tmp_path_factory) -> dict:
    """The five seed articles extracted once per test session: raw copy, curated dir, db URL, summary."""
    base = tmp_path_factory.mktemp("seed")
    raw, curated = base / "raw", base / "curated"
    shutil.copytree(RAW_DIR, raw)
    curated.mkdir()
    db_url = f"sqlite:///{curated / 'talent.sqlite'}"
    summary = run(raw, curated, db_url)
    return {"raw": raw, "curated": curated, "db_url": db_url, "summary": summary}


@pytest.fixture(scope="session")
def seed_db_url(seed_run) -> str:
    return seed_run["db_url"]


@pytest.fixture(scope="module")
def db_facts(seed_db_url) -> pd.DataFrame:
    """The seed database's current facts (neither rejected nor retired), read without the product's code."""
    with create_engine(seed_db_url).connect() as conn:
        return pd.read_sql(text("SELECT * FROM facts WHERE status NOT IN ('rejected', 'retired')"), conn)


@pytest.fixture
def ws(tmp_path) -> Iterator[Workspace]:
    """A private raw folder, curated folder and database, after one full run; any process its `cli` started
    is stopped afterwards, whatever the test's outcome."""
    workspace = Workspace(tmp_path / "ws")
    workspace.run()
    yield workspace
    workspace.stop_all()


@pytest.fixture(scope="module")
def repo(seed_db_url) -> repository.Repository:
    """A dashboard repository of its own on the seed database."""
    return repository.Repository(seed_db_url)


@pytest.fixture(scope="module")
def seed_repository(seed_db_url):
    """Point the process-wide repository (what the app uses) at the seed database, for a test module."""
    repo = repository.use_database(seed_db_url)
    yield repo
    repository.use_database(None)


@pytest.fixture
def raw_copy(tmp_path) -> Path:
    """A private copy of data/raw a test may add bad files to."""
    target = tmp_path / "raw"
    shutil.copytree(RAW_DIR, target)
    return target


# ---------------------------------------------------------------------------------------------------------
# PostgreSQL: `db_url` runs a test against SQLite and PostgreSQL; `pg_url` against PostgreSQL only.
#
# The server comes from DATABASE_URL_TEST (what .ci/run exports), else a throwaway server is started from
# Debian's binaries (initdb/pg_ctl) for the session. Without either the PostgreSQL cases are skipped with
# the reason, except under CI=true, where a missing server fails them: CI must never skip them silently.

PG_HELP = ("set DATABASE_URL_TEST=postgresql://user@host:port/db, or install Debian's postgresql "
           "(initdb and pg_ctl in /usr/lib/postgresql/*/bin) so the tests can start a throwaway server")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL not available: {reason}; {PG_HELP}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run, not skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _no_ambient_database_url():
    """Tests name their databases explicitly; a developer's DATABASE_URL must never be written to."""
    saved = os.environ.pop("DATABASE_URL", None)
    yield
    if saved is not None:
        os.environ["DATABASE_URL"] = saved


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """Admin URL of a PostgreSQL server for this session (DATABASE_URL_TEST, or a throwaway server)."""
    given = os.environ.get("DATABASE_URL_TEST", "").strip()
    if given:
        try:
            with psycopg_connect(given):
                pass
        except Exception as exc:  # noqa: BLE001 - any failure to connect means no server
            _pg_unavailable(f"cannot connect to DATABASE_URL_TEST ({exc})")
        yield given
        return
    if find_pg_bin() is None:
        _pg_unavailable("no DATABASE_URL_TEST and no PostgreSQL server binaries")
    try:
        server = PgServer.start()
    except Exception as exc:  # noqa: BLE001
        _pg_unavailable(f"could not start a throwaway server ({exc})")
    try:
        yield server.url()
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server_url) -> str:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards), as a postgresql:// URL."""
    try:
        url = create_database(pg_server_url)
    except Exception:  # noqa: BLE001 - no CREATEDB right: empty the given database instead
        _reset_database(pg_server_url)
        yield pg_server_url
        _reset_database(pg_server_url)
        return
    try:
        yield url
    finally:  # WITH (FORCE) also ends connections an engine of the test still holds
        drop_database(pg_server_url, url.rsplit("/", 1)[1])


def _reset_database(url: str) -> None:
    """Drop every table in the public schema of `url`."""
    with psycopg_connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """An empty database URL: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'talent.sqlite'}"
    return request.getfixturevalue("pg_url")
