"""The view state and its URL: the only module that reads or writes the query string.

Everything an analyst sees can be rebuilt from `?ind=talent_total&reg=330400,330411&tab=trend`, so a link
sent to a colleague reopens the same comparison. Defaults are left out of the URL to keep links short;
anything unreadable in a hand-edited link falls back to its default instead of failing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from urllib.parse import parse_qs, urlencode

from etl.curate.comparable import Basis
from etl.vocabulary import ARTICLE, LEVELS, STATISTICS

TABS = ("compare", "trend", "matrix", "map", "check", "status")
TREND_KINDS = ("line", "dot")
MAP_LEVELS = ("city", "county")
LANGS = ("zh-en", "zh")
LATEST = "latest"
ABSOLUTE, RATE = "abs", "rate"
NORMS = (ABSOLUTE, RATE)  # rate: per 10,000 residents or per 100 million yuan of GDP, as the taxonomy declares
SOURCES = ("", ARTICLE, STATISTICS)  # the facts table's source filter; '' = both


@dataclass(frozen=True)
class ViewState:
    """What is on screen. Tuples keep it hashable, so it can key a cache."""

    tab: str = "compare"
    families: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    include_sub: bool = False
    levels: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    review: bool = True
    period: str = LATEST
    trend_kind: str = "line"
    map_level: str = "city"
    norm: str = ABSOLUTE
    search: str = ""
    source: str = ""
    lang: str = "zh-en"
    fact: str = ""
    cmp: str = ""  # the comparable set a chart draws (etl.curate.comparable.Basis key); '' = the largest

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> ViewState:
        """Rebuild from a dcc.Store payload (lists instead of tuples); unknown keys are ignored."""
        data = data or {}
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)

    def replace(self, **changes) -> ViewState:
        return replace(self, **changes)


# URL parameter name for each field: short, stable, documented in docs/dashboard.md.
PARAMS = {
    "tab": "tab", "families": "fam", "indicators": "ind", "regions": "reg", "include_sub": "sub",
    "levels": "lvl", "year_from": "from", "year_to": "to", "review": "review", "period": "period",
    "trend_kind": "trend", "map_level": "map", "norm": "norm", "search": "q", "source": "src", "lang": "lang",
    "fact": "fact", "cmp": "cmp",
}
LIST_FIELDS = ("families", "indicators", "regions", "levels")
CHOICES = {"tab": TABS, "trend_kind": TREND_KINDS, "map_level": MAP_LEVELS, "lang": LANGS, "norm": NORMS,
           "source": SOURCES}
MAX_ITEMS = 200
MAX_TEXT = 200


def to_query(state: ViewState) -> str:
    """'?ind=a,b&reg=…' with defaults left out; '' for the default view."""
    default = ViewState()
    pairs: list[tuple[str, str]] = []
    for name, param in PARAMS.items():
        value = getattr(state, name)
        if value == getattr(default, name):
            continue
        if name in LIST_FIELDS:
            pairs.append((param, ",".join(value)))
        elif isinstance(value, bool):
            pairs.append((param, "1" if value else "0"))
        else:
            pairs.append((param, str(value)))
    return "?" + urlencode(pairs, safe=",") if pairs else ""


def from_query(search: str | None) -> ViewState:
    """Parse a query string (with or without '?'); bad values fall back to defaults."""
    raw = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    values: dict = {}
    for name, param in PARAMS.items():
        if param not in raw:
            continue
        text = raw[param][-1].strip()
        parsed = _parse(name, text)
        if parsed is not None:
            values[name] = parsed
    return ViewState(**values)


def _parse(name: str, text: str):
    """One field's value from its text, or None to keep the default."""
    if name in LIST_FIELDS:
        items = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
        if name == "levels":
            items = tuple(level for level in items if level in LEVELS)
        return items[:MAX_ITEMS]
    if name in ("include_sub", "review"):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        return None
    if name in ("year_from", "year_to"):
        return int(text) if text.isdigit() and 1900 <= int(text) <= 2100 else None
    if name == "period":
        return text if text == LATEST or (text.isdigit() and 1900 <= int(text) <= 2100) else None
    if name in CHOICES:
        return text if text in CHOICES[name] else None
    if name == "cmp":
        return text if Basis.parse(text) is not None else None
    return text[:MAX_TEXT]
