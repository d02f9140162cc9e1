"""The benchmark's write floor copies every row a real run published, and leaves nothing behind."""

from __future__ import annotations

import sqlite3

from bench.write_floor import write_floor


def test_write_floor_copies_the_runs_rows_and_cleans_up(seed_run, tmp_path) -> None:
    db = seed_run["curated"] / "talent.sqlite"
    with sqlite3.connect(db) as conn:
        published = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("facts", "derived_facts")}
    scratch = tmp_path / "scratch"
    floor = write_floor(db, scratch)
    assert published["facts"] > 0
    assert floor["rows"] == published
    assert list(scratch.iterdir()) == [], "the copies are removed"
