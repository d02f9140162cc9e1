"""What the officials' workbook shows: the curated tables read from the database (`load_export_data`) or
handed over by a caller (`ExportData.from_frames`), cut to current facts and the reader's filters.

Filtering lives in `ExportData.from_frames` only, so the command line, the dashboard's download button and
the refresh job show exactly the same figures for the same filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine

from etl.curate.comparable import reference_month
from etl.curate.percapita import CROSSCHECK_COLUMNS, DERIVED_COLUMNS
from etl.store import schema
from etl.vocabulary import ARTICLE, FAMILIES, NON_CURRENT_STATUSES, PRESS, STATISTICS
from etl.workbook.frames import RegionTree, resolve_regions

BEIJING = timezone(timedelta(hours=8), "北京时间")  # China keeps one zone and no daylight saving
# Columns the workbook cannot do without, and the others with the value a missing one takes, so callers
# holding a narrower frame (the dashboard) or an older database still get a workbook.
REQUIRED = {
    "facts": ["fact_id", "article_id", "region_code", "region_name", "indicator_code", "indicator_name_zh",
              "family", "value", "unit", "qualifier", "period_end", "period_kind", "year", "quote", "status"],
    "articles": ["article_id", "title", "published"],
    "indicators": ["code", "name_zh", "family", "unit"],
    "regions": ["code", "name_zh", "level", "parent_code"],
    "derived": ["indicator_code", "family", "region_code", "region_name", "year", "value", "unit", "status",
                "numerator_indicator_code", "numerator_value"],
    "crosscheck": ["region_code", "region_name", "indicator_code", "indicator_name_zh", "article_year",
                   "official_year", "article_value", "official_value", "relative_difference", "consistent"],
}
OPTIONAL = {
    "facts": {"region_level": "", "indicator_name_en": "", "value_high": None, "period_start": None,
              "char_start": 0, "number_text": "", "review_reason": "", "source_kind": ARTICLE,
              "source_title": "", "source_url": "", "period_source": "", "source_tier": ""},
    # `url`: the article's address where the manifest gives one
    "articles": {"file": "", "outlet": "", "published_precision": "day", "published_note": "",
                 "published_source": "", "primary_region_name": "", "url": ""},
    "indicators": {"name_en": "", "family_name_zh": "", "family_name_en": "", "headline": False,
                   "description": "", "description_zh": ""},
    "regions": {"name_en": "", "aliases": "", "note": ""},
    # derived_facts and crosscheck (etl.curate.percapita): numbers missing are empty cells, texts missing are blank
    "derived": {c: None if c in ("value_high", "numerator_value_high", "denominator_value", "denominator_year",
                                 "numerator_year", "proxy_year") else ""
                for c in DERIVED_COLUMNS if c not in REQUIRED["derived"]},
    "crosscheck": {c: "" for c in CROSSCHECK_COLUMNS if c not in REQUIRED["crosscheck"]},
}
DERIVED_NUMBERS = ("value", "value_high", "numerator_value", "numerator_value_high", "denominator_value",
                   "denominator_year")


@dataclass(frozen=True)
class ExportFilters:
    """What the reader asked for; empty means everything. Regions may be codes, names or aliases."""

    families: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def __post_init__(self) -> None:
        for name in ("families", "indicators", "regions"):  # lists from argparse or Dash become hashable
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))


def now_beijing() -> datetime:
    return datetime.now(BEIJING)


def empty_derived() -> pd.DataFrame:
    return _normalise_derived(pd.DataFrame(columns=DERIVED_COLUMNS))


def empty_crosscheck() -> pd.DataFrame:
    return _normalise_crosscheck(pd.DataFrame(columns=CROSSCHECK_COLUMNS))


@dataclass
class ExportData:
    """Everything the workbook shows, already filtered to current facts and the reader's filters.

    `derived` (per-capita values) and `crosscheck` (article vs official figures) are the pipeline's
    `derived_facts` and `crosscheck` tables; a caller without them gets their sheets with a sentence instead.
    """

    facts: pd.DataFrame
    articles: pd.DataFrame
    indicators: pd.DataFrame
    regions: pd.DataFrame
    filters: ExportFilters
    data_as_of: str  # 数据截至: the latest month the figures refer to (see `reference_period`)
    refreshed_at: str = ""  # when the data was last refreshed, '' when no run is logged
    generated_at: datetime = field(default_factory=now_beijing)
    region_filter_labels: tuple[str, ...] = ()
    derived: pd.DataFrame = field(default_factory=empty_derived)
    crosscheck: pd.DataFrame = field(default_factory=empty_crosscheck)

    @classmethod
    def from_frames(cls, facts: pd.DataFrame, articles: pd.DataFrame, indicators: pd.DataFrame,
                    regions: pd.DataFrame, filters: ExportFilters | None = None,
                    data_as_of: str = "", derived: pd.DataFrame | None = None,
                    crosscheck: pd.DataFrame | None = None, refreshed_at: str = "") -> ExportData:
        """Filter full tables as every caller must: current facts, then families, indicators, regions, years.

        The region filter keeps a chosen region and everything beneath it. The reference tables are cut to
        what the kept rows use (regions with their parents, so the hierarchy still reads). Derived values
        follow the same filters, matched on the derived indicator or its numerator (see `_derived_mask`);
        cross-check rows on their indicator and the article figure's year.
        """
        filters = filters or ExportFilters()
        given = {"facts": facts, "articles": articles, "indicators": indicators, "regions": regions,
                 "derived": derived, "crosscheck": crosscheck}
        _check_columns({name: frame for name, frame in given.items() if frame is not None})
        facts, articles = _normalise_facts(facts), _normalise_articles(articles)
        indicators, regions = _normalise_indicators(indicators), _normalise_regions(regions)
        derived = empty_derived() if derived is None else _normalise_derived(derived)
        crosscheck = empty_crosscheck() if crosscheck is None else _normalise_crosscheck(crosscheck)
        tree = RegionTree.from_frame(regions)
        region_codes = resolve_regions(filters.regions, regions)
        keep = _filter_mask(facts, indicators, filters, tree, region_codes)
        facts = facts[keep].reset_index(drop=True)
        derived = derived[_derived_mask(derived, indicators, filters, tree, region_codes)].reset_index(drop=True)
        crosscheck = crosscheck[_crosscheck_mask(crosscheck, indicators, filters, tree, region_codes)]
        used_regions = tree.with_ancestors(pd.concat([facts["region_code"], derived["region_code"],
                                                      crosscheck["region_code"]]).unique())
        used_indicators = pd.concat([facts["indicator_code"], derived["indicator_code"]])
        used_articles = pd.concat([facts["article_id"], derived["numerator_article_id"],
                                   crosscheck["article_id"]])
        names = regions.set_index("code")["name_zh"].to_dict()
        return cls(
            facts=facts,
            articles=_rows_in(articles, "article_id", used_articles),
            indicators=_rows_in(indicators, "code", used_indicators),
            regions=_rows_in(regions, "code", used_regions),
            filters=filters,
            data_as_of=data_as_of or reference_period(facts, articles),
            refreshed_at=refreshed_at,
            region_filter_labels=tuple(names.get(c, c) for c in region_codes),
            derived=derived,
            crosscheck=crosscheck.reset_index(drop=True),
        )


def _rows_in(frame: pd.DataFrame, column: str, values: pd.Series) -> pd.DataFrame:
    return frame[frame[column].isin(values)].reset_index(drop=True)


def _check_columns(frames: dict[str, pd.DataFrame]) -> None:
    missing = {name: sorted(set(REQUIRED[name]) - set(frame.columns)) for name, frame in frames.items()}
    missing = {name: cols for name, cols in missing.items() if cols}
    if missing:
        raise ValueError(f"export needs columns the tables lack: {missing}")


def _complete(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The optional columns a frame lacks, added with their defaults; missing text becomes ''."""
    added = {c: default for c, default in OPTIONAL[table].items() if c not in frame.columns}
    frame = frame.assign(**added)
    text = [c for c, default in OPTIONAL[table].items() if isinstance(default, str)]
    return frame.assign(**{c: frame[c].fillna("") for c in text})


def _normalise_facts(facts: pd.DataFrame) -> pd.DataFrame:
    facts = _complete(facts[~facts["status"].isin(NON_CURRENT_STATUSES)], "facts")
    unstated = pd.Series("unverified", index=facts.index).where(facts["source_kind"] == STATISTICS, PRESS)
    return facts.assign(
        source_tier=facts["source_tier"].where(facts["source_tier"] != "", unstated),
        value=pd.to_numeric(facts["value"], errors="coerce").astype(float),
        value_high=pd.to_numeric(facts["value_high"], errors="coerce").astype(float),
        year=pd.to_numeric(facts["year"], errors="coerce").astype(int),
        period_start=facts["period_start"].astype(object).where(facts["period_start"].notna(), None),
        char_start=pd.to_numeric(facts["char_start"], errors="coerce").fillna(0).astype(int),
    )


def _normalise_articles(articles: pd.DataFrame) -> pd.DataFrame:
    articles = _complete(articles, "articles")
    return articles.assign(published=pd.to_datetime(articles["published"], errors="coerce"))


def _normalise_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    indicators = _complete(indicators, "indicators")
    return indicators.assign(
        headline=indicators["headline"].fillna(False).astype(bool),
        family_name_zh=indicators["family_name_zh"].where(indicators["family_name_zh"] != "",
                                                          indicators["family"]),
    )


def _normalise_regions(regions: pd.DataFrame) -> pd.DataFrame:
    return _complete(regions, "regions").assign(parent_code=regions["parent_code"].fillna(""))


def _truthy(values: pd.Series) -> pd.Series:
    """Booleans as SQLite (0/1), PostgreSQL (bool) or a CSV file ('True') spell them."""
    numeric = pd.to_numeric(values.astype(object).where(values.notna(), 0), errors="coerce")
    words = values.astype(str).str.strip().str.lower().isin(("true", "t", "yes"))
    return ((numeric.fillna(0) != 0) | words).astype(bool)


def _normalise_derived(derived: pd.DataFrame) -> pd.DataFrame:
    derived = _complete(derived, "derived")
    numbers = {c: pd.to_numeric(derived[c], errors="coerce").astype(float) for c in DERIVED_NUMBERS}
    return derived.assign(
        **numbers,
        year=pd.to_numeric(derived["year"], errors="coerce").astype(int),
        proxy_year=_truthy(derived["proxy_year"]),
    )


def _normalise_crosscheck(crosscheck: pd.DataFrame) -> pd.DataFrame:
    crosscheck = _complete(crosscheck, "crosscheck")
    numbers = ("article_value", "official_value", "relative_difference")
    return crosscheck.assign(
        **{c: pd.to_numeric(crosscheck[c], errors="coerce").astype(float) for c in numbers},
        **{c: pd.to_numeric(crosscheck[c], errors="coerce").astype(int) for c in ("article_year", "official_year")},
        consistent=_truthy(crosscheck["consistent"]),
    )


def _filter_mask(facts: pd.DataFrame, indicators: pd.DataFrame, filters: ExportFilters, tree: RegionTree,
                 region_codes: list[str]) -> pd.Series:
    """Rows kept by every filter; a family or indicator nobody declared is a typo and stops the export."""
    unknown_families = sorted(set(filters.families) - set(FAMILIES) - set(indicators["family"]))
    unknown_indicators = sorted(set(filters.indicators) - set(indicators["code"]))
    if unknown_families:
        raise ValueError(f"unknown family {unknown_families}; known: {', '.join(FAMILIES)}")
    if unknown_indicators:
        raise ValueError(f"unknown indicator {unknown_indicators}; see the indicators table for codes")
    if filters.year_from is not None and filters.year_to is not None and filters.year_from > filters.year_to:
        raise ValueError(f"year_from {filters.year_from} is after year_to {filters.year_to}")
    keep = pd.Series(True, index=facts.index)
    if filters.families:
        keep &= facts["family"].isin(filters.families)
    if filters.indicators:
        keep &= facts["indicator_code"].isin(filters.indicators)
    return keep & _place_and_time(facts["region_code"], facts["year"], filters, tree, region_codes)


def _place_and_time(region: pd.Series, year: pd.Series, filters: ExportFilters, tree: RegionTree,
                    region_codes: list[str]) -> pd.Series:
    """The region (with everything beneath it) and year filters, shared by every table."""
    keep = pd.Series(True, index=region.index)
    if region_codes:
        keep &= region.isin(tree.descendants(region_codes))
    if filters.year_from is not None:
        keep &= year >= filters.year_from
    if filters.year_to is not None:
        keep &= year <= filters.year_to
    return keep


def _derived_mask(derived: pd.DataFrame, indicators: pd.DataFrame, filters: ExportFilters, tree: RegionTree,
                  region_codes: list[str]) -> pd.Series:
    """A per-capita value is kept when its own indicator or its numerator's matches the family and indicator
    filters, so `--indicator talent_total` keeps 每万常住人口人才资源数 beside the talent total itself."""
    keep = pd.Series(True, index=derived.index)
    numerator_family = derived["numerator_indicator_code"].map(indicators.set_index("code")["family"])
    if filters.families:
        keep &= derived["family"].isin(filters.families) | numerator_family.isin(filters.families)
    if filters.indicators:
        keep &= (derived["indicator_code"].isin(filters.indicators)
                 | derived["numerator_indicator_code"].isin(filters.indicators))
    return keep & _place_and_time(derived["region_code"], derived["year"], filters, tree, region_codes)


def _crosscheck_mask(crosscheck: pd.DataFrame, indicators: pd.DataFrame, filters: ExportFilters,
                     tree: RegionTree, region_codes: list[str]) -> pd.Series:
    """Cross-check rows by their indicator's family and code, region, and the article figure's year."""
    keep = pd.Series(True, index=crosscheck.index)
    if filters.families:
        family = crosscheck["indicator_code"].map(indicators.set_index("code")["family"])
        keep &= family.isin(filters.families)
    if filters.indicators:
        keep &= crosscheck["indicator_code"].isin(filters.indicators)
    return keep & _place_and_time(crosscheck["region_code"], crosscheck["article_year"], filters, tree,
                                  region_codes)


def reference_period(facts: pd.DataFrame, articles: pd.DataFrame) -> str:
    """数据截至 as the cover prints it (see `etl.curate.comparable.reference_month`)."""
    month = reference_month(facts, articles["published"])
    return f"{month[0]}年{month[1]}月" if month else "—"


def last_refresh(conn: Connection) -> str:
    """Finish time of the latest successful run in Beijing time, '' when the run log is empty or absent."""
    if not inspect(conn).has_table("runs"):
        return ""
    runs = schema.runs
    finished = conn.execute(
        select(runs.c.finished_at).where(runs.c.outcome == "success", runs.c.finished_at.is_not(None))
        .order_by(runs.c.finished_at.desc()).limit(1)).scalar()
    if finished is None:
        return ""
    stamp = pd.Timestamp(finished)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp  # the run log writes UTC
    return f"{stamp.tz_convert(BEIJING):%Y-%m-%d %H:%M}（北京时间）"


def _used(table, name: str, present: set[str] | None = None) -> list:
    """The table's columns the workbook shows or needs (`REQUIRED` and `OPTIONAL`), of those `present`:
    the facts table's offsets and extraction details are never shown, so they are not read."""
    wanted = {*REQUIRED[name], *OPTIONAL[name]}
    return [c for c in table.c if c.name in wanted and (present is None or c.name in present)]


def read_if_present(conn: Connection, table, name: str) -> pd.DataFrame | None:
    """A table's columns that exist in this database, or None when the table does not (an older database)."""
    inspector = inspect(conn)
    if not inspector.has_table(table.name):
        return None
    present = {c["name"] for c in inspector.get_columns(table.name)}
    return pd.read_sql(select(*_used(table, name, present)), conn)


def load_export_data(engine: Engine, filters: ExportFilters | None = None) -> ExportData:
    """Read the curated tables (current facts only), the per-capita and cross-check tables, apply the filters."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("facts"):
            raise ValueError(f"{engine.url!r} has no facts table; run `python -m etl run` first")
        facts = pd.read_sql(select(*_used(schema.facts, "facts"))
                            .where(schema.facts.c.status.not_in(NON_CURRENT_STATUSES)), conn)
        articles = pd.read_sql(select(*_used(schema.articles, "articles")), conn)
        indicators = pd.read_sql(select(*_used(schema.indicators, "indicators")), conn)
        regions = pd.read_sql(select(*_used(schema.regions, "regions")), conn)
        derived = read_if_present(conn, schema.derived_facts, "derived")
        crosscheck = read_if_present(conn, schema.crosscheck, "crosscheck")
        refreshed = last_refresh(conn)
    return ExportData.from_frames(facts, articles, indicators, regions, filters, derived=derived,
                                  crosscheck=crosscheck, refreshed_at=refreshed)
