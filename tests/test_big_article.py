"""A 5 MB article on one line no longer takes down the workbook or the dashboard.

It once became a 1.7-million-character title copied into every one of its facts: the export ran past 300 s
and 7.8 GB, the dashboard's snapshot failed with MemoryError. By default such a file is set aside (see
tests/jobs/test_inputs.py); here the limit is raised so that it is read, and the export and the dashboard's
data load, each in a process of its own, must stay near the memory they need for the seed articles alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from etl.extract.sources import TITLE_MAX_CHARS, InputLimits
from etl.jobs.refresh import run
from etl.paths import PROJECT_ROOT, RAW_DIR
from etl.workbook.layout import SHEET_FACTS, SHEET_SOURCES

MARGIN_MB = 150  # room for what 700 more facts add to a process's peak; the title copied per fact added gigabytes
FILLER = "人才是第一资源，创新是第一动力，各地持续优化人才发展环境。"

MEASURE = """
import json, sys
from pathlib import Path
what, db = sys.argv[1], sys.argv[2]
if what == "export":
    from etl.workbook.export import export_to_file
    export_to_file(db, Path(sys.argv[3]))
else:
    from dashboard.repository import Repository, facts_for
    from dashboard.urlstate import ViewState
    repo = Repository(db)
    repo.snapshot(wait=True)
    facts_for(repo, ViewState(search="人才"), with_search=True)
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
print(json.dumps({"peak_mb": int(status["VmHWM"].split()[0]) / 1024}))  # this process's own peak
"""


def one_line_article() -> str:
    """A seed article with its line breaks removed, twenty times over, then padding to 5 MB: one line."""
    seed = (RAW_DIR / "001_c97fb4016c467cf9.txt").read_text(encoding="utf-8").replace("\n", "")
    body = seed * 20
    return body + FILLER * ((5_000_000 - len(body.encode())) // len(FILLER.encode()) + 1)


def peak_mb(what: str, db_url: str, out: Path) -> float:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-c", MEASURE, what, db_url, str(out)], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"]


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("big")
    raw = base / "raw"
    shutil.copytree(RAW_DIR, raw)
    (raw / "oneline.txt").write_text(one_line_article(), encoding="utf-8")
    db_url = f"sqlite:///{base / 'talent.sqlite'}"
    summary = run(raw, base / "curated", db_url, limits=InputLimits(8))
    return {"base": base, "db_url": db_url, "summary": summary}


@pytest.mark.slow
def test_the_one_line_article_is_read_as_text_with_a_title_of_its_first_sentence(big: dict) -> None:
    assert big["summary"].articles_read == 6
    with create_engine(big["db_url"]).connect() as conn:
        article = pd.read_sql(text("SELECT * FROM articles WHERE article_id = 'oneline'"), conn).iloc[0]
        longest_quote = conn.execute(text("SELECT max(length(quote)) FROM facts")).scalar_one()
    assert article["n_facts"] > 500 and article["n_chars"] > 1_600_000
    assert article["title"].startswith("嘉兴激活人才引擎") and len(article["title"]) <= TITLE_MAX_CHARS
    assert longest_quote <= 500


@pytest.mark.slow
def test_the_export_and_the_dashboard_stay_within_their_usual_memory(big: dict, seed_db_url: str) -> None:
    base = big["base"]
    usual = {what: peak_mb(what, seed_db_url, base / "seed.xlsx") for what in ("export", "dashboard")}
    with_big = {what: peak_mb(what, big["db_url"], base / "big.xlsx") for what in ("export", "dashboard")}
    for what, peak in with_big.items():
        assert peak < usual[what] + MARGIN_MB, f"{what}: {peak:.0f} MB with the big article, {usual[what]:.0f} MB without"
    workbook = load_workbook(base / "big.xlsx", read_only=True)
    try:
        longest = max(len(str(cell)) for name in (SHEET_FACTS, SHEET_SOURCES)
                      for row in workbook[name].iter_rows(values_only=True) for cell in row if cell)
    finally:
        workbook.close()
    assert longest <= 2 * 500, "no cell holds more than a quote (the title is capped, the quote is a sentence)"
