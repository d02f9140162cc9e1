"""Write the curated tables to the database, all of them in one transaction, and read them back.

A failed validation or a crash publishes nothing, so readers always see the last complete state (the CSV
files are written from the database afterwards, see etl.store.curated_csv).

`write_tables` replaces every table. `publish_delta` is what runs and refreshes use: it replaces only the
facts of the articles that changed, moves the facts it replaces or retires to `facts_history`, and records
the run in `runs`, all in one transaction, so a reader sees either the state before or the state after.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Boolean, Float, Integer, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from etl.store.schema import (
    CURATED_TABLES,
    article_inputs,
    article_texts,
    articles,
    ensure_schema,
    facts,
    facts_history,
    metadata,
    runs,
)
from etl.store.spool import Spool
from etl.vocabulary import FACT_COLUMNS

INSERT_CHUNK = 5000
ID_CHUNK = 900  # ids per IN (...) list, under SQLite's bound-parameter limit
FACT_INTS = ("year", "char_start", "char_end", "quote_start", "quote_end")
PLAIN_TYPES = (String, Text, Float, Integer, Boolean)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with NaN turned into NULL and numpy scalars into Python values."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, float) and math.isnan(value):
                record[key] = None
    return records


def write_tables(engine: Engine, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the curated tables' contents in a single transaction."""
    ensure_schema(engine)
    with engine.begin() as conn:
        for name in reversed(CURATED_TABLES):
            if name in tables:
                conn.execute(metadata.tables[name].delete())
        for name in CURATED_TABLES:
            if name not in tables:
                continue
            columns = [c.name for c in metadata.tables[name].columns]
            frame = tables[name][[c for c in columns if c in tables[name].columns]]
            records = _records(frame)
            for start in range(0, len(records), INSERT_CHUNK):
                conn.execute(metadata.tables[name].insert(), records[start:start + INSERT_CHUNK])


# --- incremental publishing --------------------------------------------------------------------------------

def _chunks(values: Iterable[str], size: int = ID_CHUNK) -> Iterable[list[str]]:
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def normalise_facts(frame: pd.DataFrame) -> pd.DataFrame:
    """Facts with the table's columns, one dtype per column, NULLs as NaN/None: comparable and printable."""
    frame = frame.reindex(columns=FACT_COLUMNS)
    frame = frame.astype({"value": float, "value_high": float, **dict.fromkeys(FACT_INTS, "int64")})
    text_columns = [c for c in FACT_COLUMNS if c not in ("value", "value_high", *FACT_INTS)]
    frame[text_columns] = frame[text_columns].astype(object).where(frame[text_columns].notna(), None)
    return frame.reset_index(drop=True)


def read_rows(engine: Engine, table: Table, column: str, values: Iterable[str]) -> pd.DataFrame:
    """Rows of `table` whose `column` is one of `values`, read on one connection."""
    with engine.connect() as conn:
        frames = [pd.read_sql(select(table).where(table.c[column].in_(chunk)), conn) for chunk in _chunks(values)]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in table.columns])


def read_facts(engine: Engine, article_ids: Iterable[str]) -> pd.DataFrame:
    """Current facts of the given articles, normalised."""
    return normalise_facts(read_rows(engine, facts, "article_id", article_ids))


def read_table(conn: Connection | Engine, name: str) -> pd.DataFrame:
    return pd.read_sql(select(metadata.tables[name]), conn)


@dataclass
class FactDiff:
    """How the new facts of some articles differ from their current ones, by fact_id."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.retired)


def diff_facts(old: pd.DataFrame, new: pd.DataFrame) -> FactDiff:
    """Added, changed and retired fact ids between two normalised frames of the same articles."""
    old_i, new_i = old.set_index("fact_id"), new.set_index("fact_id")
    common = old_i.index.intersection(new_i.index)
    a, b = old_i.loc[common], new_i.loc[common, old_i.columns]
    same = ((a == b) | (a.isna() & b.isna())).all(axis=1)
    return FactDiff(added=sorted(new_i.index.difference(old_i.index)), changed=sorted(same.index[~same]),
                    retired=sorted(old_i.index.difference(new_i.index)))


@dataclass
class TablePatch:
    """Rows of a derived table that hang on given facts: those rows go, `rows` come in their place."""

    table: str
    key: str
    remove: set[str]
    rows: pd.DataFrame

    @property
    def empty(self) -> bool:
        return not self.remove and self.rows.empty


@dataclass
class Delta:
    """Everything one run publishes. Facts and articles are replaced only for `dirty` articles: the spool's
    `history` stream holds the published facts that leave (they move to facts_history), `gone` their ids,
    `facts` the rows that come in and `texts` the article_texts rows of the dirty articles. The small tables
    in `replace` (rejected_inputs, corrections, regions, …) are replaced whole, as are the tables in
    `replace_spooled`, from the spool stream of the same name."""

    run: dict
    dirty: set[str]
    spool: Spool
    articles: pd.DataFrame
    inputs: list[dict]
    dropped_inputs: set[str]
    replace: dict[str, pd.DataFrame]
    replace_spooled: set[str] = field(default_factory=set)
    patches: list[TablePatch] = field(default_factory=list)


def _insert(conn: Connection, table: Table, frame_or_records: pd.DataFrame | list[dict]) -> None:
    """Insert rows; big frames of plain columns go straight to the driver (COPY on PostgreSQL), skipping
    SQLAlchemy's row-by-row parameter handling."""
    if isinstance(frame_or_records, pd.DataFrame) and _plain(table, frame_or_records):
        frame = frame_or_records[[c.name for c in table.columns if c.name in frame_or_records.columns]]
        _bulk_insert(conn, table, frame)
        return
    columns = {c.name for c in table.columns}
    records = _records(frame_or_records) if isinstance(frame_or_records, pd.DataFrame) else frame_or_records
    records = [{k: v for k, v in r.items() if k in columns} for r in records]
    for start in range(0, len(records), INSERT_CHUNK):
        conn.execute(insert(table), records[start:start + INSERT_CHUNK])


def _plain(table: Table, frame: pd.DataFrame) -> bool:
    """True when every column binds as the driver's own type (no date or time conversion by SQLAlchemy) and
    no column the frame lacks needs a default that only SQLAlchemy would fill in."""
    return all(isinstance(c.type, PLAIN_TYPES) and (c.name in frame.columns or c.default is None)
               for c in table.columns)


def _bulk_insert(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    if not len(frame):
        return
    columns = list(frame.columns)
    integers = [c.name for c in table.columns if c.name in columns and isinstance(c.type, Integer)]
    frame = frame.astype(dict.fromkeys(integers, "Int64")).astype(object)
    rows = list(frame.where(frame.notna(), None).itertuples(index=False, name=None))
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "postgresql":
        command = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(command) as copy:
            for row in rows:
                copy.write_row(row)
        return
    statement = insert(table).compile(dialect=conn.dialect, column_keys=columns)
    order = [columns.index(name) for name in statement.positiontup] if statement.positiontup else None
    if order is not None and order != list(range(len(columns))):
        rows = [tuple(row[i] for i in order) for row in rows]
    for start in range(0, len(rows), INSERT_CHUNK):
        conn.exec_driver_sql(str(statement), rows[start:start + INSERT_CHUNK])


def _delete_in(conn: Connection, column, values: Iterable[str]) -> None:
    for chunk in _chunks(values):
        conn.execute(delete(column.table).where(column.in_(chunk)))


def _replace(conn: Connection, table, frame: pd.DataFrame) -> None:
    conn.execute(delete(table))
    _insert(conn, table, frame)


def _is_empty(conn: Connection, table: Table) -> bool:
    return conn.execute(select(1).select_from(table).limit(1)).first() is None


@contextmanager
def _indexes_built_after(conn: Connection, table: Table, empty: bool) -> Iterator[None]:
    """Fill an empty table first and build its secondary indexes afterwards: sorting once is faster than
    keeping every index current row by row (a first load of the archive). Only for a table that was empty
    when the transaction began: on PostgreSQL, dropping an index locks the table against readers until
    commit, which costs nothing when there was nothing to read."""
    deferred = sorted(table.indexes, key=lambda index: index.name) if empty else []
    for index in deferred:
        index.drop(conn)
    yield
    for index in deferred:
        index.create(conn)


def publish_delta(engine: Engine, delta: Delta, before_commit: Callable[[], None] | None = None) -> int:
    """Apply the delta and record its run in one transaction; returns the run id."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        empty = {table.name: _is_empty(conn, table)
                 for table in (facts, facts_history, *(metadata.tables[n] for n in delta.replace_spooled))}
        run_id = conn.execute(insert(runs).values(**delta.run, finished_at=now)).inserted_primary_key[0]
        with _indexes_built_after(conn, facts_history, empty["facts_history"]):
            for history in delta.spool.pieces("history"):
                history["retired_at"], history["retired_run_id"] = now, run_id
                _insert(conn, facts_history, history)
        for gone in delta.spool.pieces("gone"):
            _delete_in(conn, facts.c.fact_id, gone["fact_id"])
        with _indexes_built_after(conn, facts, empty["facts"]):
            for fresh in delta.spool.pieces("facts"):
                _insert(conn, facts, fresh)
        _delete_in(conn, articles.c.article_id, delta.dirty)
        _insert(conn, articles, delta.articles)
        _delete_in(conn, article_texts.c.article_id, delta.dirty)
        for texts in delta.spool.pieces("texts"):
            _insert(conn, article_texts, texts)
        _delete_in(conn, article_inputs.c.article_id, delta.dropped_inputs | {r["article_id"] for r in delta.inputs})
        _insert(conn, article_inputs, delta.inputs)
        for name, frame in delta.replace.items():
            _replace(conn, metadata.tables[name], frame)
        for name in sorted(delta.replace_spooled):
            table = metadata.tables[name]
            conn.execute(delete(table))
            with _indexes_built_after(conn, table, empty[name]):
                for piece in delta.spool.pieces(name):
                    _insert(conn, table, piece)
        for patch in delta.patches:
            table = metadata.tables[patch.table]
            _delete_in(conn, table.c[patch.key], patch.remove)
            _insert(conn, table, patch.rows)
        total = conn.execute(select(func.count()).select_from(facts)).scalar_one()
        conn.execute(update(runs).where(runs.c.run_id == run_id)
                     .values(facts_total=total, finished_at=datetime.now(UTC)))
        if before_commit:
            before_commit()
    return run_id


def record_run(engine: Engine, run: dict, inputs: list[dict] | None = None) -> int:
    """A run that published no data (nothing new, skipped, failed), with any input bookkeeping it did."""
    with engine.begin() as conn:
        run_id = conn.execute(insert(runs).values(**run, finished_at=datetime.now(UTC))).inserted_primary_key[0]
        if inputs:
            _delete_in(conn, article_inputs.c.article_id, {r["article_id"] for r in inputs})
            _insert(conn, article_inputs, inputs)
    return run_id
