"""The gazetteer of Zhejiang's regions and the attribution of a figure to the locality it describes.

Regions are declared data (`data/reference/regions.csv`, built once from the official boundary files,
plus `aliases_extra.csv` and `external_places.csv`). A figure belongs to the most specific locality the
text gives it: a region named in its clause, then in its sentence, then the section heading, then the
article's primary region.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from etl.paths import REFERENCE_DIR
from etl.vocabulary import LEVELS

PROVINCE_CODE = "330000"
PROVINCE_WORD = "全省"
# A place name directly followed by a university's name is part of an institution's name (浙江大学,
# 杭州电子科技大学), not a statement about the place.
INSTITUTION_AFTER = re.compile(r"^[^\s与和及同跟、，,。；;的在]{0,4}?(?:大学|学院)")
# A place where an event was held (在杭州举行) or the whole a share is taken of (占衢州市的一半) is not
# the figure's subject; nor is an alternative name in brackets after another name.
VENUE_AFTER = re.compile(r"^(?:举行|举办|召开|开幕)")
SHARE_BEFORE = re.compile(r"占$")
ANAPHORA = re.compile(r"(?:该|本|全)(区|县|市|镇)")
CLAUSE_BREAK = re.compile(r"[，,；;：:。！？!?]")


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    level: str
    parent_code: str
    aliases: tuple[str, ...]
    official: bool
    note: str


@dataclass(frozen=True)
class Mention:
    """A place named in a text: a gazetteer region, or (code '') a place outside the gazetteer."""

    code: str
    start: int
    end: int
    text: str

    @property
    def external(self) -> bool:
        return not self.code


@dataclass(frozen=True)
class Attribution:
    code: str
    source: str  # clause | sentence | heading | story | article
    external_subject: str  # a non-Zhejiang place the clause is about, '' if none


class Gazetteer:
    """Look-ups by code and by any name or alias; a single compiled pattern finds mentions."""

    def __init__(self, regions: list[Region], extra_aliases: dict[str, list[str]], external: list[str]):
        self.regions = {r.code: r for r in regions}
        self.by_name: dict[str, str] = {}
        for region in regions:
            for name in (region.name_zh, *region.aliases, *extra_aliases.get(region.code, [])):
                self.by_name.setdefault(name, region.code)
        self.by_name.setdefault(PROVINCE_WORD, PROVINCE_CODE)
        self.external = set(external)
        names = sorted({*self.by_name, *self.external}, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(n) for n in names))

    def get(self, code: str) -> Region:
        return self.regions[code]

    def lookup(self, name: str) -> Region | None:
        """A region by its name, alias, or code; None when unknown."""
        name = name.strip()
        code = self.by_name.get(name) or (name if name in self.regions else None)
        return self.regions.get(code) if code else None

    def mentions(self, text: str, skip: list[tuple[int, int]] = ()) -> list[Mention]:
        """Places named in `text`, except inside the `skip` spans (brand names in quotes, the figure)."""
        found = []
        bracketed = "(" in text or "（" in text  # most sentences have no brackets to be inside
        for match in self.pattern.finditer(text):
            start, end = match.span()
            if skip and any(s <= start < e for s, e in skip):
                continue
            if INSTITUTION_AFTER.match(text[end:end + 7]) or VENUE_AFTER.match(text[end:end + 2]):
                continue
            if SHARE_BEFORE.search(text[max(0, start - 1):start]) or bracketed and _inside_brackets(text, start):
                continue
            name = match.group()
            found.append(Mention(self.by_name.get(name, ""), start, end, name))
        return found

    def anaphora(self, text: str, mentions: list[Mention], recent: list[str],
                 skip: list[tuple[int, int]] = ()) -> list[Mention]:
        """`mentions` plus 该区/本县/全市-style references resolved to the latest region of that kind.

        `recent` holds the codes named earlier in the story, oldest first; 全省 is handled as a name.
        """
        resolved = list(mentions)
        for match in ANAPHORA.finditer(text):
            if any(s <= match.start() < e for s, e in skip):
                continue
            earlier = recent + [m.code for m in mentions if m.code and m.start < match.start()]
            suffix = match.group(1)
            code = next((c for c in reversed(earlier) if self.regions[c].name_zh.endswith(suffix)), "")
            if code:
                resolved.append(Mention(code, match.start(), match.end(), match.group()))
        return sorted(resolved, key=lambda m: m.start)

    def ancestors(self, code: str) -> list[str]:
        """The region's own code and its parents up to the province."""
        chain = []
        while code:
            chain.append(code)
            code = self.regions[code].parent_code
        return chain

    def city_of(self, code: str) -> str:
        """The prefecture-level city containing a region (or the region itself if it is one)."""
        for ancestor in self.ancestors(code):
            if self.regions[ancestor].level == "city":
                return ancestor
        return code


def _inside_brackets(text: str, position: int) -> bool:
    """True when `position` sits inside (…) or （…）."""
    opened = max(text.rfind("(", 0, position), text.rfind("（", 0, position))
    closed = max(text.rfind(")", 0, position), text.rfind("）", 0, position))
    return opened > closed


def read_regions(path: Path) -> list[Region]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Region(code=row["code"], name_zh=row["name_zh"], name_en=row["name_en"], level=row["level"],
                   parent_code=row["parent_code"], aliases=tuple(a for a in row["aliases"].split("|") if a),
                   official=row["official"].strip().lower() == "true", note=row["note"])
            for row in csv.DictReader(fh)
        ]


def check_regions(regions: list[Region]) -> None:
    """What the rest of the pipeline relies on; a broken reference file stops with a sentence."""
    codes = {r.code for r in regions}
    problems = [f"{r.code} {r.name_zh}: level {r.level!r} is not one of {LEVELS}" for r in regions
                if r.level not in LEVELS]
    problems += [f"{r.code} {r.name_zh}: parent {r.parent_code!r} is not in the gazetteer" for r in regions
                 if r.code != PROVINCE_CODE and r.parent_code not in codes]
    if len(codes) != len(regions):
        problems.append("region codes are not unique")
    if problems:
        raise ValueError("regions.csv is inconsistent:\n  " + "\n  ".join(problems))


@lru_cache(maxsize=4)
def load_gazetteer(reference_dir: Path = REFERENCE_DIR) -> Gazetteer:
    regions = read_regions(reference_dir / "regions.csv")
    check_regions(regions)
    extra: dict[str, list[str]] = {}
    extra_path = reference_dir / "aliases_extra.csv"
    if extra_path.exists():
        with extra_path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                extra.setdefault(row["code"], []).append(row["alias"])
    unknown = sorted(set(extra) - {r.code for r in regions})
    if unknown:
        raise ValueError(f"aliases_extra.csv names codes not in regions.csv: {unknown}")
    external: list[str] = []
    external_path = reference_dir / "external_places.csv"
    if external_path.exists():
        with external_path.open(encoding="utf-8", newline="") as fh:
            external = [row["name"] for row in csv.DictReader(fh)]
    return Gazetteer(regions, extra, external)


def clause_start(text: str, position: int) -> int:
    """Offset where the clause holding `position` begins."""
    starts = [m.end() for m in CLAUSE_BREAK.finditer(text, 0, position)]
    return starts[-1] if starts else 0


def clause_end(text: str, position: int) -> int:
    match = CLAUSE_BREAK.search(text, position)
    return match.start() if match else len(text)


def attribute_region(sentence: str, position: int, mentions: list[Mention],
                     fallbacks: list[tuple[str, str]], gazetteer: Gazetteer, is_rank: bool = False) -> Attribution:
    """The locality a figure at `position` in `sentence` describes.

    `fallbacks` are (code, source) pairs tried in order when the sentence names no region: the section
    heading's region, the story's inferred region, the article's primary region. The province counts only
    when its own clause names it (全省仅5人), and never for a rank, where 全省 is the scope. A region named
    further off that merely contains the section's locality (嘉兴 in a 嘉善 story) yields to the section's.
    """
    c_start, c_end = clause_start(sentence, position), clause_end(sentence, position)
    before_in_clause = [m for m in mentions if c_start <= m.start < position]
    external = before_in_clause[-1].text if before_in_clause and before_in_clause[-1].external else ""
    local = [m for m in mentions if not m.external and not (is_rank and m.code == PROVINCE_CODE)]
    sub_province = [m for m in local if m.code != PROVINCE_CODE]
    section = next((code for code, _ in fallbacks if code), "")

    clause_hits = [m for m in local if c_start <= m.start < position]
    if clause_hits:
        return Attribution(_most_specific(clause_hits, gazetteer), "clause", external)
    for candidates, source in (
        ([m for m in sub_province if m.start < position], "sentence"),
        ([m for m in sub_province if position <= m.start < c_end][:1], "clause"),
    ):
        if candidates:
            code = _most_specific(candidates, gazetteer)
            if section and section != code and code in gazetteer.ancestors(section):
                return Attribution(section, "heading", external)
            return Attribution(code, source, external)
    for code, source in fallbacks:
        if code:
            return Attribution(code, source, external)
    return Attribution(PROVINCE_CODE, "default", external)


def _most_specific(candidates: list[Mention], gazetteer: Gazetteer) -> str:
    """The nearest mention, unless an earlier one lies inside it (丽水市…青田县 → 青田县)."""
    nearest = candidates[-1].code
    for mention in reversed(candidates[:-1]):
        if mention.code != nearest and nearest in gazetteer.ancestors(mention.code):
            return mention.code
    return nearest
