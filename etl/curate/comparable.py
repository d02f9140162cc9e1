"""Which figures may stand side by side: one definition, used by every ranking, chart, table column and rate.

Two figures are comparable when they measure the same indicator in the same unit over the same kind of
period (a calendar year's flow, a stock at a date, part of a year, a running total over years) and the same
period: the same calendar year; for stocks the same end year; for part-year figures the same months of the
same year; for running totals the same start and end. By default they are also about regions of the same
level. A target is a plan and is never compared with results.

A `Basis` names one such set (its kind, period and level); `pick` draws one basis from the figures a view
selected, keeps one figure per region (and indicator, and year for a series), and returns the others with
the reason each was left out, in Chinese and English, so a view can list them beside the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from etl.vocabulary import LEVEL_LABELS, LEVELS, STOCK_KINDS

# A fact's period kind → the class it is compared in (both stock kinds are stocks).
PERIOD_CLASS = {"year": "year", "partial_year": "partial_year", "cumulative": "cumulative",
                **{kind: "stock" for kind in STOCK_KINDS}}
CLASS_ORDER = ("year", "stock", "partial_year", "cumulative")  # a tie between sets prefers the first
CLASS_NAMES = {"year": ("年度数", "an annual figure"), "stock": ("时点数", "a stock at a date"),
               "partial_year": ("年内部分月份数", "a part-year figure"),
               "cumulative": ("多年累计数", "a running total over years")}
CLASS_PLURALS = {"year": ("年度数", "annual figures"), "stock": ("时点数", "stocks"),
                 "partial_year": ("年内部分月份数", "part-year figures"),
                 "cumulative": ("多年累计数", "running totals")}
LEVEL_NOUNS_EN = {"province": "the province", "city": "a city", "county": "a county-level division",
                  "zone": "a development zone", "town": "a township"}
LEVEL_GROUPS = {"province": ("全省", "the province"), "city": ("各地级市", "cities"),
                "county": ("各县（市、区）", "counties and districts"), "zone": ("各功能区", "development zones"),
                "town": ("各乡镇（街道）", "townships")}
TARGET = "target"
SEP = "~"
COLUMNS = ("cmp_kind", "cmp_period", "cmp_level", "cmp_year")


# --- how a period reads


def _ym(value: object) -> tuple[int, int] | None:
    text = "" if value is None else str(value)
    if len(text) < 7 or text in ("nan", "None", "NaT"):
        return None
    return int(text[:4]), int(text[5:7])


def period_label(kind: str, start: object, end: object) -> str:
    """How an official writes the period: 2024年, 2024年1–8月, 2019年以来累计（至2024年9月）, 截至2024年10月."""
    s, e = _ym(start), _ym(end)
    if e is None:
        return ""
    if kind == "year":
        return f"{e[0]}年"
    if kind == "partial_year":
        if s is None or s == e:
            return f"{e[0]}年{e[1]}月"
        return f"{e[0]}年{s[1]}–{e[1]}月" if s[0] == e[0] else f"{s[0]}年{s[1]}月–{e[0]}年{e[1]}月"
    if kind == "cumulative":
        since = "" if s is None else (f"{s[0]}年以来" if s[1] == 1 else f"{s[0]}年{s[1]}月以来")
        return f"{since}累计（至{e[0]}年{e[1]}月）"
    if kind == "as_of_publication":
        return f"截至发稿（{e[0]}年{e[1]}月）"
    return f"截至{e[0]}年{e[1]}月"


MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def period_label_en(kind: str, start: object, end: object) -> str:
    """`period_label` in English: 2024, Jan–Aug 2024, cumulative since 2019 (to Sep 2024), as of Oct 2024."""
    s, e = _ym(start), _ym(end)
    if e is None:
        return ""
    month = lambda ym: f"{MONTHS_EN[ym[1] - 1]} {ym[0]}"  # noqa: E731
    if kind == "year":
        return str(e[0])
    if kind == "partial_year":
        if s is None or s == e:
            return month(e)
        return f"{MONTHS_EN[s[1] - 1]}–{month(e)}" if s[0] == e[0] else f"{month(s)} – {month(e)}"
    if kind == "cumulative":
        since = "" if s is None else f" since {s[0] if s[1] == 1 else month(s)}"
        return f"cumulative{since} (to {month(e)})"
    if kind == "as_of_publication":
        return f"as of publication ({month(e)})"
    return f"as of {month(e)}"


def reference_month(facts: pd.DataFrame, published: pd.Series) -> tuple[int, int] | None:
    """数据截至: the latest month the figures refer to. Targets are plans and do not count, and no figure
    refers beyond the newest publication it was read in (a later date is a plan the text did not flag)."""
    ends = pd.to_datetime(facts.loc[facts["qualifier"].astype(str) != TARGET, "period_end"].astype(str),
                          errors="coerce").dropna()
    if ends.empty:
        return None
    newest = pd.to_datetime(published.astype(str), errors="coerce").dropna()
    latest = min(ends.max(), newest.max()) if len(newest) else ends.max()
    return latest.year, latest.month


# --- a set of comparable figures


@dataclass(frozen=True)
class Basis:
    """What a set of comparable figures shares besides indicator and unit.

    `kind`: year, stock, partial_year:MM-MM (the months covered) or cumulative:YYYY-MM (its start; '' when
    the text gives none). `period`: the year, or a running total's end month; '' means each region's latest
    figure of this kind. `level`: the regions' level; '' means every level (only when a user asks for it).
    """

    kind: str
    period: str = ""
    level: str = ""

    @property
    def key(self) -> str:
        return SEP.join((self.kind, self.period, self.level))

    @classmethod
    def parse(cls, text: str | None) -> Basis | None:
        """A basis from its key (a URL parameter); None when the text is not one."""
        parts = str(text or "").split(SEP)
        if len(parts) != 3 or parts[0].partition(":")[0] not in CLASS_ORDER:
            return None
        if parts[2] and parts[2] not in LEVELS:
            return None
        return cls(*parts)

    @property
    def period_class(self) -> str:
        return self.kind.partition(":")[0]

    def with_period(self, period: str) -> Basis:
        return Basis(self.kind, period, self.level)

    def label(self) -> tuple[str, str]:
        """'2024年年度数 · 各县（市、区）', 'annual figures for 2024 · counties and districts'."""
        zh, en = set_label(self.kind, self.period)
        if self.level:
            zh, en = f"{zh} · {LEVEL_GROUPS[self.level][0]}", f"{en} · {LEVEL_GROUPS[self.level][1]}"
        return zh, en


def set_label(kind: str, period: str) -> tuple[str, str]:
    """A kind of figure over its period: 2024年年度数, 截至2024年的时点数, 2024年1–8月数, 2019年以来累计（至2024年9月）."""
    kind_zh, kind_en = kind_label(kind)
    if not period:
        return kind_zh, kind_en
    when_zh, when_en = when_label(kind, period)
    if kind.startswith("cumulative"):
        return f"{kind_zh}（{when_zh}）", f"{kind_en} ({when_en})"
    if kind == "stock":
        return f"{when_zh}的{kind_zh}", f"{kind_en} {when_en}"
    return f"{when_zh}{kind_zh}", f"{kind_en} for {when_en}"


def kind_label(kind: str) -> tuple[str, str]:
    """'年度数', '1–8月数', '2019年以来累计': what a kind of figure is, without its year."""
    period_class, _, detail = kind.partition(":")
    if period_class == "partial_year" and detail:
        first, _, last = detail.rpartition("-")
        first_month, last_month = int(first[-2:]), int(last)
        since = f"{first[:4]}年{first_month}月–次年" if len(first) > 2 else f"{first_month}–"
        since_en = (f"{MONTHS_EN[first_month - 1]} {first[:4]} – next " if len(first) > 2
                    else f"{MONTHS_EN[first_month - 1]}–")
        return f"{since}{last_month}月数", f"{since_en}{MONTHS_EN[last_month - 1]} figures"
    if period_class == "cumulative":
        if not detail:
            return "累计数（起点未注明）", "running totals (start not stated)"
        year, month = int(detail[:4]), int(detail[5:7])
        return (f"{year}年以来累计" if month == 1 else f"{year}年{month}月以来累计",
                f"cumulative since {year if month == 1 else f'{MONTHS_EN[month - 1]} {year}'}")
    return CLASS_PLURALS.get(period_class, (period_class, period_class))


def when_label(kind: str, period: str) -> tuple[str, str]:
    """A basis period as read: '2024年', '截至2024年', '至2024年9月'."""
    if kind.startswith("cumulative"):
        year, month = int(period[:4]), int(period[5:7])
        return f"至{year}年{month}月", f"to {MONTHS_EN[month - 1]} {year}"
    if kind == "stock":
        return f"截至{period}年", f"as of {period}"
    return f"{period}年", period


def basis_columns(facts: pd.DataFrame) -> pd.DataFrame:
    """Each figure's place in the definition: kind, period, level and the year it is compared in."""
    if facts.empty:
        return pd.DataFrame({c: pd.Series(dtype=int if c == "cmp_year" else object) for c in COLUMNS},
                            index=facts.index)
    kind = facts["period_kind"].astype(str)
    period_class = kind.map(PERIOD_CLASS).fillna("year")
    start = facts["period_start"].astype(object).where(facts["period_start"].notna(), "").astype(str)
    end = facts["period_end"].astype(object).where(facts["period_end"].notna(), "").astype(str)
    year = pd.to_numeric(facts["year"], errors="coerce").fillna(0).astype(int).astype(str)
    end_year = end.str[:4].where(end.str.len() >= 4, year)
    same_year = start.str[:4] == end.str[:4]
    months = (start.str[5:7].where(same_year, start.str[:7]) + "-" + end.str[5:7])
    starts = start.str[:7].where(start.str.len() >= 7, "")
    cmp_kind = period_class.where(~period_class.isin(["partial_year", "cumulative"]), "")
    cmp_kind = cmp_kind.mask(period_class == "partial_year", "partial_year:" + months)
    cmp_kind = cmp_kind.mask(period_class == "cumulative", "cumulative:" + starts)
    cmp_period = year.mask(period_class.isin(["stock", "partial_year"]), end_year)
    cmp_period = cmp_period.mask(period_class == "cumulative", end.str[:7])
    return pd.DataFrame({
        "cmp_kind": cmp_kind, "cmp_period": cmp_period, "cmp_level": facts["region_level"].astype(str),
        "cmp_year": pd.to_numeric(cmp_period.str[:4], errors="coerce").fillna(0).astype(int),
    }, index=facts.index)


def with_basis(facts: pd.DataFrame) -> pd.DataFrame:
    """The facts with `basis_columns` beside them (recomputed only when missing)."""
    if set(COLUMNS) <= set(facts.columns):
        return facts
    return pd.concat([facts.drop(columns=[c for c in COLUMNS if c in facts.columns]), basis_columns(facts)],
                     axis=1)


def fits(rows: pd.DataFrame, basis: Basis) -> pd.Series:
    """Which rows (with basis columns) belong to `basis`: never a target."""
    keep = (rows["cmp_kind"] == basis.kind) & (rows["qualifier"].astype(str) != TARGET)
    if basis.period:
        keep &= rows["cmp_period"] == basis.period
    if basis.level:
        keep &= rows["cmp_level"] == basis.level
    return keep


# --- choosing a set and saying what it leaves out


@dataclass
class Comparison:
    """One comparable set drawn from the figures a view selected, and what was left out and why."""

    basis: Basis | None
    shown: pd.DataFrame  # one figure per group (region, indicator[, year]), best first as given
    left_out: pd.DataFrame  # figures that do not fit the basis, with reason_zh and reason_en
    others: tuple[Basis, ...] = ()  # the other sets the figures make, largest first

    @property
    def years(self) -> list[int]:
        return sorted({int(y) for y in self.shown["cmp_year"]}) if len(self.shown) else []

    def years_note(self) -> tuple[str, str] | None:
        """When each region's latest figure is from a different year, which years and how many of each."""
        if self.basis is None or self.basis.period or len(self.years) < 2:
            return None
        counts = self.shown.drop_duplicates("region_code")["cmp_year"].value_counts().sort_index()
        zh = "、".join(f"{year}年{n}个" for year, n in counts.items())
        en = ", ".join(f"{year}: {n}" for year, n in counts.items())
        return f"各地区最新数字的年份不同（{zh}）", f"the regions' latest figures are from different years ({en})"


def candidate_bases(rows: pd.DataFrame, by_period: bool, level: str | None = None) -> list[Basis]:
    """The sets the rows make, most regions first; ties prefer annual figures, then the latest period, then
    the more senior level."""
    usable = rows[rows["qualifier"].astype(str) != TARGET]
    if level:
        usable = usable[usable["cmp_level"] == level]
    if usable.empty:
        return []
    ordered = _largest_first(usable, ["cmp_kind", "cmp_level", *(["cmp_period"] if by_period else [])])
    return [Basis(r.cmp_kind, r.cmp_period if by_period else "", r.cmp_level)
            for r in ordered.itertuples(index=False)]


def _largest_first(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The groups of `keys` with their number of regions, in the order a view prefers them."""
    sizes = (rows.groupby(keys, observed=True)
             .agg(n=("region_code", "nunique"), latest=("cmp_period", "max")).reset_index())
    if "cmp_period" in keys:
        sizes["latest"] = sizes["cmp_period"]
    sizes["_class"] = sizes["cmp_kind"].str.partition(":")[0].map({c: i for i, c in enumerate(CLASS_ORDER)})
    sizes["_level"] = sizes["cmp_level"].map({lv: i for i, lv in enumerate(LEVELS)}).fillna(len(LEVELS))
    return sizes.sort_values(["n", "_class", "latest", "_level"], ascending=[False, True, False, True],
                             kind="stable")


def pick_each(rows: pd.DataFrame, by: str, level: str) -> Comparison:
    """`pick` for each value of `by` at once (the matrix: each indicator its commonest kind at `level`), each
    region's latest figure of it; the other figures at that level come back with the reason."""
    rows = with_basis(rows)
    at_level = rows[rows["cmp_level"].astype(str) == level]
    usable = at_level[at_level["qualifier"].astype(str) != TARGET]
    if usable.empty:
        return Comparison(None, rows.iloc[0:0], explain(at_level, None, None))
    chosen = _largest_first(usable, [by, "cmp_kind", "cmp_level"]).drop_duplicates(by).set_index(by)["cmp_kind"]
    kind_of = at_level[by].map(chosen)
    inside = (at_level["cmp_kind"] == kind_of) & (at_level["qualifier"].astype(str) != TARGET)
    members = at_level[inside].sort_values("cmp_period", ascending=False, kind="stable")
    shown = members.drop_duplicates(["region_code", by], keep="first")
    shown = shown.loc[rows.index.intersection(shown.index)]
    outside = at_level[~inside]
    bases = [Basis(str(k), "", level) if isinstance(k, str) else None for k in kind_of[~inside]]
    return Comparison(None, shown, explain(outside, None, None, bases))


def pick(rows: pd.DataFrame, basis: Basis | None = None, year: int | None = None, level: str | None = None,
         per: Sequence[str] = ("region_code", "indicator_code")) -> Comparison:
    """One comparable set of `rows` (facts or rates shaped like facts, best first), one figure per `per` group.

    `basis` is the set asked for (used when the rows have it); otherwise the set with most regions is
    chosen, among figures of `year` when one is given, else each region's latest of the commonest kind.
    `level` fixes the regions' level (the map's cities or counties). Rows outside the set are returned with
    the reason they were left out.
    """
    rows = with_basis(rows)
    # decided on a narrow copy of the columns that decide; the wide rows are taken once for each result
    keys = rows[list(dict.fromkeys(["region_code", "qualifier", *COLUMNS, *per]))]
    by_period = year is not None or "cmp_year" in per
    pool = keys[keys["cmp_year"] == year] if year is not None else keys
    chosen = basis if basis is not None and fits(pool, basis).any() else None
    if chosen is None:
        bases = candidate_bases(pool, year is not None, level)
        chosen = bases[0] if bases else None
        others = tuple(bases[1:])
    else:
        others = tuple(b for b in candidate_bases(pool, bool(chosen.period), level) if b != chosen)
    if chosen is None:
        return Comparison(None, rows.iloc[0:0], explain(rows, None, year), others)
    members = pool[fits(pool, chosen)]
    if not chosen.period and not by_period:  # each region's latest of this kind
        members = members.sort_values("cmp_period", ascending=False, kind="stable")
    shown = set(members.drop_duplicates(list(per), keep="first").index)
    outside = keys.drop(index=members.index)
    regions_shown = set(keys.loc[list(shown), "region_code"])
    away = outside["region_code"].isin(regions_shown).to_numpy()
    order = [*outside.index[~away], *outside.index[away]]  # regions not drawn at all first
    return Comparison(chosen, rows.loc[[i for i in rows.index if i in shown]], explain(rows.loc[order], chosen, year),
                      others)


REASON_KEYS = ["period_kind", "period_start", "period_end", "qualifier", "cmp_year", "cmp_level", "cmp_kind",
               "region_name"]


def explain(rows: pd.DataFrame, basis: Basis | None, year: int | None,
            bases: list[Basis | None] | None = None) -> pd.DataFrame:
    """The rows with why each is not in `basis` (or, row by row, in `bases`) as reason_zh and reason_en,
    worded once per distinct case."""
    if rows.empty:
        return rows.assign(reason_zh=pd.Series(dtype=str), reason_en=pd.Series(dtype=str))
    columns = [rows[c].astype(object).where(rows[c].notna(), None).tolist() if c in rows.columns
               else [None] * len(rows) for c in REASON_KEYS]
    keys = list(zip(*columns, bases if bases is not None else [basis] * len(rows), strict=True))
    worded: dict[tuple, tuple[str, str]] = {}
    for key in keys:
        if key not in worded:
            worded[key] = reason(dict(zip(REASON_KEYS, key, strict=False)), key[-1], year)
    return rows.assign(reason_zh=[worded[k][0] for k in keys], reason_en=[worded[k][1] for k in keys])


def reason(row: dict, basis: Basis | None, year: int | None = None) -> tuple[str, str]:
    """Why one figure is not in the set: a target, another level, another kind of period, another period."""
    kind = str(row.get("period_kind", ""))
    label_zh = period_label(kind, row.get("period_start"), row.get("period_end"))
    label_en = period_label_en(kind, row.get("period_start"), row.get("period_end"))
    if str(row.get("qualifier")) == TARGET:
        return "目标值，不是实际数", "a target, not a result"
    if year is not None and int(row["cmp_year"]) != year:
        return f"{label_zh}，不是{year}年的数字", f"{label_en}, not a {year} figure"
    if basis is None:
        return "没有可比较的数字", "nothing to compare it with"
    level = str(row.get("cmp_level", ""))
    if basis.level and level != basis.level:
        name = str(row.get("region_name", ""))
        group_zh, group_en = LEVEL_GROUPS[basis.level]
        return (f"{name}属{LEVEL_LABELS.get(level, (level, level))[0]}，本图比较{group_zh}",
                f"{name} is {LEVEL_NOUNS_EN.get(level, level)}; the chart compares {group_en}")
    period_class = PERIOD_CLASS.get(kind, kind)
    if period_class != basis.period_class:
        name_zh, name_en = CLASS_NAMES[basis.period_class]
        return f"{label_zh}，不是{name_zh}", f"{label_en}, not {name_en}"
    shown_zh, shown_en = set_label(basis.kind, basis.period)
    return f"{label_zh}，本图为{shown_zh}", f"{label_en}; the chart shows {shown_en}"
