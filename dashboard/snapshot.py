"""One data version of the curated database, loaded once and shaped for the views.

`build_snapshot` reads the current facts (joined with their articles, labelled, and pre-sorted so that the
first row of any group is the figure to show for it), the reference tables, the run log, and the per-capita
and cross-check tables. Nothing here writes to the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from dashboard import fmt
from etl.curate.comparable import basis_columns, period_label, period_label_en, reference_month
from etl.jobs import schedule
from etl.vocabulary import FACT_COLUMNS, NON_CURRENT_STATUSES, PRESS, STATISTICS

ARTICLE_COLUMNS = ["article_id", "title", "outlet", "published", "published_precision", "file", "url"]
LEVEL_ORDER = {"province": 0, "city": 1, "county": 2, "zone": 3, "town": 3}
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
    data_period: str = ""  # 数据截至: the latest month the figures refer to ('2024年10月')

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def file_time(path: Path | None) -> float | None:
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
    availability = (facts.groupby(["family", "indicator_code", "region_code", "region_level", "year", "needs_review"],
                                  observed=True).size().rename("n").reset_index())
    rate_of = derived_indicators(derived)
    return Snapshot(
        version=version, state="ok", message="", db_label=label, facts=facts, regions=regions,
        indicators=indicators, runs=runs, rejected=rejected, articles=articles, as_of=data_as_of(runs, articles, sqlite_path),
        availability=availability, region_order=order, children=children,
        derived=prepare_derived(derived, facts, rate_of, indicators), crosscheck=prepare_crosscheck(crosscheck, facts, indicators),
        rate_of=rate_of, data_period=month_text(reference_month(facts, articles.get("published", pd.Series(dtype=str)))),
    )


def month_text(month: tuple[int, int] | None) -> str:
    return f"{month[0]}年{month[1]}月" if month else ""


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


NUMERATOR_COLUMNS = ["title", "outlet", "published", "needs_review", "number_text", "period", "period_en", "region_name_en",
                     "source_kind", "source_tier", "period_kind", "period_start", "period_end", "url"]
# copied from the numerator fact; `status` stays the derived row's own


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
    derived = pd.concat([derived, basis_columns(derived)], axis=1)
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
    if "source_tier" not in facts.columns:  # a database from before the tiers: nobody said what the page is
        facts["source_tier"] = np.where(facts["source_kind"] == STATISTICS, "unverified", PRESS)
    facts["source_tier"] = facts["source_tier"].fillna(PRESS).astype(str)
    if "url" not in facts.columns:
        facts["url"] = ""
    facts["url"] = facts["url"].fillna("").astype(str)
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
    periods = list(zip(facts["period_kind"].astype(str).tolist(), facts["period_start"].tolist(),
                       facts["period_end"].astype(str).tolist(), strict=True))
    facts["period"] = _memo_map(period_label, periods)
    facts["period_en"] = _memo_map(period_label_en, periods)
    facts["search_text"] = (facts["region_name"].astype(str) + "|" + facts["region_name_en"] + "|"
                            + facts["indicator_name_zh"].astype(str) + "|" + facts["indicator_name_en"].astype(str)
                            + "|" + facts["title"] + "|" + facts["quote"].astype(str)).str.lower()
    facts = pd.concat([facts, basis_columns(facts)], axis=1)
    facts["_review_rank"] = facts["needs_review"].astype(int)
    facts["_exact_rank"] = facts["inexact"].astype(int)
    facts = facts.sort_values(
        ["year", "_review_rank", "_exact_rank", "published", "period_end", "fact_id"],
        ascending=[False, True, True, False, False, True], kind="stable", ignore_index=True)
    # Categories make filters and table sorts compare small integer codes instead of strings.
    for column in ("region_code", "region_level", "indicator_code", "family", "unit", "qualifier", "status",
                   "region_name", "indicator_name_zh", "indicator_name_en", "title", "outlet", "published",
                   "period", "quote", "source_kind", "source_tier"):
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
    written = file_time(sqlite_path)
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


def next_run_time() -> str | None:
    """When the scheduled refresh fires next (`etl.jobs.schedule`), as analysts read times; None when off."""
    try:
        value = schedule.next_run_time()
    except Exception:  # noqa: BLE001 - a REFRESH_TZ the system does not know must not break the status page
        return None
    return stamp(value) if value is not None else None
