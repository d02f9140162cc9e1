"""Table definitions (SQLAlchemy Core) and the validation every table passes before it is published.

One `MetaData` is the single description of the database; `ensure_schema` creates what is missing, adds
columns a newer version declares, and records the schema version, so a second start never fails because
the tables exist and an older database is upgraded in place (changes are additive only).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from etl.store.conflicts import CONFLICTS_VIEW, create_conflicts_view
from etl.vocabulary import (
    ARTICLE,
    FAMILIES,
    LEVELS,
    PERIOD_KINDS,
    PRESS,
    QUALIFIERS,
    SIGNED_UNITS,
    SOURCE_KINDS,
    SOURCE_TIERS,
    STATUSES,
)

SCHEMA_VERSION = 7  # 3: fact_conflicts leaves out the 'other' family; 4: index for the run summary; 5: period_source
# 6: articles' url, format and raw_sha256, and article_texts
# 7: source_tier (facts, a rate's denominator, a cross-check's statistic), a rate's numerator period,
# indicators' Chinese definitions

metadata = MetaData()

facts = Table(
    "facts", metadata,
    Column("fact_id", String(32), primary_key=True),
    Column("article_id", String(200), nullable=False, index=True),
    Column("region_code", String(20), nullable=False, index=True),
    Column("region_name", String(100), nullable=False),
    Column("region_level", String(20), nullable=False),
    Column("indicator_code", String(80), nullable=False, index=True),
    Column("indicator_name_zh", String(200), nullable=False),
    Column("indicator_name_en", String(200), nullable=False),
    Column("family", String(40), nullable=False, index=True),
    Column("value", Float, nullable=False),
    Column("value_high", Float),
    Column("unit", String(30), nullable=False),
    Column("qualifier", String(10), nullable=False),
    Column("period_start", String(10)),
    Column("period_end", String(10), nullable=False),
    Column("period_kind", String(20), nullable=False),
    Column("year", Integer, nullable=False, index=True),
    Column("quote", Text, nullable=False),
    Column("char_start", Integer, nullable=False),
    Column("char_end", Integer, nullable=False),
    Column("quote_start", Integer, nullable=False),
    Column("quote_end", Integer, nullable=False),
    Column("number_text", String(100), nullable=False),
    Column("region_source", String(20), nullable=False),
    # which scope dated the figure: clause, sentence, paragraph, heading, document, publication, statistics
    Column("period_source", String(20), nullable=False, default="", server_default=""),
    Column("status", String(20), nullable=False),
    Column("review_reason", Text, nullable=False, default=""),
    Column("source_kind", String(20), nullable=False, default=ARTICLE),
    Column("source_title", Text, nullable=False, default="", server_default=""),
    Column("source_url", Text, nullable=False, default="", server_default=""),
    # what the source is: official, official_repost, secondary, unverified (statistics) or press (articles)
    Column("source_tier", String(20), nullable=False, default=PRESS, server_default=PRESS),
    # every run ends by counting facts by source, family and status: read from this index, not the table
    Index("ix_facts_summary", "source_kind", "family", "status"),
)

articles = Table(
    "articles", metadata,
    Column("article_id", String(200), primary_key=True),
    Column("file", String(300), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("outlet", String(200), nullable=False),
    Column("published", Date, nullable=False),
    Column("published_precision", String(10), nullable=False),
    Column("published_source", String(20), nullable=False),
    Column("published_note", Text, nullable=False),
    Column("primary_region_code", String(20), nullable=False),
    Column("primary_region_name", String(100), nullable=False),
    Column("encoding", String(20), nullable=False),
    Column("n_chars", Integer, nullable=False),
    Column("n_facts", Integer, nullable=False),
    Column("url", Text, nullable=False, default="", server_default=""),
    Column("format", String(10), nullable=False, default="txt", server_default="txt"),  # txt, html, pdf, docx
    Column("raw_sha256", String(64), nullable=False, default="", server_default=""),  # of the file's bytes
)

# The text facts' offsets point into, for articles whose file is not that text (a page, a PDF, a Word file):
# number_text == text[char_start:char_end] can be checked here, and raw_sha256 says which file it was read from.
article_texts = Table(
    "article_texts", metadata,
    Column("article_id", String(200), primary_key=True),
    Column("file", String(300), nullable=False),
    Column("format", String(10), nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("text", Text, nullable=False),
)

regions = Table(
    "regions", metadata,
    Column("code", String(20), primary_key=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("level", String(20), nullable=False),
    Column("parent_code", String(20), nullable=False),
    Column("aliases", Text, nullable=False),
    Column("official", Boolean, nullable=False),
    Column("note", Text, nullable=False),
)

indicators = Table(
    "indicators", metadata,
    Column("code", String(80), primary_key=True),
    Column("name_zh", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("family", String(40), nullable=False),
    Column("family_name_zh", String(100), nullable=False),
    Column("family_name_en", String(100), nullable=False),
    Column("unit", String(30), nullable=False),
    Column("headline", Boolean, nullable=False),
    Column("description", Text, nullable=False),
    Column("description_zh", Text, nullable=False, default="", server_default=""),
)

rejected_inputs = Table(
    "rejected_inputs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file", String(300), nullable=False),
    Column("reason", String(60), nullable=False),
    Column("detail", Text, nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(20), nullable=False),
    Column("articles_read", Integer, nullable=False, default=0),
    Column("articles_added", Integer, nullable=False, default=0),
    Column("articles_changed", Integer, nullable=False, default=0),
    Column("articles_removed", Integer, nullable=False, default=0),
    Column("articles_rejected", Integer, nullable=False, default=0),
    Column("facts_added", Integer, nullable=False, default=0),
    Column("facts_changed", Integer, nullable=False, default=0),
    Column("facts_retired", Integer, nullable=False, default=0),
    Column("facts_total", Integer, nullable=False, default=0),
    Column("message", Text, nullable=False, default=""),
    Column("error", Text, nullable=False, default=""),
    Column("corrections_applied", Integer, nullable=False, default=0, server_default="0"),
    Column("correction_orphans", Integer, nullable=False, default=0, server_default="0"),
)

facts_history = Table(
    "facts_history", metadata,
    Column("history_id", Integer, primary_key=True, autoincrement=True),
    *(Column(c.name, c.type, nullable=c.nullable, index=c.name in ("fact_id", "article_id"))
      for c in facts.columns),
    Column("retired_at", DateTime(timezone=True), nullable=False),
    Column("retired_run_id", Integer, nullable=False, index=True),
    Column("retired_reason", String(30), nullable=False),
)

article_inputs = Table(
    "article_inputs", metadata,
    Column("article_id", String(200), primary_key=True),
    Column("file", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("manifest_digest", String(64), nullable=False),
    Column("extractor", String(64), nullable=False),
    Column("stat_key", String(100), nullable=False),
    Column("verified_ns", BigInteger, nullable=False),
)

corrections = Table(
    "corrections", metadata,
    Column("line", Integer, primary_key=True),
    Column("fact_id", String(32), nullable=False, index=True),
    Column("action", String(10), nullable=False),
    Column("changes", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("analyst", String(100), nullable=False),
    Column("corrected_on", String(10), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("detail", Text, nullable=False),
)

locks = Table(
    "locks", metadata,
    Column("name", String(50), primary_key=True),
    Column("token", String(36), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("command", String(50), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

schema_info = Table(
    "schema_info", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

derived_facts = Table(
    "derived_facts", metadata,
    Column("fact_id", String(32), primary_key=True),
    Column("indicator_code", String(80), nullable=False, index=True),
    Column("indicator_name_zh", String(200), nullable=False),
    Column("indicator_name_en", String(200), nullable=False),
    Column("family", String(40), nullable=False),
    Column("region_code", String(20), nullable=False, index=True),
    Column("region_name", String(100), nullable=False),
    Column("region_level", String(20), nullable=False),
    Column("year", Integer, nullable=False),
    Column("value", Float),
    Column("value_high", Float),
    Column("unit", String(30), nullable=False),
    Column("qualifier", String(10), nullable=False),
    Column("status", String(30), nullable=False),
    Column("note", Text, nullable=False),
    Column("numerator_fact_id", String(32), nullable=False, index=True),
    Column("numerator_indicator_code", String(80), nullable=False),
    Column("numerator_value", Float, nullable=False),
    Column("numerator_value_high", Float),
    Column("numerator_unit", String(30), nullable=False),
    Column("numerator_year", Integer, nullable=False),
    Column("numerator_article_id", String(200), nullable=False),
    Column("numerator_quote", Text, nullable=False),
    Column("numerator_period_kind", String(20), nullable=False, default="", server_default=""),
    Column("numerator_period_start", String(10)),
    Column("numerator_period_end", String(10), nullable=False, default="", server_default=""),
    Column("denominator_fact_id", String(32)),
    Column("denominator_indicator_code", String(80), nullable=False),
    Column("denominator_value", Float),
    Column("denominator_unit", String(30)),
    Column("denominator_year", Integer),
    Column("denominator_source_title", Text),
    Column("denominator_source_url", Text),
    Column("denominator_source_tier", String(20), nullable=False, default="", server_default=""),
    Column("proxy_year", Boolean, nullable=False),
)

crosscheck = Table(
    "crosscheck", metadata,
    Column("article_fact_id", String(32), primary_key=True),
    Column("statistics_fact_id", String(32), nullable=False),
    Column("region_code", String(20), nullable=False),
    Column("region_name", String(100), nullable=False),
    Column("indicator_code", String(80), nullable=False),
    Column("indicator_name_zh", String(200), nullable=False),
    Column("article_id", String(200), nullable=False),
    Column("article_year", Integer, nullable=False),
    Column("official_year", Integer, nullable=False),
    Column("article_value", Float, nullable=False),
    Column("article_qualifier", String(10), nullable=False),
    Column("article_number_text", String(100), nullable=False),
    Column("article_quote", Text, nullable=False),
    Column("official_value", Float, nullable=False),
    Column("official_source_title", Text, nullable=False),
    Column("official_source_url", Text, nullable=False),
    Column("official_source_tier", String(20), nullable=False, default="", server_default=""),
    Column("relative_difference", Float, nullable=False),
    Column("consistent", Boolean, nullable=False),
    Column("verdict", Text, nullable=False),
)

# The dashboard's accounts (see etl.store.accounts): written by `python -m etl users`, read by the dashboard.
dashboard_accounts = Table(
    "dashboard_accounts", metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

dashboard_keys = Table(  # the key that signs sign-in sessions, shared by every web process
    "dashboard_keys", metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

CURATED_TABLES = ("facts", "articles", "regions", "indicators", "rejected_inputs", "derived_facts", "crosscheck")


def make_engine(url: str) -> Engine:
    """An engine; SQLite waits for a writer instead of failing at once."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 60})
    return create_engine(url, pool_pre_ping=True)


SCHEMA_LOCK_KEY = 330_000_001  # the PostgreSQL advisory lock that serialises schema creation and upgrades


def one_at_a_time_on_postgres(change: Callable[[Engine], None]) -> Callable[[Engine], None]:
    """Processes that start together on an empty database (the Procfile's release, web and clock) must not
    trip over each other's CREATE TABLE. PostgreSQL: an advisory lock makes the others wait, then find the
    tables there. SQLite: a change that lost the race ("table … already exists") is simply run again."""

    @functools.wraps(change)
    def locked(engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            for attempt in range(10):
                try:
                    return change(engine)
                except OperationalError as exc:
                    if "already exists" not in str(exc) or attempt == 9:
                        raise
                    time.sleep(0.05 * (attempt + 1))
            return None
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({SCHEMA_LOCK_KEY})")
            try:
                return change(engine)
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({SCHEMA_LOCK_KEY})")
                conn.commit()

    return locked


def ensure_schema(engine: Engine, check_all: bool = False) -> None:
    """Create missing tables, columns, indexes and views and record the schema version; harmless when all
    exist. A database that records the current version and has every table is taken as is (two quick
    queries, not an inspection of every column and index at every start); `check_all` (the `migrate`
    command) checks everything regardless."""
    if not check_all and schema_is_current(engine):
        return
    upgrade_schema(engine)


def schema_is_current(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            recorded = conn.execute(select(schema_info.c.version)
                                    .where(schema_info.c.version == SCHEMA_VERSION)).first() is not None
    except (OperationalError, ProgrammingError):  # no schema_info table yet
        return False
    return recorded and set(metadata.tables) <= set(inspect(engine).get_table_names())


@one_at_a_time_on_postgres
def upgrade_schema(engine: Engine) -> None:
    """Bring the database up to the declared schema (see `ensure_schema`)."""
    use_wal(engine)
    metadata.create_all(engine)
    add_missing_columns(engine)
    add_missing_indexes(engine)
    has_view = CONFLICTS_VIEW in inspect(engine).get_view_names()
    try:
        with engine.begin() as conn:
            upgrading = conn.execute(
                select(schema_info.c.version).where(schema_info.c.version == SCHEMA_VERSION)).first() is None
            if upgrading or not has_view:
                create_conflicts_view(conn)
            if upgrading:
                conn.execute(schema_info.insert().values(version=SCHEMA_VERSION,
                                                         applied_at=pd.Timestamp.now(tz="UTC")))
    except IntegrityError:
        pass  # another process recorded this version at the same moment; its view is the same as ours


def use_wal(engine: Engine) -> None:
    """SQLite files use write-ahead logging, so the dashboard keeps reading while a refresh writes."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    with engine.connect() as conn:
        if conn.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def add_missing_indexes(engine: Engine) -> None:
    """Additive upgrade: an index declared here but absent from an existing table is built."""
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                with engine.begin() as conn:
                    index.create(conn, checkfirst=True)


def add_missing_columns(engine: Engine) -> None:
    """Additive upgrade: a column declared here but absent from an existing table is added to it."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(engine.dialect)}"
                if column.server_default is not None:
                    ddl += f" NOT NULL DEFAULT {sql_literal(column.server_default.arg)}"
                conn.exec_driver_sql(ddl)


def sql_literal(value: object) -> str:
    """A column default as SQL writes it: numbers bare, text quoted ('' and 'press' are text, not names)."""
    text = str(value)
    return text if text.lstrip("-").isdigit() else "'" + text.replace("'", "''") + "'"


@functools.cache
def facts_schema():
    """The pandera schema of `facts`, built on first use, so that processes that never validate (the
    dashboard, a refresh with nothing new) do not import pandera."""
    import pandera.pandas as pa

    def _in(values: tuple[str, ...]) -> pa.Check:
        return pa.Check.isin(list(values))

    return pa.DataFrameSchema(
        {
            "fact_id": pa.Column(str, unique=True),
            "article_id": pa.Column(str),
            "region_code": pa.Column(str, pa.Check.str_length(min_value=6)),
            "region_name": pa.Column(str),
            "region_level": pa.Column(str, _in(LEVELS)),
            "indicator_code": pa.Column(str),
            "family": pa.Column(str, _in(FAMILIES)),
            "value": pa.Column(float),
            "value_high": pa.Column(float, nullable=True),
            "unit": pa.Column(str),
            "qualifier": pa.Column(str, _in(QUALIFIERS)),
            "period_start": pa.Column(str, nullable=True),
            "period_end": pa.Column(str),
            "period_kind": pa.Column(str, _in(PERIOD_KINDS)),
            "year": pa.Column(int, pa.Check.in_range(1949, 2100)),
            "quote": pa.Column(str, pa.Check.str_length(min_value=1)),
            "char_start": pa.Column(int, pa.Check.ge(0)),
            "char_end": pa.Column(int, pa.Check.ge(1)),
            "status": pa.Column(str, _in(STATUSES)),
            "source_kind": pa.Column(str, _in(SOURCE_KINDS)),
            "source_tier": pa.Column(str, _in(SOURCE_TIERS), required=False),
        },
        checks=[
            pa.Check(lambda df: (df["char_end"] > df["char_start"]).all(), error="char_end must exceed char_start"),
            pa.Check(lambda df: ((df["value"] >= 0) | df["unit"].isin(SIGNED_UNITS)).all(),
                     error=f"only {', '.join(SIGNED_UNITS)} may be negative (人口自然增长率为-6.8‰)"),
            pa.Check(lambda df: (df["value_high"].isna() | (df["value_high"] >= df["value"])).all(),
                     error="value_high must not be below value"),
        ],
        strict=False,
        coerce=True,
    )


def validate_facts(frame: pd.DataFrame, known_regions: set[str], known_indicators: set[str],
                   known_units: set[str], known_articles: set[str]) -> pd.DataFrame:
    """Check the facts table and its references; raises pandera's SchemaError or ValueError saying why."""
    validated = facts_schema().validate(frame, lazy=True)
    problems = []
    for column, known in (("region_code", known_regions), ("indicator_code", known_indicators),
                          ("unit", known_units), ("article_id", known_articles)):
        unknown = sorted(set(validated[column]) - known)
        if unknown:
            problems.append(f"facts.{column} has values not in its reference table: {unknown[:5]}")
    if problems:
        raise ValueError("; ".join(problems))
    return validated
