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

import yaml

from etl.extract.forms import PlaceRanks
from etl.paths import REFERENCE_DIR
from etl.vocabulary import LEVELS

PROVINCE_CODE = "330000"
PROVINCE_WORD = "全省"
# A place name directly followed by a university's name is part of an institution's name (浙江大学,
# 杭州电子科技大学), not a statement about the place.
INSTITUTION_AFTER = re.compile(r"[^\s与和及同跟、，,。；;的在]{0,4}?(?:大学|学院)")
# A place where an event was held (在杭州举行) or the whole a share is taken of (占衢州市的一半) is not
# the figure's subject; nor is an alternative name in brackets after another name.
VENUE_AFTER = re.compile(r"(?:举行|举办|召开|开幕)")
SHARE_WORD = "占"
# A city's or county's name, a few words and a zone's kind: a zone (柯桥高新技术产业园区, 瑞安经济开发区). Known
# zones are found by their own names first; what reaches this pattern is a zone the lists lack.
UNLISTED_ZONE_REACH = 16  # every zone kind ends in 区 within this many characters of the place's name
UNLISTED_ZONE = re.compile(
    r"[^的在和与及、，,。；;：:为是将把被对向从到推建打设等]{0,6}?"
    r"(?:经济技术开发区|经济开发区|高新技术产业开发区|高新技术产业园区|高新区|经开区|开发区|工业园区|产业园区)")
CLAUSE_BREAK = re.compile(r"[，,；;：:。！？!?]")
# 丽水经济技术开发区(以下简称“丽水经开区”): a name the article defines for itself.
ABBREVIATION = re.compile(r"[（(]\s*(?:以下)?简称[“\"「]?(?P<abbr>[\u4e00-\u9fffA-Za-z0-9]{2,12})[”\"」]?\s*[）)]")


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


@dataclass(slots=True)
class Mention:
    """A place named in a text: a gazetteer region, a place outside the gazetteer (code '', no candidates),
    or a name several regions share (高桥街道): `candidates` lists them until the context decides."""

    code: str
    start: int
    end: int
    text: str
    candidates: tuple[str, ...] = ()

    @property
    def external(self) -> bool:
        return not self.code and not self.candidates

    unlisted: bool = False  # a zone the text names (柯桥高新技术产业园区) that the gazetteer lacks; code is its host

    @property
    def ambiguous(self) -> bool:
        return bool(self.candidates)


@dataclass(slots=True)
class Attribution:
    code: str
    source: str  # clause | sentence | heading | story | article | default
    external_subject: str  # a non-Zhejiang place the clause is about, '' if none
    ambiguous: str = ""  # a shared place name nothing nearby resolved, '' if none
    unlisted: str = ""  # a zone named in the text that the gazetteer lacks, given to its host; '' if none


@dataclass(frozen=True)
class AnaphoraRule:
    """A bare word (该区, 全县, 开发区) that refers back to a region of its kind named earlier."""

    pattern: re.Pattern[str]
    levels: frozenset[str]
    unique: bool


@dataclass(frozen=True)
class PlaceRules:
    """When a name found in a text is not a mention, and which bare words refer to places (place_rules.yaml)."""

    not_a_mention: re.Pattern[str] | None
    short_name_followed_by: re.Pattern[str] | None
    object_before: re.Pattern[str] | None
    anaphora: tuple[AnaphoraRule, ...]
    zone_word_suffixes: dict[str, tuple[str, ...]]


NO_RULES = PlaceRules(None, None, None, (), {})


class Gazetteer:
    """Look-ups by code and by any name or alias; a single compiled pattern finds mentions."""

    def __init__(self, regions: list[Region], extra_aliases: dict[str, list[str]], external: list[str],
                 rules: PlaceRules = NO_RULES):
        self.regions = {r.code: r for r in regions}
        self.rules = rules
        names: dict[str, list[str]] = {}
        for region in regions:
            for name in (region.name_zh, *region.aliases, *extra_aliases.get(region.code, [])):
                if region.code not in names.setdefault(name, []):
                    names[name].append(region.code)
        self.by_name: dict[str, str] = {name: codes[0] for name, codes in names.items() if len(codes) == 1}
        self.shared: dict[str, tuple[str, ...]] = {n: tuple(c) for n, c in names.items() if len(c) > 1}
        self.by_name.setdefault(PROVINCE_WORD, PROVINCE_CODE)
        # short names of cities and counties (嘉兴, 常山): the forms a river or a road is named after
        self.short_names = frozenset(a for r in regions if r.level in ("city", "county") for a in r.aliases)
        self.external = set(external)
        # Two finders: one alternation for the few hundred names of the province, cities, counties and
        # places outside; and, for the thousands of towns and zones, a look-up anchored on the last
        # character of their names (镇, 乡, 道, 区 …: a dozen characters end them all), which costs a few
        # dictionary probes per anchor instead of trying every name at every position.
        level = {name: self.regions[code].level for name, code in self.by_name.items() if code in self.regions}
        small = {n for n in self.by_name if level.get(n) not in ("town", "zone")} | self.external
        self.pattern = re.compile("|".join(re.escape(n) for n in sorted(small, key=len, reverse=True)))
        self.anchored = {n for n in (*self.by_name, *self.shared) if n not in small}
        lengths: dict[str, set[int]] = {}
        for name in self.anchored:
            lengths.setdefault(name[-2:], set()).add(len(name))
        # by the last two characters (街道, 新区, 江镇 …): most 区 and 镇 in a text end no listed name at all
        self.anchored_lengths = {last: sorted(found, reverse=True) for last, found in lengths.items()}
        self.anchor = re.compile("[" + "".join(sorted({re.escape(end[-1]) for end in lengths})) + "]")
        # 温州第一, 嘉兴前三: ranks whose scope is a city's or county's name
        self.rank_places = PlaceRanks([n for n, c in self.by_name.items()
                                               if c in self.regions and self.regions[c].level in ("province", "city", "county")
                                               and n != PROVINCE_WORD])
        self.children: dict[str, list[str]] = {}
        for region in regions:
            self.children.setdefault(region.parent_code, []).append(region.code)

    def get(self, code: str) -> Region:
        return self.regions[code]

    def lookup(self, name: str) -> Region | None:
        """A region by its name, alias, or code, or by a parent's name and its own (桐乡市高桥街道); None when
        unknown or when the name is shared by several regions."""
        name = name.strip()
        code = self.by_name.get(name) or (name if name in self.regions else None)
        if code is None:
            code = self._qualified(name)
        return self.regions.get(code) if code else None

    def _qualified(self, name: str) -> str | None:
        """桐乡市高桥街道: a shared name made unique by the region written before it."""
        for shared, codes in self.shared.items():
            if name.endswith(shared) and len(name) > len(shared):
                parent = self.by_name.get(name[: -len(shared)])
                found = [c for c in codes if parent and parent in self.ancestors(c)]
                if len(found) == 1:
                    return found[0]
        return None

    def mentions(self, text: str, skip: list[tuple[int, int]] = (),
                 defined: dict[str, str] | None = None) -> list[Mention]:
        """Places named in `text`, except inside the `skip` spans (brand names in quotes, the figure).

        `defined` adds names the article defines for itself (以下简称“示范区”) with their codes.
        """
        found = []
        bracketed = "(" in text or "（" in text  # most sentences have no brackets to be inside
        spans = self._name_spans(text)
        blocked = self._blocked_spans(text) if spans else []
        for start, end in spans:
            if skip and any(s <= start < e for s, e in skip):
                continue
            name = text[start:end]
            if self._not_a_mention(text, start, end, name) or \
                    blocked and any(s <= start and end <= e for s, e in blocked):
                continue
            if bracketed and _inside_brackets(text, start):
                continue
            code = self.by_name.get(name, "")
            zone = None
            if code and "区" in text[end:end + UNLISTED_ZONE_REACH] and self.regions[code].level in ("city", "county"):
                zone = UNLISTED_ZONE.match(text, end)
            if zone:  # 柯桥高新技术产业园区: a park of 柯桥 the lists do not have
                found.append(Mention(code, start, zone.end(), text[start:zone.end()], unlisted=True))
                continue
            found.append(Mention(code, start, end, name, self.shared.get(name, ())))
        if defined:
            found = self._defined_mentions(text, found, skip, defined)
        return found

    def _name_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of known names, leftmost first and the longest where two start together."""
        spans = [m.span() for m in self.pattern.finditer(text)]
        for anchor in self.anchor.finditer(text, 1):
            end = anchor.end()
            for length in self.anchored_lengths.get(text[end - 2:end], ()):
                if length <= end and text[end - length:end] in self.anchored:
                    spans.append((end - length, end))
                    break
        if len(spans) < 2:
            return spans
        spans.sort(key=lambda span: (span[0], -span[1]))
        kept = [spans[0]]
        for start, end in spans[1:]:
            if start >= kept[-1][1]:
                kept.append((start, end))
            elif end > kept[-1][1] and start == kept[-1][0]:
                kept[-1] = (start, end)
        return kept

    def _not_a_mention(self, text: str, start: int, end: int, name: str) -> bool:
        """Part of another word (浙江大学, 常山江, 西湖明珠), a venue, a share's whole, or an object (融入长三角)."""
        if INSTITUTION_AFTER.match(text, end, end + 7) or VENUE_AFTER.match(text, end, end + 2):
            return True
        if start and text[start - 1] == SHARE_WORD:
            return True
        rules = self.rules
        if rules.short_name_followed_by and name in self.short_names \
                and rules.short_name_followed_by.match(text, end):
            return True
        return bool(rules.object_before and rules.object_before.search(text, max(0, start - 4), start))

    def _blocked_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of the not_a_mention patterns (西湖明珠, 全省重点…): a name inside one is no mention."""
        if self.rules.not_a_mention is None:
            return []
        return [m.span() for m in self.rules.not_a_mention.finditer(text)]

    def _defined_mentions(self, text: str, found: list[Mention], skip: list[tuple[int, int]],
                          defined: dict[str, str]) -> list[Mention]:
        taken = [(m.start, m.end) for m in found] + list(skip)
        for name, code in defined.items():
            at = text.find(name)
            while at != -1:
                if not any(s <= at < e or at <= s < at + len(name) for s, e in taken):
                    found.append(Mention(code, at, at + len(name), name))
                at = text.find(name, at + len(name))
        return sorted(found, key=lambda m: m.start)

    def abbreviations(self, text: str) -> dict[str, str]:
        """Short names an article defines right after a place: 长三角生态绿色一体化发展示范区(以下简称“示范区”)."""
        defined = {}
        for match in ABBREVIATION.finditer(text):
            before = [m for m in self.mentions(text[max(0, match.start() - 40):match.start()]) if m.code]
            if before and match.start() - max(0, match.start() - 40) == before[-1].end:
                defined[match["abbr"]] = before[-1].code
        return defined

    def anaphora(self, text: str, mentions: list[Mention], recent: list[str],
                 skip: list[tuple[int, int]] = (), locality: str = "") -> list[Mention]:
        """`mentions` plus 该区/本县/全市/开发区-style references resolved to the latest region of that kind,
        and shared names (高桥街道) resolved through the regions named nearby.

        `recent` holds the codes named earlier in the story, oldest first; 全省 is handled as a name.
        `locality` is the section's region: a bare 示范区 with nothing earlier is the one 示范区 there.
        """
        resolved = [self._resolve_shared(m, mentions, recent, locality) if m.ambiguous else m for m in mentions]
        taken = [(m.start, m.end) for m in mentions] + list(skip)
        for rule in self.rules.anaphora:
            for match in rule.pattern.finditer(text):
                if any(s <= match.start() < e for s, e in taken) or \
                        any(s <= match.start() and match.end() <= e for s, e in self._blocked_spans(text)):
                    continue
                suffix = match.group("suffix")
                earlier = recent + [m.code for m in resolved if m.code and m.start < match.start()]
                code = self._referent(suffix, rule, earlier, locality)
                if code:
                    resolved.append(Mention(code, match.start(), match.end(), match.group()))
        return sorted(resolved, key=lambda m: m.start)

    def _referent(self, suffix: str, rule: AnaphoraRule, earlier: list[str], locality: str) -> str:
        endings = self.rules.zone_word_suffixes.get(suffix, (suffix,))
        fits = [c for c in reversed(earlier) if self.regions[c].level in rule.levels
                and self.regions[c].name_zh.endswith(endings)]
        if fits:
            return fits[0]
        if rule.unique and locality:
            inside = [c for c in self._descendants(locality) if self.regions[c].level in rule.levels
                      and self.regions[c].name_zh.endswith(endings)]
            if len(inside) == 1:
                return inside[0]
        return ""

    def _descendants(self, code: str) -> list[str]:
        out, todo = [], list(self.children.get(code, []))
        while todo:
            child = todo.pop()
            out.append(child)
            todo.extend(self.children.get(child, []))
        return out

    def _resolve_shared(self, mention: Mention, mentions: list[Mention], recent: list[str],
                        locality: str) -> Mention:
        """The one candidate inside a region named nearby (this sentence first, then the story); else the
        candidates' common ancestor, still marked ambiguous."""
        nearby = [m.code for m in mentions if m.code and m.start < mention.start][::-1] + recent[::-1]
        if locality:
            nearby.append(locality)
        for context in nearby:
            inside = [c for c in mention.candidates if context in self.ancestors(c)]
            if len(inside) == 1:
                return Mention(inside[0], mention.start, mention.end, mention.text)
        return Mention(self.common_ancestor(mention.candidates), mention.start, mention.end, mention.text,
                       mention.candidates)

    def common_ancestor(self, codes: tuple[str, ...]) -> str:
        chains = [self.ancestors(c) for c in codes]
        shared = set(chains[0]).intersection(*chains[1:])
        return next(c for c in chains[0] if c in shared)

    def ancestors(self, code: str) -> list[str]:
        """The region's own code and its parents up to the province."""
        chain = []
        while code:
            chain.append(code)
            code = self.regions[code].parent_code
        return chain

    def scope_word(self, scope: str | None) -> str | None:
        """A rank's scope as the word the taxonomy knows: 温州 -> 全市, 浙江 -> 全省; other scopes unchanged."""
        region = self.regions.get(self.by_name.get(scope or "", ""))
        if region is None or scope == PROVINCE_WORD:
            return scope
        return {"province": "全省", "city": "全市", "county": "全县"}.get(region.level, scope)

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


def load_place_rules(reference_dir: Path = REFERENCE_DIR) -> PlaceRules:
    """place_rules.yaml, compiled; a broken pattern stops with a sentence naming it."""
    path = reference_dir / "place_rules.yaml"
    if not path.exists():
        return NO_RULES
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)

    def compile_(pattern: str, what: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"place_rules.yaml: {what} {pattern!r} is not a valid pattern: {exc}") from exc

    blockers = [row["pattern"] for row in doc.get("not_a_mention", [])]
    for pattern in blockers:
        compile_(pattern, "not_a_mention")
    anaphora = []
    for row in doc.get("anaphora", []):
        unknown = set(row["levels"]) - set(LEVELS)
        if unknown:
            raise ValueError(f"place_rules.yaml: anaphora {row['pattern']!r} names unknown levels {sorted(unknown)}")
        anaphora.append(AnaphoraRule(compile_(row["pattern"], "anaphora"), frozenset(row["levels"]),
                                     bool(row.get("unique"))))
    not_a_mention = compile_("|".join(f"(?:{p})" for p in blockers), "not_a_mention") if blockers else None
    return PlaceRules(
        not_a_mention=not_a_mention,
        short_name_followed_by=compile_(doc["short_name_followed_by"], "short_name_followed_by")
        if doc.get("short_name_followed_by") else None,
        object_before=compile_(doc["object_before"], "object_before") if doc.get("object_before") else None,
        anaphora=tuple(anaphora),
        zone_word_suffixes={k: tuple(v) for k, v in (doc.get("zone_word_suffixes") or {}).items()},
    )


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
    return Gazetteer(regions, extra, external, load_place_rules(reference_dir))


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
        mention = _most_specific(clause_hits, gazetteer)
        return Attribution(mention.code, "clause", external, _shared_name(mention), _unlisted(mention))
    for candidates, source in (
        ([m for m in sub_province if m.start < position], "sentence"),
        ([m for m in sub_province if position <= m.start < c_end][:1], "clause"),
    ):
        if candidates:
            mention = _most_specific(candidates, gazetteer)
            code = mention.code
            if section and section != code and code in gazetteer.ancestors(section):
                return Attribution(section, "heading", external)
            return Attribution(code, source, external, _shared_name(mention), _unlisted(mention))
    for code, source in fallbacks:
        if code:
            return Attribution(code, source, external)
    return Attribution(PROVINCE_CODE, "default", external)


def _shared_name(mention: Mention) -> str:
    return mention.text if mention.ambiguous else ""


def _unlisted(mention: Mention) -> str:
    return mention.text if mention.unlisted else ""


def _most_specific(candidates: list[Mention], gazetteer: Gazetteer) -> Mention:
    """The nearest mention, unless an earlier one lies inside it (丽水市…青田县 → 青田县)."""
    nearest = candidates[-1]
    for mention in reversed(candidates[:-1]):
        if mention.code != nearest.code and nearest.code in gazetteer.ancestors(mention.code):
            return mention
    return nearest
