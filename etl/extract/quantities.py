"""Every figure in a sentence: the phrase forms (ranks, shares, ratios, streaks) first, then the numerals.

A phrase form claims its span, so the numerals inside it (the 3 of 第3位) are not figures again. What is
left out on purpose: a threshold that only describes the things counted (1000万元以上项目6个 counts
projects; 1000万元 is not a figure of its own).
"""

from __future__ import annotations

import re

from etl.extract.forms import FORM_CHARS, PlaceRanks, doublings, fractions, ranks, ratios, streaks
from etl.extract.numbers import (
    FULLWIDTH,
    HAS_FULLWIDTH,
    Quantity,
    blocked_spans,
    inside,
    numeral_matches,
    numeral_quantity,
)

# 1000万元以上项目6个, 300亩以上现代农业园区10个: a bound followed, in the same clause and without a verb
# between, by the count of what it bounds.
THRESHOLD_WORDS = ("以上", "以下", "及以上")
THRESHOLD_GAP = re.compile(r"(?:的)?[\u4e00-\u9fff“”（）()]{1,12}")
THRESHOLD_VERBS = re.compile(r"[是为达有占超增降新引建成共计已将]")


def find_quantities(text: str, places: PlaceRanks | None = None) -> list[Quantity]:
    """Every figure candidate in text, in order of position and non-overlapping; `places` finds ranks scoped
    by a place's name (温州第一; the gazetteer's `rank_places`)."""
    norm = text.translate(FULLWIDTH) if HAS_FULLWIDTH.search(text) else text
    blocked = blocked_spans(norm)
    chars = set(norm)
    found = []
    if not FORM_CHARS.isdisjoint(chars):
        found = ranks(text, norm, blocked, chars, places) + fractions(text, norm, blocked, chars)
        found += ratios(text, norm, blocked, chars) + streaks(text, norm, blocked, chars) + doublings(text, norm, chars)
    taken = [(q.start, q.end) for q in found]
    for m in numeral_matches(norm):
        if taken and any(a < m.end() and m.start() < b for a, b in taken):
            continue
        if inside(m.start("vague") if m["vague"] else m.start("ar" if m["ar"] else "cn"), blocked):
            continue
        q = numeral_quantity(m, text, norm)
        if q is not None:
            found.append(q)
    found.sort(key=lambda q: (q.start, -q.end))
    out: list[Quantity] = []
    for q in found:
        if not out or q.start >= out[-1].end:
            out.append(q)
    return _without_thresholds(out, norm)


def _without_thresholds(quantities: list[Quantity], norm: str) -> list[Quantity]:
    """Drop bounds that describe a class of things counted right after them (see module docstring)."""
    kept = []
    for index, quantity in enumerate(quantities):
        following = quantities[index + 1] if index + 1 < len(quantities) else None
        if following is not None and quantity.text.endswith(THRESHOLD_WORDS) and quantity.unit is not None:
            gap = norm[quantity.end:following.start]
            if THRESHOLD_GAP.fullmatch(gap) and not THRESHOLD_VERBS.search(gap) and following.unit in ("count", "person"):
                continue
        kept.append(quantity)
    return kept
