"""The declared indicator taxonomy and the classification of a figure by the words around it.

The taxonomy lives in `data/reference/indicators.yaml`. A figure is matched against the keywords of every
indicator whose units fit it; the keyword nearest the number (then the longest) wins. A figure that
matches nothing keeps its unit under an `other_<unit>` indicator and is flagged for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from etl.extract.text import PatternIndex
from etl.extract.units import load_units
from etl.paths import REFERENCE_DIR
from etl.vocabulary import FAMILIES

BARE = "bare"
SEGMENT_BREAK = re.compile(r"[，,；;：:。！？!?、]")
AFTER_STOP = re.compile(r"[，,；;：:。！？!?、\d]")
AFTER_WINDOW = 16
AFTER_PENALTY = 3
SENTENCE_PENALTY = 12
OTHER_PREFIX = "other_"


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    family: str
    unit: str
    units: tuple[str, ...]
    headline: bool
    keywords: tuple[re.Pattern[str], ...]
    rank_scopes: tuple[str, ...]
    sentence_scope: bool
    qualifier: str | None
    description: str
    order: int
    fallback: bool = False
    statistics_names: tuple[str, ...] = ()
    description_zh: str = ""  # the definition officials read (the workbook's 指标 sheet)

    @property
    def is_other(self) -> bool:
        return self.code.startswith(OTHER_PREFIX)


@dataclass(frozen=True)
class DerivedSpec:
    """A per-capita or per-GDP indicator: numerator indicator ÷ denominator indicator × scale."""

    code: str
    numerator: str
    denominator: str
    scale: float


@dataclass(slots=True)
class Classification:
    indicator: Indicator
    keyword: str  # the words that decided it, '' for an `other_` fallback


@dataclass(frozen=True)
class Taxonomy:
    indicators: dict[str, Indicator]
    families: dict[str, dict[str, str]]
    derived: dict[str, DerivedSpec] = field(default_factory=dict)
    by_unit: dict[str, tuple[Indicator, ...]] = field(default_factory=dict)
    # Per unit, its (indicator, keyword) pairs in classification order, filed by characters they need.
    keyword_index: dict[str, PatternIndex[Indicator]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_unit: dict[str, list[Indicator]] = {}
        for indicator in self.indicators.values():
            if not indicator.is_other and indicator.keywords:
                for unit in indicator.units:
                    by_unit.setdefault(unit, []).append(indicator)
        object.__setattr__(self, "by_unit", {u: tuple(i) for u, i in by_unit.items()})
        object.__setattr__(self, "keyword_index", {
            u: PatternIndex([(i, k) for i in indicators for k in i.keywords]) for u, indicators in self.by_unit.items()})

    def classify(self, sentence: str, number_start: int, number_end: int, unit: str | None,
                 rank_scope: str | None = None) -> Classification:
        """The indicator a figure at sentence[number_start:number_end] with `unit` measures."""
        unit_key = unit or BARE
        windows = _windows(sentence, number_start, number_end)
        best: tuple[tuple[bool, int, int, int], Indicator, str] | None = None
        index = self.keyword_index.get(unit_key)
        if index is None:
            return Classification(self.other_for(unit_key), "")
        chars = set(sentence[:number_start])
        chars.update(windows[1][0])
        # only the keywords whose characters the text holds, in the full scan's order: same winner, same ties
        for indicator, keyword in index.candidates(chars):
            if indicator.rank_scopes and (rank_scope or "") not in indicator.rank_scopes:
                continue
            for text, offset, kind in windows:
                if kind == "sentence" and not indicator.sentence_scope:
                    continue
                for match in keyword.finditer(text):
                    distance = _distance(kind, offset + match.start(), offset + match.end(),
                                         number_start, number_end)
                    score = (indicator.fallback, distance, -len(match.group()) - 2 * bool(indicator.rank_scopes),
                             indicator.order)
                    if best is None or score < best[0]:
                        best = (score, indicator, match.group())
        if best is not None:
            return Classification(best[1], best[2])
        return Classification(self.other_for(unit_key), "")

    def by_statistics_name(self, name: str) -> Indicator | None:
        """The indicator an official statistics table's indicator name stands for."""
        return next((i for i in self.indicators.values() if name in i.statistics_names), None)

    def other_for(self, unit: str) -> Indicator:
        return self.indicators.get(OTHER_PREFIX + unit) or self.indicators[OTHER_PREFIX + "count"]


def _windows(sentence: str, number_start: int, number_end: int) -> list[tuple[str, int, str]]:
    """(text, offset, kind): the segment before the number, a short stretch after it, the sentence before."""
    breaks = [m.end() for m in SEGMENT_BREAK.finditer(sentence, 0, number_start)]
    seg_start = breaks[-1] if breaks else 0
    after_end = min(len(sentence), number_end + AFTER_WINDOW)
    stop = AFTER_STOP.search(sentence[number_end:after_end])
    if stop:
        after_end = number_end + stop.start()
    return [
        (sentence[seg_start:number_start], seg_start, "before"),
        (sentence[number_end:after_end], number_end, "after"),
        (sentence[:seg_start], 0, "sentence"),
    ]


def _distance(kind: str, start: int, end: int, number_start: int, number_end: int) -> int:
    if kind == "after":
        return start - number_end + AFTER_PENALTY
    distance = number_start - end
    return distance + SENTENCE_PENALTY if kind == "sentence" else distance


def _other_indicators(units: dict[str, dict], start_order: int) -> dict[str, Indicator]:
    """One catch-all per unit, so an unmatched figure keeps its unit and is never dropped."""
    return {
        OTHER_PREFIX + code: Indicator(
            code=OTHER_PREFIX + code, name_zh=f"其他（{spec.get('name_zh', code)}）",
            name_en=f"Other ({spec.get('name_en', code)})", family="other", unit=code, units=(code,),
            headline=False, keywords=(), rank_scopes=(), sentence_scope=False, qualifier=None,
            description="A figure the taxonomy does not name yet; kept and flagged for review.",
            description_zh="指标体系尚未命名的数字，保留并标记待复核。", order=start_order + i)
        for i, (code, spec) in enumerate(units.items())
    }


def parse_taxonomy(document: dict, units: dict[str, dict]) -> Taxonomy:
    """Build and check the taxonomy; every problem is listed in one error."""
    problems = []
    families = document.get("families", {})
    if set(families) != set(FAMILIES):
        problems.append(f"families must be exactly {FAMILIES}, found {sorted(families)}")
    indicators: dict[str, Indicator] = {}
    for order, spec in enumerate(document.get("indicators", [])):
        code = spec.get("code", f"#{order}")
        missing = [k for k in ("code", "name_zh", "name_en", "family", "unit", "keywords") if not spec.get(k)]
        if missing:
            problems.append(f"{code}: missing {missing}")
            continue
        if spec["family"] not in FAMILIES:
            problems.append(f"{code}: family {spec['family']!r} is not one of the fixed families")
        accepted = tuple(spec.get("units") or [spec["unit"]])
        unknown_units = [u for u in (spec["unit"], *accepted) if u != BARE and u not in units]
        if unknown_units:
            problems.append(f"{code}: unit(s) {unknown_units} are not declared in units.yaml")
        if code in indicators:
            problems.append(f"{code}: declared twice")
        try:
            keywords = tuple(re.compile(k) for k in spec["keywords"])
        except re.error as exc:
            problems.append(f"{code}: bad keyword pattern: {exc}")
            continue
        indicators[code] = Indicator(
            code=code, name_zh=spec["name_zh"], name_en=spec["name_en"], family=spec["family"],
            unit=spec["unit"], units=accepted, headline=bool(spec.get("headline", False)), keywords=keywords,
            rank_scopes=tuple(spec.get("rank_scopes") or ()), sentence_scope=bool(spec.get("sentence_scope")),
            qualifier=spec.get("qualifier"), description=spec.get("description", ""), order=order,
            fallback=bool(spec.get("fallback", False)), statistics_names=tuple(spec.get("statistics_names") or ()),
            description_zh=spec.get("description_zh", ""))
    derived = _parse_derived(document.get("derived", []), indicators, units, problems)
    if problems:
        raise ValueError("indicators.yaml is inconsistent:\n  " + "\n  ".join(problems))
    for order, (code, _) in enumerate(derived.items(), start=len(indicators)):
        spec = next(d for d in document["derived"] if d["code"] == code)
        indicators[code] = Indicator(
            code=code, name_zh=spec["name_zh"], name_en=spec["name_en"], family=spec["family"], unit=spec["unit"],
            units=(spec["unit"],), headline=False, keywords=(), rank_scopes=(), sentence_scope=False, qualifier=None,
            description=spec.get("description", ""), order=order, description_zh=spec.get("description_zh", ""))
    indicators.update(_other_indicators(units, len(indicators)))
    return Taxonomy(indicators, families, derived)


NORMALISABLE_KINDS = ("headcount", "count", "money")


def _parse_derived(specs: list[dict], indicators: dict[str, Indicator], units: dict[str, dict],
                   problems: list[str]) -> dict[str, DerivedSpec]:
    """Derived indicators; a percentage, rank or index numerator is refused, never divided."""
    derived = {}
    for spec in specs:
        code = spec.get("code", "?")
        missing = [k for k in ("code", "name_zh", "name_en", "family", "unit", "numerator", "denominator", "scale")
                   if not spec.get(k)]
        if missing:
            problems.append(f"derived {code}: missing {missing}")
            continue
        for role in ("numerator", "denominator"):
            if spec[role] not in indicators:
                problems.append(f"derived {code}: {role} {spec[role]!r} is not an indicator")
        numerator = indicators.get(spec["numerator"])
        if numerator and units.get(numerator.unit, {}).get("kind") not in NORMALISABLE_KINDS:
            problems.append(f"derived {code}: {numerator.code} is measured in {numerator.unit}, which is not a count "
                            "or money and must not be divided")
        if spec["unit"] not in units:
            problems.append(f"derived {code}: unit {spec['unit']!r} is not declared in units.yaml")
        if spec["family"] not in FAMILIES:
            problems.append(f"derived {code}: family {spec['family']!r} is not one of the fixed families")
        derived[code] = DerivedSpec(code, spec["numerator"], spec["denominator"], float(spec["scale"]))
    return derived


@lru_cache(maxsize=4)
def load_taxonomy(reference_dir: Path = REFERENCE_DIR) -> Taxonomy:
    with (reference_dir / "indicators.yaml").open(encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    return parse_taxonomy(document, load_units())
