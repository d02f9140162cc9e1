"""The domain's closed sets are defined once (etl.vocabulary); the declarations that repeat them must agree."""

from __future__ import annotations

from dataclasses import fields

from etl.extract.facts import Fact
from etl.store import schema
from etl.vocabulary import FACT_COLUMNS, LIVE_STATUSES, SOURCE_KINDS, STATUSES


def test_fact_columns_are_the_facts_table_and_the_fact_record():
    assert [c.name for c in schema.facts.columns] == FACT_COLUMNS
    assert [f.name for f in fields(Fact)] == FACT_COLUMNS


def test_the_statuses_figures_are_computed_from_are_statuses():
    assert set(LIVE_STATUSES) < set(STATUSES)
    assert "rejected" not in LIVE_STATUSES


def test_a_fact_defaults_to_an_article_figure():
    assert Fact.__dataclass_fields__["source_kind"].default == SOURCE_KINDS[0]
    assert schema.facts.c.source_kind.default.arg == SOURCE_KINDS[0]
