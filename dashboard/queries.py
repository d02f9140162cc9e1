"""What a view asks of a snapshot: the facts a view state selects, the filter options that fit the data,
one figure per region and indicator (and year), rates, provenance and the status page's facts.

Plain functions of a `Snapshot`; the repository remembers their results per data version.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard import fmt
from dashboard.snapshot import DerivedIndicator, Snapshot, next_run_time
from dashboard.urlstate import LATEST, RATE, ViewState
from etl.curate.comparable import Basis, Comparison, pick, pick_each, reference_month
from etl.vocabulary import FAMILIES


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


REGION_INDICATOR = ("region_code", "indicator_code")
SERIES = ("region_code", "indicator_code", "cmp_year")


def comparison(facts: pd.DataFrame, period: str = LATEST, basis: Basis | None = None, level: str | None = None,
               per: tuple[str, ...] = REGION_INDICATOR) -> Comparison:
    """One comparable set of the facts (etl.curate.comparable): the set asked for, else the largest; of the
    chosen year, else each region's latest figure of the commonest kind. The figures drawn carry how many
    quotes their region and indicator have (`n_quotes`); the others come back with the reason."""
    year = int(period) if period != LATEST and not (basis and basis.period) else None
    if per == SERIES and basis is not None:
        basis = Basis(basis.kind, "", basis.level)
    found = pick(facts, basis, year, level, per)
    found.shown = _with_counts(found.shown, facts, list(REGION_INDICATOR))
    return found


def _with_counts(rows: pd.DataFrame, facts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`rows` with the number of figures their group has among `facts` as `n_quotes`."""
    if rows.empty:
        return rows.assign(n_quotes=pd.Series(dtype=int))
    counts = facts.groupby(keys, observed=True).size().rename("n_quotes")
    return rows.merge(counts, left_on=keys, right_index=True, how="left").reset_index(drop=True)


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
    """Options that fit the data, and the state with choices the data cannot honour removed.

    Each list's counts follow every other filter (a region's count is of the chosen indicators, levels,
    years and review choice), so a choice never promises figures the view will not show.
    """
    if not snap.ok:
        return FilterOptions([], [], [], None, state)
    avail = snap.availability
    families_present = set(avail["family"].astype(str))
    families = tuple(f for f in state.families if f in families_present)
    by_family = avail[avail["family"].isin(families)] if families else avail
    valid_indicators = set(by_family["indicator_code"].astype(str))
    chosen_indicators = tuple(i for i in state.indicators if i in valid_indicators)
    regions = tuple(r for r in state.regions if r in snap.regions.index)
    chosen_regions = descendants(snap, regions) if state.include_sub and regions else regions
    narrowed = state.replace(families=families, indicators=chosen_indicators)

    def counts(by: str, *skip: str) -> pd.Series:
        return _narrow(avail, narrowed, chosen_regions, skip).groupby(by, observed=True)["n"].sum()

    for_years = _narrow(avail, narrowed, chosen_regions, ("years",))
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
    normalized = narrowed.replace(regions=regions, year_from=year_from, year_to=year_to, period=period,
                                  cmp=state.cmp if Basis.parse(state.cmp) else "")
    return FilterOptions(
        families=_family_options(snap, counts("family", "families", "indicators")),
        indicators=_indicator_options(snap.indicators, counts("indicator_code", "indicators"), families,
                                      chosen_indicators),
        regions=_region_options(snap, counts("region_code", "regions"), regions),
        years=years,
        state=normalized,
    )


def _narrow(avail: pd.DataFrame, state: ViewState, regions: tuple[str, ...], skip: tuple[str, ...]) -> pd.DataFrame:
    """The availability rows every filter but those in `skip` keeps."""
    keep = pd.Series(True, index=avail.index)
    if state.families and "families" not in skip:
        keep &= avail["family"].isin(state.families)
    if state.indicators and "indicators" not in skip:
        keep &= avail["indicator_code"].isin(state.indicators)
    if regions and "regions" not in skip:
        keep &= avail["region_code"].isin(regions)
    if state.levels:
        keep &= avail["region_level"].isin(state.levels)
    if "years" not in skip:
        if state.year_from is not None:
            keep &= avail["year"] >= state.year_from
        if state.year_to is not None:
            keep &= avail["year"] <= state.year_to
    if not state.review:
        keep &= ~avail["needs_review"].astype(bool)
    return avail[keep]


def _family_options(snap: Snapshot, counts: pd.Series) -> list[Option]:
    names = snap.indicators.drop_duplicates("family").set_index("family")
    out = []
    for family in fmt_family_order(snap.availability["family"].astype(str).unique()):
        zh = names.at[family, "family_name_zh"] if family in names.index else family
        en = names.at[family, "family_name_en"] if family in names.index else ""
        n = int(counts.get(family, 0))
        out.append(Option(family, zh or family, en or family, n, available=bool(n)))
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


def data_month(rows: pd.DataFrame) -> tuple[int, int] | None:
    """The latest month the rows' figures refer to (数据截至 of a chart)."""
    if rows.empty or "period_end" not in rows.columns:
        return None
    return reference_month(rows, pd.Series(dtype=str))  # a chart's own figures: no publication cap


def _filter_words(snap: Snapshot, state: ViewState) -> list[tuple[str, tuple[str, str], dict]]:
    """The filters in effect: (name, (zh, en) wording, the change that undoes it), most likely culprit first."""
    names = lambda codes, column: "、".join(  # noqa: E731
        str(snap.indicators.at[c, column]) if c in snap.indicators.index else c for c in codes)
    found = []
    if state.year_from is not None or state.year_to is not None:
        span = f"{state.year_from or ''}–{state.year_to or ''}"
        found.append(("years", (f"年份 {span}", f"years {span}"), {"year_from": None, "year_to": None}))
    if state.levels:
        found.append(("levels", ("层级 " + "、".join(fmt.LEVEL_LABEL[lv][0] for lv in state.levels),
                                 "level " + ", ".join(state.levels)), {"levels": ()}))
    if state.regions:
        regions = "、".join(str(snap.regions.at[c, "name_zh"]) for c in state.regions if c in snap.regions.index)
        found.append(("regions", (f"地区 {regions}", f"regions {regions}"), {"regions": (), "include_sub": False}))
    if not state.review:
        found.append(("review", ("不含待复核", "excluding figures needing review"), {"review": True}))
    if state.indicators:
        found.append(("indicators", (f"指标 {names(state.indicators, 'name_zh')}",
                                     f"indicator {names(state.indicators, 'name_en')}"), {"indicators": ()}))
    if state.families:
        found.append(("families", ("指标族 " + "、".join(state.families), "family " + ", ".join(state.families)),
                      {"families": ()}))
    return found


def emptying_filter(snap: Snapshot, state: ViewState) -> tuple[tuple[str, str], ViewState] | None:
    """When the state selects no figure: the first filter whose removal brings figures back, and the state
    without it; None when the view has figures or no single filter explains the emptiness."""
    if not snap.ok or not apply_query(snap, query_for(snap, state)).empty:
        return None
    for _name, words, undo in _filter_words(snap, state):
        relaxed = state.replace(**undo, cmp="")
        if not apply_query(snap, query_for(snap, relaxed)).empty:
            return words, relaxed
    return None


def matrix_sets(rows: pd.DataFrame, levels: tuple[str, ...]) -> tuple[pd.DataFrame, Comparison, str, pd.Series]:
    """The matrix's cells: regions of one level (the one chosen in the level filter, else the one with most
    regions), each indicator's column one comparable kind (its commonest), each region's latest figure of it.

    Returns the cells, what the columns leave out (as a `Comparison`), the level, and the regions each other
    level has, for the links that switch to it.
    """
    if rows.empty:
        empty = rows.assign(n_quotes=pd.Series(dtype=int))
        return empty, Comparison(None, empty, empty.assign(reason_zh="", reason_en="")), "", pd.Series(dtype=int)
    by_level = rows.groupby("cmp_level", observed=True)["region_code"].nunique()
    by_level = by_level[by_level > 0]
    level = levels[0] if len(levels) == 1 else str(by_level.idxmax())
    found = pick_each(rows, "indicator_code", level)
    cells = _with_counts(found.shown, rows, list(REGION_INDICATOR))
    return cells, Comparison(None, cells, found.left_out), level, by_level.drop(level, errors="ignore")
