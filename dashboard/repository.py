"""Read-only access to the curated database, cached per data version.

The facts of the current data version are loaded once per process and kept until the runs table shows a
newer successful run (checked at most every `REVALIDATE_SECONDS`). Every view then filters that frame in
memory, so a callback costs milliseconds, and new data appears without a restart. `current()` is the
process-wide repository the app uses; `use_database` points it at another database.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from dashboard.queries import Query, apply_query, query_for
from dashboard.snapshot import Snapshot, build_snapshot, file_time
from dashboard.tables import sort_table
from dashboard.urlstate import ViewState
from etl.paths import redact, resolve_db_url
from etl.store.schema import make_engine
from etl.vocabulary import FACT_COLUMNS

REVALIDATE_SECONDS = 2.0
CACHE_SIZE = 64


class Repository:
    """The database behind the dashboard and the snapshot of its current data version."""

    def __init__(self, db_url: str | None = None) -> None:
        self.db_url = resolve_db_url(db_url)
        self._engine: Engine | None = None
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._loading: tuple | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._memo_lock = threading.Lock()

    @property
    def sqlite_path(self) -> Path | None:
        url = make_url(self.db_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database)

    @property
    def db_label(self) -> str:
        return make_url(self.db_url).render_as_string(hide_password=True)

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return self._engine

    def snapshot(self, max_age: float = REVALIDATE_SECONDS, wait: bool = False) -> Snapshot:
        """The current snapshot, checked against the database at most every `max_age` seconds.

        A new data version is loaded in a background thread while the previous one keeps being served, so
        no callback waits for a reload; only the very first load (or `wait=True`) blocks.
        """
        current = self._snapshot
        if current is not None and time.monotonic() - self._checked_at < max_age:
            return current
        with self._lock:
            if self._snapshot is not None and time.monotonic() - self._checked_at < max_age:
                return self._snapshot
            version = self._version()
            self._checked_at = time.monotonic()
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            if self._snapshot is None or wait or not self._snapshot.ok:
                self._install(self._load(version))
            elif self._loading != version:
                self._loading = version
                threading.Thread(target=self._load_in_background, args=(version,), daemon=True,
                                 name="dashboard-reload").start()
            return self._snapshot

    def clear_cache(self) -> None:
        """Forget filtered and sorted frames (the snapshot stays); for timing the real work."""
        with self._memo_lock:
            self._cache.clear()

    def _install(self, snap: Snapshot) -> None:
        self._snapshot = snap
        with self._memo_lock:
            self._cache.clear()
        settle_heap()

    def _load_in_background(self, version: tuple) -> None:
        snap = self._load(version)
        with self._lock:
            if self._loading == version:
                self._install(snap)
                self._loading = None

    def filtered(self, snap: Snapshot, query: Query) -> pd.DataFrame:
        """The facts a query selects, remembered per data version so repeated views cost nothing."""
        return self._memo(("filtered", snap.version, query), lambda: apply_query(snap, query))

    def derived(self, snap: Snapshot, query: Query) -> pd.DataFrame:
        """The derived rows whose numerator fact the query selects, in the facts' best-first order.

        Every filter (indicator, region, level, years, review) thus applies to a rate exactly as to the figure
        it was computed from; remembered per data version like the facts.
        """
        def compute() -> pd.DataFrame:
            if snap.derived.empty:
                return snap.derived
            chosen = np.zeros(len(snap.facts), dtype=bool)
            chosen[self.filtered(snap, query).index.to_numpy()] = True
            return snap.derived[chosen[snap.derived["_pos"].to_numpy()]]
        return self._memo(("derived", snap.version, query), compute)

    def sorted(self, snap: Snapshot, query: Query, sort_model: list[dict] | None) -> pd.DataFrame:
        """The table's rows in the grid's order; remembered, since the grid asks block by block."""
        key = tuple((item.get("colId"), item.get("sort")) for item in sort_model or [])
        return self._memo(("sorted", snap.version, query, key),
                          lambda: sort_table(self.filtered(snap, query), sort_model))

    def _memo(self, key: tuple, compute) -> pd.DataFrame:
        with self._memo_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._memo_lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _version(self) -> tuple:
        """A cheap fingerprint, asked every few seconds by every web worker: the newest successful run, which
        every publish records in its own transaction. Only a database without one (written by other means)
        is fingerprinted by its row counts and the SQLite file's time; counting millions of facts each time
        would be a full table scan on PostgreSQL."""
        path = self.sqlite_path
        if path is not None and not path.exists():
            return ("no_database", str(path))
        try:
            with self.engine().connect() as conn:
                tables = set(inspect(conn).get_table_names())
                if "facts" not in tables:
                    return ("no_tables",)
                run = None
                if "runs" in tables:
                    run = tuple(conn.execute(text(
                        "SELECT max(run_id), max(finished_at) FROM runs WHERE outcome = 'success'")).one())
                if run is not None and run[0] is not None:
                    return ("ok", run, None, None, None)
                n_facts = conn.execute(text("SELECT count(*) FROM facts")).scalar()
                n_articles = conn.execute(text("SELECT count(*) FROM articles")).scalar() if "articles" in tables else 0
        except Exception as exc:  # noqa: BLE001 - shown to the analyst, the page must still render
            return ("error", f"{type(exc).__name__}: {redact(exc)}")
        return ("ok", run, n_facts, n_articles, file_time(path) if path is not None else None)

    def _load(self, version: tuple) -> Snapshot:
        label = self.db_label
        kind = version[0]
        if kind == "no_database":
            return Snapshot(version, "no_database", f"数据库文件不存在 No database file at {version[1]}", label)
        if kind == "no_tables":
            return Snapshot(version, "no_tables", "数据库中还没有数据表 The database has no tables yet", label)
        if kind == "error":
            return Snapshot(version, "error", f"无法读取数据库 Cannot read the database: {version[1]}", label)
        try:
            return build_snapshot(self.engine(), version, label, self.sqlite_path)
        except Exception as exc:  # noqa: BLE001 - a half-written or foreign database must not crash the page
            return Snapshot(version, "error",
                            f"无法读取数据库 Cannot read the database: {type(exc).__name__}: {redact(exc)}", label)


def settle_heap() -> None:
    """Set what is alive now (the snapshot just installed, the app) aside from the cyclic garbage collector.

    A snapshot of 100,000 facts is hundreds of thousands of Python objects; every full collection walked
    them all, a pause that landed on whichever callback was running. Once a data version is loaded: release
    what the previous one left in cycles, then freeze the survivors, so later collections only look at what
    requests create.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def facts_for(repo: Repository, state: ViewState, with_search: bool = False) -> tuple[Snapshot, pd.DataFrame]:
    snap = repo.snapshot()
    if not snap.ok:
        return snap, pd.DataFrame(columns=FACT_COLUMNS)
    return snap, repo.filtered(snap, query_for(snap, state, with_search))


def rate_rows(repo: Repository, snap: Snapshot, state: ViewState, indicators: tuple[str, ...]) -> pd.DataFrame:
    """The derived rows behind a view: those of the chosen indicators' figures that pass the filters."""
    if not snap.ok or snap.derived.empty:
        return snap.derived
    derived = repo.derived(snap, query_for(snap, state))
    return derived[derived["numerator_indicator_code"].isin(indicators)]


_repository: Repository | None = None
_repository_lock = threading.Lock()


def use_database(db_url: str | None) -> Repository:
    """Point the dashboard at a database (`--db`); None means DATABASE_URL, else the default SQLite file."""
    global _repository
    with _repository_lock:
        _repository = Repository(db_url)
        return _repository


def current() -> Repository:
    """The process-wide repository (the database of `use_database`, else DATABASE_URL or the SQLite file)."""
    global _repository
    with _repository_lock:
        if _repository is None:
            _repository = Repository(None)
        return _repository
