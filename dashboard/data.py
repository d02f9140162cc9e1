"""Read-only access to the curated database, cached per data version.

The facts of the current data version are loaded once per process, pre-sorted so that the first row of any
group is the figure to show for it, and kept until the runs table shows a newer successful run (checked at
most every `REVALIDATE_SECONDS`). Every view then filters that frame in memory, so a callback costs
milliseconds, and new data appears without a restart. Nothing here writes to the database.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from dashboard import fmt
from dashboard.urlstate import LATEST, RATE, ViewState
from etl.jobs import schedule
from etl.paths import REFERENCE_DIR, resolve_db_url
from etl.store.schema import make_engine
from etl.vocabulary import FACT_COLUMNS, FAMILIES, NON_CURRENT_STATUSES, STATISTICS

REVALIDATE_SECONDS = 2.0
ARTICLE_COLUMNS = ["article_id", "title", "outlet", "published", "published_precision", "file"]
LEVEL_ORDER = {"province": 0, "city": 1, "county": 2, "zone": 3, "town": 3}
CACHE_SIZE = 64
ETL_HINT = "python -m etl run"


@dataclass(frozen=True)
class DataAsOf:
    when: str
    source_zh: str
    source_en: str

    def text(self) -> str:
        return f"{self.when}（{self.source_zh} {self.source_en}）" if self.when else ""


@dataclass(frozen=True)
class DerivedIndicator:
    """A per-capita or per-GDP indicator the taxonomy declares for a numerator indicator."""

    code: str
    numerator: str
    denominator: str
    scale: float
    unit: str
    name_zh: str
    name_en: str


@dataclass
class Snapshot:
    """One data version: the current facts and the reference tables the views need."""

    version: tuple
    state: str  # ok | no_database | no_tables | empty | error
    message: str
    db_label: str
    facts: pd.DataFrame = field(default_factory=pd.DataFrame)
    regions: pd.DataFrame = field(default_factory=pd.DataFrame)
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)
    articles: pd.DataFrame = field(default_factory=pd.DataFrame)
    as_of: DataAsOf = DataAsOf("", "", "")
    availability: pd.DataFrame = field(default_factory=pd.DataFrame)
    region_order: list[str] = field(default_factory=list)
    children: dict[str, list[str]] = field(default_factory=dict)
    derived: pd.DataFrame = field(default_factory=pd.DataFrame)
    crosscheck: pd.DataFrame = field(default_factory=pd.DataFrame)
    rate_of: dict[str, DerivedIndicator] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "ok"


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
            return ("error", f"{type(exc).__name__}: {exc}")
        return ("ok", run, n_facts, n_articles, _file_time(path) if path is not None else None)

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
            return Snapshot(version, "error", f"无法读取数据库 Cannot read the database: {type(exc).__name__}: {exc}",
                            label)


def settle_heap() -> None:
    """Set what is alive now (the snapshot just installed, the app) aside from the cyclic garbage collector.

    A snapshot of 100,000 facts is hundreds of thousands of Python objects; every full collection walked
    them all, 80-165 ms that landed on whichever callback was running (measured with the benchmark's
    callback mix). Once a data version is loaded: release what the previous one left in cycles, then freeze
    the survivors, so later collections only look at what requests create.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _file_time(path: Path | None) -> float | None:
    """Newest modification time of the SQLite file and its WAL, the last-resort version signal."""
    if path is None:
        return None
    times = [p.stat().st_mtime for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    return max(times) if times else None


def _read_table(conn, name: str, wanted: list[str] | None = None, where: str = "") -> pd.DataFrame:
    """Only the columns a view needs (and that exist: newer schemas may add columns)."""
    inspector = inspect(conn)
    if not inspector.has_table(name):
        return pd.DataFrame(columns=wanted or [])
    present = [c["name"] for c in inspector.get_columns(name)]
    columns = [c for c in (wanted or present) if c in present]
    sql = f"SELECT {', '.join(columns)} FROM {name} {where}"
    return pd.read_sql(text(sql), conn)


def build_snapshot(engine: Engine, version: tuple, label: str, sqlite_path: Path | None = None) -> Snapshot:
    """Load one data version: facts joined with their articles, reference tables, run log."""
    excluded = ", ".join(f"'{s}'" for s in NON_CURRENT_STATUSES)
    with engine.connect() as conn:
        facts = _read_table(conn, "facts", FACT_COLUMNS, f"WHERE status NOT IN ({excluded})")
        articles = _read_table(conn, "articles")
        regions = _read_table(conn, "regions")
        indicators = _read_table(conn, "indicators", ["code", "name_zh", "name_en", "family", "family_name_zh",
                                                      "family_name_en", "unit", "headline", "description"])
        runs = _read_table(conn, "runs")
        rejected = _read_table(conn, "rejected_inputs", ["file", "reason", "detail"])
        derived = _read_table(conn, "derived_facts")
        crosscheck = _read_table(conn, "crosscheck")
    next_run_time()  # the first call imports the scheduler (slow); done here, once, not in a callback
    if facts.empty:
        snap = Snapshot(version, "empty", "数据表是空的 The facts table is empty", label, regions=regions,
                        runs=runs, rejected=rejected)
        snap.as_of = data_as_of(runs, articles, sqlite_path)
        return snap
    regions = regions.set_index("code", drop=False)
    indicators = _complete_indicators(indicators, facts).set_index("code", drop=False)
    facts = prepare_facts(facts, articles, regions)
    order = region_tree_order(regions)
    children: dict[str, list[str]] = {}
    for code, parent in zip(regions["code"], regions["parent_code"].fillna(""), strict=True):
        children.setdefault(parent, []).append(code)
    availability = (facts.groupby(["family", "indicator_code", "region_code", "region_level", "year"],
                                  observed=True).size().rename("n").reset_index())
    rate_of = derived_indicators(derived)
    return Snapshot(
        version=version, state="ok", message="", db_label=label, facts=facts, regions=regions,
        indicators=indicators, runs=runs, rejected=rejected, articles=articles, as_of=data_as_of(runs, articles, sqlite_path),
        availability=availability, region_order=order, children=children,
        derived=prepare_derived(derived, facts, rate_of, indicators), crosscheck=prepare_crosscheck(crosscheck, facts, indicators),
        rate_of=rate_of,
    )


# --- fair comparison: derived rates and the cross-check ------------------------------------------------


def derived_indicators(derived: pd.DataFrame) -> dict[str, DerivedIndicator]:
    """Numerator indicator → its derived indicator, as the taxonomy declares (first declared wins).

    The taxonomy, not the data, decides what may be divided: a percentage or rank never has an entry. When
    the taxonomy cannot be read, the pairs present in `derived_facts` stand in for it.
    """
    out: dict[str, DerivedIndicator] = {}
    try:
        from etl.extract.indicators import load_taxonomy

        taxonomy = load_taxonomy()
        for spec in taxonomy.derived.values():
            indicator = taxonomy.indicators[spec.code]
            out.setdefault(spec.numerator, DerivedIndicator(spec.code, spec.numerator, spec.denominator, spec.scale,
                                                            indicator.unit, indicator.name_zh, indicator.name_en))
    except Exception:  # noqa: BLE001 - the dashboard must still show what the pipeline published
        for row in derived.drop_duplicates("indicator_code").itertuples(index=False):
            scale = 1e8 if row.unit == "yuan_per_100m_gdp" else 1e4
            out.setdefault(str(row.numerator_indicator_code), DerivedIndicator(
                str(row.indicator_code), str(row.numerator_indicator_code), str(row.denominator_indicator_code),
                scale, str(row.unit), str(row.indicator_name_zh), str(row.indicator_name_en)))
    return out


NUMERATOR_COLUMNS = ["title", "outlet", "published", "needs_review", "number_text", "period", "region_name_en",
                     "source_kind"]  # copied from the numerator fact; `status` stays the derived row's own


def prepare_derived(derived: pd.DataFrame, facts: pd.DataFrame, rate_of: dict[str, DerivedIndicator],
                    indicators: pd.DataFrame) -> pd.DataFrame:
    """Derived rows shaped like facts (labels, marks, article) so the same figures draw them.

    Rows whose numerator is no longer a current fact are left out; the rest are ordered like their
    numerators, so the first row of a region × indicator (× year) group is the rate of the figure the
    absolute view shows. `_pos` is the numerator's row in `facts`, for filtering without a join.
    """
    if derived.empty or facts.empty:
        return pd.DataFrame(columns=[*derived.columns, *NUMERATOR_COLUMNS, "_pos", "computable", "proxy", "inexact",
                                     "numerator_name_zh", "display", "exact", "formula"])
    position = pd.Series(np.arange(len(facts)), index=facts["fact_id"].astype(str).to_numpy())
    derived = derived[derived["numerator_fact_id"].isin(position.index)].copy()
    derived["_pos"] = derived["numerator_fact_id"].map(position).astype(int)
    numerators = facts.iloc[derived["_pos"].to_numpy()]
    for column in NUMERATOR_COLUMNS:
        values = numerators[column].to_numpy()
        derived[column] = values.astype(str) if column not in ("needs_review",) else values.astype(bool)
    derived["value"] = pd.to_numeric(derived["value"], errors="coerce")
    derived["value_high"] = pd.to_numeric(derived["value_high"], errors="coerce")
    derived["denominator_value"] = pd.to_numeric(derived["denominator_value"], errors="coerce")
    derived["denominator_year"] = pd.to_numeric(derived["denominator_year"], errors="coerce")
    derived["year"] = derived["year"].astype(int)
    derived["computable"] = derived["value"].notna()
    derived["proxy"] = derived["proxy_year"].fillna(False).astype(bool) & derived["computable"]
    derived["inexact"] = derived["qualifier"] != "exact"
    derived["numerator_name_zh"] = numerators["indicator_name_zh"].astype(str).to_numpy()
    names = indicators["name_zh"].astype(str).to_dict() if "name_zh" in indicators else {}
    labels, exacts, formulas = [], [], []
    for row in derived.itertuples(index=False):
        if not row.computable:
            labels.append(fmt.CANNOT[0])
            exacts.append(fmt.bilingual(fmt.CANNOT))
            formulas.append(str(row.note))
            continue
        high = None if pd.isna(row.value_high) else float(row.value_high)
        mark = f" {fmt.PROXY_MARK}" if row.proxy else ""
        labels.append(fmt.value_label(float(row.value), str(row.unit), str(row.qualifier), high) + mark)
        exacts.append(fmt.exact_label(float(row.value), str(row.unit), str(row.qualifier), high) + mark)
        spec = rate_of.get(str(row.numerator_indicator_code))
        denominator = names.get(str(row.denominator_indicator_code), str(row.denominator_indicator_code))
        formulas.append(
            f"{fmt.value_label(float(row.numerator_value), str(row.numerator_unit), str(row.qualifier))}"
            f" ÷ {fmt.value_label(float(row.denominator_value), str(row.denominator_unit))}"
            + (f" × {fmt.short_number(spec.scale, 'count')}" if spec else "")
            + f"<br>分母 denominator: {int(row.denominator_year)}年 {denominator}"
            + (f" {fmt.PROXY_MARK} 代用年份 proxy year" if row.proxy else ""))
    derived["display"], derived["exact"], derived["formula"] = labels, exacts, formulas
    return derived.sort_values("_pos", kind="stable", ignore_index=True)


def prepare_crosscheck(crosscheck: pd.DataFrame, facts: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """The cross-check pairs with labels as read on screen; inconsistent pairs first, then the largest gaps."""
    if crosscheck.empty:
        return crosscheck
    frame = crosscheck.copy()
    frame["consistent"] = frame["consistent"].astype(bool)
    units = frame["indicator_code"].map(indicators["unit"]).fillna("").astype(str)
    frame["unit"] = units
    frame["article_display"] = [fmt.value_label(float(v), u, str(q)) for v, u, q in
                                zip(frame["article_value"], units, frame["article_qualifier"], strict=True)]
    frame["official_display"] = [fmt.value_label(float(v), u) for v, u in zip(frame["official_value"], units, strict=True)]
    frame["difference_text"] = [fmt.percent_change(float(d)) for d in frame["relative_difference"]]
    frame["verdict_text"] = np.where(frame["consistent"], "✓ 相符 consistent", "✗ 不符 inconsistent")
    by_id = facts.drop_duplicates("fact_id").set_index("fact_id")
    for column in ("title", "outlet", "published"):
        known = dict(zip(by_id.index, by_id[column].astype(str), strict=True))
        frame[f"article_{column}"] = [known.get(i, "") for i in frame["article_fact_id"]]
    frame["_gap"] = frame["relative_difference"].abs()
    frame = frame.sort_values(["consistent", "_gap"], ascending=[True, False], kind="stable", ignore_index=True)
    return frame.drop(columns=["_gap"])


@dataclass(frozen=True)
class RateBasis:
    """What the per-capita toggle means for the indicators on screen."""

    derived: tuple[DerivedIndicator, ...]  # for the indicators that have a derived counterpart
    missing: tuple[str, ...]  # chosen indicators without one (percentages, ranks, indices, …)

    @property
    def available(self) -> bool:
        return bool(self.derived)

    def label(self) -> tuple[str, str]:
        """'每万常住人口 per 10,000 residents', '每亿元GDP …', or both when the indicators differ."""
        units = list(dict.fromkeys(d.unit for d in self.derived))
        if not units:
            return "人均", "per capita"
        labels = [fmt.RATE_BASIS_LABEL.get(u, (u, u)) for u in units]
        return "、".join(zh for zh, _ in labels), " / ".join(en for _, en in labels)


def rate_basis(snap: Snapshot, indicators: tuple[str, ...]) -> RateBasis:
    """Which of `indicators` may be shown per capita or per GDP, by the taxonomy."""
    found = tuple(snap.rate_of[i] for i in indicators if i in snap.rate_of)
    return RateBasis(found, tuple(i for i in indicators if i not in snap.rate_of))


def rate_rows(repo: Repository, snap: Snapshot, state: ViewState, indicators: tuple[str, ...]) -> pd.DataFrame:
    """The derived rows behind a view: those of the chosen indicators' figures that pass the filters."""
    if not snap.ok or snap.derived.empty:
        return snap.derived
    derived = repo.derived(snap, query_for(snap, state))
    return derived[derived["numerator_indicator_code"].isin(indicators)]


def wants_rate(state: ViewState) -> bool:
    return state.norm == RATE


def derived_provenance(snap: Snapshot, derived_id: str) -> dict | None:
    """A derived value with the numerator fact (article, quote) and the denominator fact (official source)."""
    if not snap.ok or snap.derived.empty or not derived_id:
        return None
    hit = snap.derived[snap.derived["fact_id"] == derived_id]
    if hit.empty:
        return None
    row = hit.iloc[0].to_dict()
    facts = snap.facts

    def fact(fact_id) -> dict | None:
        if not isinstance(fact_id, str) or not fact_id:
            return None
        found = facts[facts["fact_id"] == fact_id]
        return found.iloc[0].to_dict() if len(found) else None

    spec = snap.rate_of.get(str(row["numerator_indicator_code"]))
    return {"derived": row, "numerator": fact(row["numerator_fact_id"]),
            "denominator": fact(row.get("denominator_fact_id")), "scale": spec.scale if spec else None}


def checks_for(snap: Snapshot, fact_id: str) -> pd.DataFrame:
    """Cross-check pairs a fact takes part in, as the article figure or as the official one."""
    frame = snap.crosscheck
    if frame.empty or not fact_id:
        return frame
    return frame[(frame["article_fact_id"] == fact_id) | (frame["statistics_fact_id"] == fact_id)]


def _complete_indicators(indicators: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Indicators seen in facts but missing from the table (e.g. `other_<unit>`) get a row from the facts."""
    missing = facts.loc[~facts["indicator_code"].isin(indicators["code"]),
                        ["indicator_code", "indicator_name_zh", "indicator_name_en", "family", "unit"]]
    if missing.empty:
        return indicators
    extra = (missing.drop_duplicates("indicator_code")
             .rename(columns={"indicator_code": "code", "indicator_name_zh": "name_zh", "indicator_name_en": "name_en"})
             .assign(family_name_zh="", family_name_en="", headline=False, description=""))
    return pd.concat([indicators, extra], ignore_index=True)


def prepare_facts(facts: pd.DataFrame, articles: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Join article metadata, add display labels, and sort so the best figure of any group comes first."""
    facts = facts.merge(articles[[c for c in ARTICLE_COLUMNS if c in articles.columns]],
                        on="article_id", how="left")
    for column in ("title", "outlet", "published", "review_reason", "number_text", "period_start", "source_kind",
                   "source_title", "source_url"):
        if column not in facts.columns:
            facts[column] = ""
        facts[column] = facts[column].fillna("").astype(str)
    if "published_precision" in facts.columns:
        width = facts["published_precision"].map({"year": 4, "month": 7}).fillna(10).astype(int)
        facts["published"] = [p[:w] for p, w in zip(facts["published"].tolist(), width.tolist(), strict=True)]
    own_source = facts["source_title"] != ""  # statistics rows name their own source, not the article's
    facts.loc[own_source, "title"] = facts.loc[own_source, "source_title"]
    facts["region_name_en"] = facts["region_code"].map(regions["name_en"]).fillna("")
    facts["year"] = facts["year"].astype(int)
    facts["value"] = facts["value"].astype(float)
    facts["value_high"] = pd.to_numeric(facts["value_high"], errors="coerce")
    facts["inexact"] = facts["qualifier"] != "exact"
    facts["needs_review"] = facts["status"] == "needs_review"
    highs = [None if pd.isna(h) else float(h) for h in facts["value_high"].tolist()]
    keys = list(zip(facts["value"].tolist(), facts["unit"].astype(str).tolist(),
                    facts["qualifier"].astype(str).tolist(), highs, strict=True))
    facts["display"] = _memo_map(fmt.value_label, keys)
    facts["exact"] = _memo_map(fmt.exact_label, keys)
    facts["period"] = _memo_map(_period_text, list(zip(facts["period_start"].tolist(), facts["period_end"].astype(str).tolist(),
                                                       facts["period_kind"].astype(str).tolist(), strict=True)))
    facts["search_text"] = (facts["region_name"].astype(str) + "|" + facts["region_name_en"] + "|"
                            + facts["indicator_name_zh"].astype(str) + "|" + facts["indicator_name_en"].astype(str)
                            + "|" + facts["title"] + "|" + facts["quote"].astype(str)).str.lower()
    facts["_review_rank"] = facts["needs_review"].astype(int)
    facts["_exact_rank"] = facts["inexact"].astype(int)
    facts = facts.sort_values(
        ["year", "_review_rank", "_exact_rank", "published", "period_end", "fact_id"],
        ascending=[False, True, True, False, False, True], kind="stable", ignore_index=True)
    # Categories make filters and table sorts compare small integer codes instead of strings.
    for column in ("region_code", "region_level", "indicator_code", "family", "unit", "qualifier", "status",
                   "region_name", "indicator_name_zh", "indicator_name_en", "title", "outlet", "published",
                   "period", "quote", "source_kind"):
        facts[column] = facts[column].astype("category")
    return facts.drop(columns=["_review_rank", "_exact_rank"])


def _memo_map(func, keys: list[tuple]) -> list[str]:
    """`func(*key)` for each key, computed once per distinct key (many facts share a label)."""
    seen: dict[tuple, str] = {}
    out = []
    for key in keys:
        label = seen.get(key)
        if label is None:
            label = seen[key] = func(*key)
        out.append(label)
    return out


def _period_text(start: str, end: str, kind: str) -> str:
    """'2024-01-01 – 2024-08-31' or 'as of 2024-09-27': the period the figure covers."""
    label = fmt.PERIOD_KIND_LABEL.get(kind, (kind, kind))[0]
    if start and start != end:
        return f"{start} – {end}"
    return f"{label} {end}".strip()


def region_tree_order(regions: pd.DataFrame) -> list[str]:
    """Province, then each city followed by its counties and their zones and towns."""
    by_parent: dict[str, list[str]] = {}
    for code, parent in zip(regions["code"], regions["parent_code"].fillna(""), strict=True):
        by_parent.setdefault(parent or "", []).append(code)
    order: list[str] = []
    seen: set[str] = set()

    def visit(code: str) -> None:
        if code in seen:
            return
        seen.add(code)
        order.append(code)
        for child in sorted(by_parent.get(code, []), key=lambda c: (LEVEL_ORDER.get(regions.at[c, "level"], 9), c)):
            visit(child)

    for root in sorted(c for c in regions["code"] if not regions.at[c, "parent_code"] or
                       regions.at[c, "parent_code"] not in regions.index):
        visit(root)
    return order


def data_as_of(runs: pd.DataFrame, articles: pd.DataFrame, sqlite_path: Path | None) -> DataAsOf:
    """Last successful refresh; else when the articles were loaded; else when the database was written."""
    if not runs.empty and "outcome" in runs.columns:
        ok = runs[runs["outcome"] == "success"]
        if not ok.empty:
            finished = ok["finished_at"].dropna().max() if "finished_at" in ok.columns else None
            if finished is None or pd.isna(finished):
                finished = ok["started_at"].max()
            return DataAsOf(stamp(finished), "最近一次成功更新", "last successful refresh")
    if "loaded_at" in articles.columns and articles["loaded_at"].notna().any():
        return DataAsOf(stamp(articles["loaded_at"].max()), "最新文章载入", "newest article load")
    written = _file_time(sqlite_path)
    if written is not None:
        return DataAsOf(stamp(pd.Timestamp(written, unit="s", tz="UTC")), "数据库写入", "database written")
    return DataAsOf("", "", "")


def stamp(value) -> str:
    """A time as analysts read it: Beijing time to the minute ('' when unknown). Naive times are UTC."""
    if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
        return ""
    moment = pd.Timestamp(value)
    if moment.tzinfo is None:
        moment = moment.tz_localize("UTC")
    return moment.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d %H:%M")


# --- queries --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The filters that select facts; hashable so it keys the cache."""

    families: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    review: bool = True
    search: str = ""
    source: str = ""  # article | statistics | '' (both); the table's filter, like the search


def descendants(snap: Snapshot, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The regions and everything below them in the tree, in tree order."""
    out: dict[str, None] = {}
    stack = list(codes)
    while stack:
        code = stack.pop()
        if code in out:
            continue
        out[code] = None
        stack.extend(snap.children.get(code, []))
    return tuple(c for c in snap.region_order if c in out) + tuple(c for c in out if c not in snap.region_order)


def query_for(snap: Snapshot, state: ViewState, with_search: bool = False) -> Query:
    """The facts query a view state asks for (regions expanded when sub-regions are included)."""
    regions = descendants(snap, state.regions) if state.include_sub and state.regions else state.regions
    return Query(families=state.families, indicators=state.indicators, regions=tuple(regions),
                 levels=state.levels, year_from=state.year_from, year_to=state.year_to, review=state.review,
                 search=state.search.strip() if with_search else "", source=state.source if with_search else "")


def apply_query(snap: Snapshot, query: Query) -> pd.DataFrame:
    """Filter the snapshot's facts; keeps the representative-first order."""
    facts = snap.facts
    if facts.empty:
        return facts
    mask = pd.Series(True, index=facts.index)
    if query.families:
        mask &= facts["family"].isin(query.families)
    if query.indicators:
        mask &= facts["indicator_code"].isin(query.indicators)
    if query.regions:
        mask &= facts["region_code"].isin(query.regions)
    if query.levels:
        mask &= facts["region_level"].isin(query.levels)
    if query.year_from is not None:
        mask &= facts["year"] >= query.year_from
    if query.year_to is not None:
        mask &= facts["year"] <= query.year_to
    if not query.review:
        mask &= ~facts["needs_review"]
    if query.source:
        mask &= facts["source_kind"] == query.source
    selected = facts[mask]
    if query.search:
        selected = selected[selected["search_text"].str.contains(query.search.lower(), regex=False)]
    return selected


def facts_for(repo: Repository, state: ViewState, with_search: bool = False) -> tuple[Snapshot, pd.DataFrame]:
    snap = repo.snapshot()
    if not snap.ok:
        return snap, pd.DataFrame(columns=FACT_COLUMNS)
    return snap, repo.filtered(snap, query_for(snap, state, with_search))


def latest_rows(facts: pd.DataFrame, period: str = LATEST) -> pd.DataFrame:
    """One figure per region and indicator: the latest year (or the chosen year), best-sourced first."""
    if period != LATEST:
        facts = facts[facts["year"] == int(period)]
    return _first_per(facts, ["region_code", "indicator_code"])


def yearly_rows(facts: pd.DataFrame) -> pd.DataFrame:
    """One figure per region, indicator and year, for the region × year view."""
    return _first_per(facts, ["region_code", "indicator_code", "year"]).sort_values("year", kind="stable")


def matrix_cells(facts: pd.DataFrame) -> pd.DataFrame:
    """Per region and indicator: how many figures are quoted, and the latest of them."""
    return _first_per(facts, ["region_code", "indicator_code"])


def _first_per(facts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The first row of each group (facts are pre-sorted best-first) with the group's size as `n_quotes`."""
    if facts.empty:
        return facts.assign(n_quotes=pd.Series(dtype=int))
    counts = facts.groupby(keys, observed=True).size().rename("n_quotes")
    first = facts.drop_duplicates(keys, keep="first")
    return first.merge(counts, left_on=keys, right_index=True, how="left").reset_index(drop=True)


@dataclass(frozen=True)
class Option:
    value: str
    label_zh: str
    label_en: str
    count: int = 0
    depth: int = 0
    level: str = ""
    available: bool = True


@dataclass(frozen=True)
class FilterOptions:
    """What each filter offers, given the other filters: only choices that lead to data."""

    families: list[Option]
    indicators: list[Option]
    regions: list[Option]
    years: tuple[int, int] | None
    state: ViewState


def filter_options(snap: Snapshot, state: ViewState) -> FilterOptions:
    """Options that fit the data, and the state with choices the data cannot honour removed."""
    if not snap.ok:
        return FilterOptions([], [], [], None, state)
    avail = snap.availability
    indicators = snap.indicators

    families_present = set(avail["family"].astype(str))
    families = tuple(f for f in state.families if f in families_present)
    by_family = avail[avail["family"].isin(families)] if families else avail

    chosen_regions = descendants(snap, state.regions) if state.include_sub and state.regions else state.regions
    for_indicators = by_family[by_family["region_code"].isin(chosen_regions)] if chosen_regions else by_family
    if state.levels:
        for_indicators = for_indicators[for_indicators["region_level"].isin(state.levels)]
    indicator_counts = for_indicators.groupby("indicator_code", observed=True)["n"].sum()
    valid_indicators = set(by_family["indicator_code"].astype(str))
    chosen_indicators = tuple(i for i in state.indicators if i in valid_indicators)

    for_regions = by_family[by_family["indicator_code"].isin(chosen_indicators)] if chosen_indicators else by_family
    if state.levels:
        for_regions = for_regions[for_regions["region_level"].isin(state.levels)]
    region_counts = for_regions.groupby("region_code", observed=True)["n"].sum()
    regions = tuple(r for r in state.regions if r in snap.regions.index)

    for_years = for_regions[for_regions["region_code"].isin(chosen_regions)] if chosen_regions else for_regions
    years = (int(for_years["year"].min()), int(for_years["year"].max())) if not for_years.empty else None
    year_from, year_to = state.year_from, state.year_to
    if year_from is not None and year_to is not None and year_from > year_to:
        year_from, year_to = year_to, year_from
    if years is not None:
        year_from = None if year_from is None or year_from <= years[0] else min(year_from, years[1])
        year_to = None if year_to is None or year_to >= years[1] else max(year_to, years[0])
    period = state.period
    if period != LATEST and (years is None or not years[0] <= int(period) <= years[1]):
        period = LATEST

    normalized = state.replace(families=families, indicators=chosen_indicators, regions=regions,
                               year_from=year_from, year_to=year_to, period=period)
    return FilterOptions(
        families=_family_options(snap, avail),
        indicators=_indicator_options(indicators, indicator_counts, families, chosen_indicators),
        regions=_region_options(snap, region_counts, regions),
        years=years,
        state=normalized,
    )


def _family_options(snap: Snapshot, avail: pd.DataFrame) -> list[Option]:
    counts = avail.groupby("family", observed=True)["n"].sum()
    names = snap.indicators.drop_duplicates("family").set_index("family")
    out = []
    for family in fmt_family_order(counts.index.astype(str)):
        zh = names.at[family, "family_name_zh"] if family in names.index else family
        en = names.at[family, "family_name_en"] if family in names.index else ""
        out.append(Option(family, zh or family, en or family, int(counts.get(family, 0))))
    return out


def fmt_family_order(families) -> list[str]:
    """Families in taxonomy order where known, then any others alphabetically."""
    known = [f for f in FAMILIES if f in set(families)]
    return known + sorted(set(families) - set(known))


def _indicator_options(indicators: pd.DataFrame, counts: pd.Series, families: tuple[str, ...],
                       chosen: tuple[str, ...]) -> list[Option]:
    pool = indicators[indicators["family"].isin(families)] if families else indicators
    out = []
    for code, row in pool.iterrows():
        n = int(counts.get(code, 0))
        if n or code in chosen:
            out.append(Option(str(code), str(row["name_zh"]), str(row["name_en"]), n, available=bool(n)))
    family_rank = {f: i for i, f in enumerate(fmt_family_order(pool["family"].astype(str)))}
    return sorted(out, key=lambda o: (family_rank.get(indicators.at[o.value, "family"], 99), -o.count))


def _region_options(snap: Snapshot, counts: pd.Series, chosen: tuple[str, ...]) -> list[Option]:
    """Regions with data (or chosen), with their ancestors shown greyed out so the tree reads."""
    keep = {c for c, n in counts.items() if n} | set(chosen)
    shown = set(keep)
    for code in keep:
        parent = snap.regions.at[code, "parent_code"] if code in snap.regions.index else ""
        while parent and parent in snap.regions.index and parent not in shown:
            shown.add(parent)
            parent = snap.regions.at[parent, "parent_code"]
    out = []
    for code in snap.region_order:
        if code not in shown:
            continue
        row = snap.regions.loc[code]
        out.append(Option(code, str(row["name_zh"]), str(row["name_en"]), int(counts.get(code, 0)),
                          depth=_depth(snap, code), level=str(row["level"]), available=code in keep))
    return out


def _depth(snap: Snapshot, code: str) -> int:
    depth, parent = 0, snap.regions.at[code, "parent_code"]
    while parent and parent in snap.regions.index and depth < 6:
        depth += 1
        parent = snap.regions.at[parent, "parent_code"]
    return depth


def focus_indicators(snap: Snapshot, facts: pd.DataFrame, state: ViewState) -> tuple[str, ...]:
    """The chosen indicators; with none chosen, the most-quoted one (headline indicators first)."""
    if state.indicators:
        return state.indicators
    if facts.empty:
        return ()
    counts = facts["indicator_code"].value_counts()
    counts = counts[counts > 0]
    headline = snap.indicators["headline"].astype(bool) if "headline" in snap.indicators else pd.Series(dtype=bool)
    ranked = sorted(counts.index, key=lambda c: (not bool(headline.get(c, False)), -int(counts[c]), str(c)))
    return (str(ranked[0]),) if ranked else ()


BOUNDARY_FILES = {"city": "zhejiang_cities.geojson", "county": "zhejiang_counties.geojson"}
BOUNDARY_ROUTE = "/boundaries/"


def boundary_path(level: str) -> Path:
    """The boundary file for a map level: 11 cities or 90 counties (see data/reference/CREDITS.md)."""
    return REFERENCE_DIR / BOUNDARY_FILES[level if level in BOUNDARY_FILES else "city"]


def boundary_url(level: str) -> str:
    """Where the app serves the boundary file, so the browser fetches it once instead of in every figure."""
    return f"{BOUNDARY_ROUTE}{BOUNDARY_FILES[level if level in BOUNDARY_FILES else 'city']}"


@lru_cache(maxsize=2)
def boundaries(level: str) -> dict:
    with open(boundary_path(level), encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=2)
def centres(level: str) -> dict[str, tuple[float, float]]:
    """Each area's centre (the centroid of its largest ring), where the map puts a mark an area cannot carry."""
    out = {}
    for feature in boundaries(level)["features"]:
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates") or []
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        best: tuple[float, float, float] | None = None
        for polygon in polygons:
            ring = polygon[0] if polygon else []
            area = cx = cy = 0.0
            for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
                cross = x0 * y1 - x1 * y0
                area += cross
                cx += (x0 + x1) * cross
                cy += (y0 + y1) * cross
            if area and (best is None or abs(area) > best[0]):
                best = (abs(area), cx / (3 * area), cy / (3 * area))
        if best is not None:
            out[str(feature.get("properties", {}).get("adcode"))] = (best[1], best[2])
    return out


def map_rows(facts: pd.DataFrame, level: str, period: str = LATEST) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figures for the map's level with a boundary, and the zones and towns that have none (listed beside)."""
    rows = latest_rows(facts, period)
    if rows.empty:
        return rows, rows
    codes = {str(f["properties"].get("adcode")) for f in boundaries(level)["features"]}
    on_map = rows[(rows["region_level"] == level) & rows["region_code"].astype(str).isin(codes)]
    beside = rows[rows["region_level"].isin(["zone", "town"])].sort_values("value", ascending=False)
    return on_map, beside


# --- the table -------------------------------------------------------------------------------------------

TABLE_COLUMNS = [
    ("region_name", "地区 Region"),
    ("indicator_name_zh", "指标 Indicator"),
    ("display", "数值 Value"),
    ("year", "年份 Year"),
    ("source_text", "来源 Source"),
    ("quote", "原文 Quote"),
    ("title", "文章 Article"),
    ("outlet", "媒体 Outlet"),
    ("published", "发布日期 Published"),
    ("qualifier_text", "限定 Qualifier"),
    ("status_text", "状态 Status"),
    ("value", "精确值 Exact value"),
    ("unit", "单位 Unit"),
    ("period", "期间 Period"),
    ("fact_id", "编号 Fact ID"),
]
SORT_ALIASES = {"display": "value", "qualifier_text": "qualifier", "status_text": "status",
                "source_text": "source_kind"}
DEFAULT_TABLE_ORDER = (["region_code", "indicator_code", "year"], [True, True, False])


def sort_table(facts: pd.DataFrame, sort_model: list[dict] | None) -> pd.DataFrame:
    """The table's order: the grid's sort model, else region, indicator, newest year."""
    columns, ascending = [], []
    for item in sort_model or []:
        column = SORT_ALIASES.get(item.get("colId", ""), item.get("colId", ""))
        if column in facts.columns:
            columns.append(column)
            ascending.append(item.get("sort") != "desc")
    if not columns:
        columns, ascending = DEFAULT_TABLE_ORDER
        columns = [c for c in columns if c in facts.columns]
        ascending = ascending[: len(columns)]
    return facts.sort_values(columns, ascending=ascending, kind="stable")


def table_records(facts: pd.DataFrame) -> pd.DataFrame:
    """The table's columns, as shown on screen (and downloaded)."""
    frame = pd.DataFrame({
        "region_name": facts["region_name"].astype(str),
        "indicator_name_zh": facts["indicator_name_zh"].astype(str),
        "display": facts["display"],
        "value": facts["value"],
        "unit": _labels(facts["unit"], fmt.unit_label),
        "year": facts["year"],
        "period": facts["period"],
        "qualifier_text": _labels(facts["qualifier"], fmt.qualifier_text),
        "status_text": _labels(facts["status"], fmt.status_text),
        "source_text": _labels(facts["source_kind"], fmt.source_text),
        "quote": facts["quote"],
        "title": facts["title"],
        "outlet": facts["outlet"],
        "published": facts["published"],
        "fact_id": facts["fact_id"],
    })
    frame["inexact"] = facts["inexact"].to_numpy()
    frame["needs_review"] = facts["needs_review"].to_numpy()
    frame["statistics"] = (facts["source_kind"] == STATISTICS).to_numpy()
    return frame


def _labels(codes: pd.Series, label) -> pd.Series:
    """Label a coded column once per distinct code rather than once per row."""
    mapping = {code: label(str(code)) for code in codes.unique()}
    return codes.map(mapping).astype(str)


def table_page(ordered: pd.DataFrame, start: int, end: int) -> tuple[list[dict], int]:
    """One block of already-sorted rows for the grid's infinite row model, and the total row count."""
    block = table_records(ordered.iloc[max(start, 0):max(end, 0)])
    return block.to_dict("records"), len(ordered)


def table_csv(ordered: pd.DataFrame) -> bytes:
    """The table as CSV with its on-screen headers; UTF-8 with BOM so Excel reads the Chinese text."""
    frame = table_records(ordered)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in TABLE_COLUMNS])
    writer.writerows(zip(*(frame[column].tolist() for column, _ in TABLE_COLUMNS), strict=True))
    return buffer.getvalue().encode("utf-8-sig")


# --- provenance and status -------------------------------------------------------------------------------


def provenance(snap: Snapshot, fact_id: str) -> dict | None:
    """A fact with its article, and the other quotes for the same region, indicator and year."""
    if not snap.ok or not fact_id:
        return None
    facts = snap.facts
    hit = facts[facts["fact_id"] == fact_id]
    if hit.empty:
        return None
    row = hit.iloc[0]
    same = facts[(facts["region_code"] == row["region_code"]) & (facts["indicator_code"] == row["indicator_code"])
                 & (facts["year"] == row["year"]) & (facts["fact_id"] != fact_id)]
    return {"fact": row.to_dict(), "others": [r.to_dict() for _, r in same.head(10).iterrows()]}


def status_info(snap: Snapshot, limit: int = 15) -> dict:
    """Last refresh, its outcome, recent failures, counts, and the next scheduled run when known."""
    runs = snap.runs
    info: dict = {"as_of": snap.as_of, "runs": pd.DataFrame(), "last": None, "failures": pd.DataFrame(),
                  "next_run": next_run_time(), "rejected": snap.rejected,
                  "n_facts": len(snap.facts), "db": snap.db_label}
    if runs is not None and not runs.empty and "run_id" in runs.columns:
        ordered = runs.sort_values("run_id", ascending=False)
        info["runs"] = ordered.head(limit)
        info["last"] = ordered.iloc[0].to_dict()
        if "outcome" in ordered.columns:
            info["failures"] = ordered[ordered["outcome"] == "failed"].head(5)
    return info


def next_run_time() -> str | None:
    """When the scheduled refresh fires next (`etl.jobs.schedule`), as analysts read times; None when off."""
    try:
        value = schedule.next_run_time()
    except Exception:  # noqa: BLE001 - a REFRESH_TZ the system does not know must not break the status page
        return None
    return stamp(value) if value is not None else None


# --- the process-wide repository -------------------------------------------------------------------------

_repository: Repository | None = None
_repository_lock = threading.Lock()


def use_database(db_url: str | None) -> Repository:
    """Point the dashboard at a database (`--db`); None means DATABASE_URL, else the default SQLite file."""
    global _repository
    with _repository_lock:
        _repository = Repository(db_url)
        return _repository


def repository() -> Repository:
    global _repository
    with _repository_lock:
        if _repository is None:
            _repository = Repository(None)
        return _repository
