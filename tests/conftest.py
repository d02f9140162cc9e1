"""Shared fixtures: the seed articles run through the real pipeline into a real SQLite database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.paths import RAW_DIR
from etl.pipeline import run


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


@pytest.fixture
def raw_copy(tmp_path) -> Path:
    """A private copy of data/raw a test may add bad files to."""
    target = tmp_path / "raw"
    shutil.copytree(RAW_DIR, target)
    return target
