"""A private raw folder, curated folder, SQLite database and corrections file for refresh tests."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import insert

from etl.curate.corrections import COLUMNS
from etl.jobs import staging
from etl.jobs.batches import RunSummary
from etl.jobs.plan import Options
from etl.jobs.refresh import update
from etl.paths import PROJECT_ROOT, RAW_DIR
from etl.store.schema import locks, make_engine


@dataclass
class Workspace:
    root: Path

    def __post_init__(self) -> None:
        self.raw, self.curated = self.root / "raw", self.root / "curated"
        self.db_path = self.root / "talent.sqlite"
        self.db_url = f"sqlite:///{self.db_path}"
        self.corrections = self.root / "corrections.csv"
        self.exports = self.root / "exports"
        self.started: list[subprocess.Popen] = []
        if not self.raw.exists():
            shutil.copytree(RAW_DIR, self.raw)
        if not self.corrections.exists():
            self.write_corrections([])

    # --- the jobs -------------------------------------------------------------------------------------------

    def options(self, **changes) -> Options:
        base = dict(raw_dir=self.raw, curated_dir=self.curated, db_url=self.db_url,
                    corrections_path=self.corrections, export_dir=self.exports, export=False)
        return Options(**{**base, **changes})

    def run(self, **changes) -> RunSummary:
        return update(self.options(full=True, kind="run", **changes))

    def refresh(self, **changes) -> RunSummary:
        return update(self.options(**changes))

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """`python -m etl <args> --raw … --curated … --db … --corrections … --no-export` as a process."""
        environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        environment.update(PYTHONPATH=str(PROJECT_ROOT), **(env or {}))
        command = [sys.executable, "-m", "etl", *args, "--raw", str(self.raw), "--curated", str(self.curated),
                   "--db", self.db_url, "--corrections", str(self.corrections), "--no-export"]
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """Kill every process `cli` started that still runs: a failing test must not leave one behind."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=60)

    def hold_lock_elsewhere(self, heartbeat_at: datetime) -> None:
        """A lock row as another host's refresh leaves it, last seen alive at `heartbeat_at`."""
        engine = make_engine(self.db_url)
        with engine.begin() as conn:
            conn.execute(insert(locks).values(name="refresh", token="elsewhere", pid=4242, host="other-host",
                                              command="refresh", started_at=heartbeat_at,
                                              heartbeat_at=heartbeat_at))
        engine.dispose()

    # --- inputs ---------------------------------------------------------------------------------------------

    def seed_files(self) -> list[Path]:
        return sorted(self.raw.glob("*.txt"))

    def add_article(self, name: str, text: str, published: str = "2024-10", encoding: str = "utf-8") -> Path:
        """A new article file with its manifest row (a fixed date, so its periods do not depend on today)."""
        path = self.raw / name
        path.write_bytes(text.encode(encoding))
        with (self.raw / "manifest.csv").open("a", encoding="utf-8") as fh:
            fh.write(f"{name},{name},,{published},,\n")
        return path

    def copy_of_seed(self, index: int, marker: str) -> str:
        """A seed article's text with a line appended, so its hash differs."""
        return self.seed_files()[index].read_text(encoding="utf-8") + f"\n{marker}\n"

    def write_corrections(self, rows: list[dict]) -> None:
        frame = pd.DataFrame([{c: row.get(c, "") for c in COLUMNS} for row in rows], columns=list(COLUMNS))
        frame.to_csv(self.corrections, index=False, encoding="utf-8")

    # --- outputs --------------------------------------------------------------------------------------------

    def table(self, name: str, order: str | None = None) -> pd.DataFrame:
        with sqlite3.connect(self.db_path) as conn:
            query = f"SELECT * FROM {name}" + (f" ORDER BY {order}" if order else "")
            return pd.read_sql(query, conn)

    def facts(self) -> pd.DataFrame:
        return self.table("facts", "fact_id").reset_index(drop=True)

    def runs(self) -> pd.DataFrame:
        return self.table("runs", "run_id")


def comparable(frame: pd.DataFrame, key: str, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """A table sorted by its key, without columns that legitimately differ between two databases."""
    return frame.drop(columns=[c for c in drop if c in frame.columns]).sort_values(key).reset_index(drop=True)


def record_extracted(monkeypatch) -> list[str]:
    """The ids of the articles the refresh job extracts from now on, in order, appended as it goes."""
    extracted: list[str] = []
    real = staging.extract_batches

    def counting(batches, *args, **kwargs):
        for batch in real(batches, *args, **kwargs):
            extracted.extend(a.article_id for a in batch.articles)
            yield batch

    monkeypatch.setattr(staging, "extract_batches", counting)
    return extracted
