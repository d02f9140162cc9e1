"""Where two articles give a figure for the same locality, indicator and period: the `fact_conflicts` view.

Both facts stay in `facts`; the view groups them so the dashboard can say "two sources disagree" instead
of silently picking one. It is a SQL view, so it is always exactly as current as `facts` (the publish
transaction that changes the facts changes the view with them) and costs nothing to keep up to date.

A group is one region, indicator, year, period kind, period start and end, unit, and whether the figure
is a target (a plan and an achievement are not in conflict). Rejected facts are left out, and so is the
`other` family (figures no indicator names: two of them share a code, not a meaning). Only groups quoted
by two or more articles are listed; `kind` is 'agree' when every fact gives the same value (rounded to 6
decimals; `value_high` counts too) and 'disagree' otherwise.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

CONFLICTS_VIEW = "fact_conflicts"
CONFLICT_COLUMNS = [
    "region_code", "region_name", "indicator_code", "indicator_name_zh", "year", "period_kind", "period_start",
    "period_end", "unit", "is_target", "n_facts", "n_articles", "n_distinct_values", "min_value", "max_value",
    "fact_ids", "kind",
]

_IS_TARGET = "CASE WHEN qualifier = 'target' THEN 1 ELSE 0 END"
_VALUE_KEY = {
    "sqlite": "CAST(ROUND(value, 6) AS TEXT) || '|' || COALESCE(CAST(ROUND(value_high, 6) AS TEXT), '')",
    "postgresql": "ROUND(CAST(value AS NUMERIC), 6)::text || '|' || "
                  "COALESCE(ROUND(CAST(value_high AS NUMERIC), 6)::text, '')",
}
_FACT_IDS = {
    "sqlite": "group_concat(fact_id, '|')",
    "postgresql": "string_agg(fact_id, '|' ORDER BY fact_id)",
}
_SOURCE = {  # SQLite's group_concat follows the order rows arrive in
    "sqlite": "(SELECT * FROM facts ORDER BY fact_id)",
    "postgresql": "facts",
}


def conflicts_view_sql(dialect: str) -> str:
    """The SELECT behind the view, in the given SQL dialect ('sqlite' or 'postgresql')."""
    if dialect not in _VALUE_KEY:
        raise ValueError(f"no fact_conflicts view for the {dialect!r} dialect; add one to etl/store/conflicts.py")
    value_key = _VALUE_KEY[dialect]
    return f"""
SELECT region_code, MIN(region_name) AS region_name, indicator_code,
       MIN(indicator_name_zh) AS indicator_name_zh, year, period_kind, period_start, period_end, unit,
       {_IS_TARGET} AS is_target,
       COUNT(*) AS n_facts,
       COUNT(DISTINCT article_id) AS n_articles,
       COUNT(DISTINCT {value_key}) AS n_distinct_values,
       MIN(value) AS min_value,
       MAX(value) AS max_value,
       {_FACT_IDS[dialect]} AS fact_ids,
       CASE WHEN COUNT(DISTINCT {value_key}) > 1 THEN 'disagree' ELSE 'agree' END AS kind
FROM {_SOURCE[dialect]} AS f
WHERE status <> 'rejected' AND family <> 'other'
GROUP BY region_code, indicator_code, year, period_kind, period_start, period_end, unit, {_IS_TARGET}
HAVING COUNT(DISTINCT article_id) > 1"""


def create_conflicts_view(conn: Connection) -> None:
    """(Re)create the view; called by `ensure_schema` inside its transaction."""
    dialect = conn.dialect.name
    conn.exec_driver_sql(f"DROP VIEW IF EXISTS {CONFLICTS_VIEW}")
    conn.exec_driver_sql(f"CREATE VIEW {CONFLICTS_VIEW} AS {conflicts_view_sql(dialect)}")


def read_conflicts(engine: Engine, kind: str | None = None) -> pd.DataFrame:
    """The view as a DataFrame, disagreements first; `kind` keeps only 'agree' or 'disagree'."""
    query = f"SELECT * FROM {CONFLICTS_VIEW}"
    params = {}
    if kind:
        query += " WHERE kind = :kind"
        params["kind"] = kind
    query += " ORDER BY kind DESC, region_code, indicator_code, year, period_end"
    with engine.connect() as conn:
        return pd.read_sql(text(query), conn, params=params)
