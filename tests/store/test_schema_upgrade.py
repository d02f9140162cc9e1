"""An older database gains the columns a newer schema declares, with their text defaults, in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from etl.store.schema import ensure_schema, make_engine, sql_literal


def test_text_defaults_are_quoted_and_numbers_are_not() -> None:
    assert [sql_literal(v) for v in ("", "press", "0", "-1", "o'k")] == ["''", "'press'", "0", "-1", "'o''k'"]


def test_a_facts_table_from_before_source_tiers_gains_the_column_with_press_as_its_value(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE facts (fact_id VARCHAR(32) PRIMARY KEY, source_kind VARCHAR(20) NOT NULL)")
        conn.execute("INSERT INTO facts VALUES ('f1', 'article')")
        conn.execute("CREATE TABLE derived_facts (fact_id VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO derived_facts VALUES ('d1')")
    engine = make_engine(f"sqlite:///{path}")
    try:
        ensure_schema(engine, check_all=True)
    finally:
        engine.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT source_tier, period_source FROM facts").fetchall() == [("press", "")]
        assert conn.execute("SELECT numerator_period_kind, denominator_source_tier FROM derived_facts"
                            ).fetchall() == [("", "")]
