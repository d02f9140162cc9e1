"""Figures written as phrases rather than as a numeral and a measure word.

Ranks (列全省第3位, 全市第一, 全省前三), fractions and shares (四分之一, 三成, 百分百), doubling (翻一番),
ratios and structures (2.6:1, 三次产业结构为2.7:40.4:56.8) and streaks of years (连续7年). Each finder is
a rule for a pattern of the language; each returns Quantities whose spans the numeral finder then leaves
alone.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from etl.extract.numbers import (
    CJK,
    CN_DIGIT,
    CN_DIGIT_CHARS,
    POSTFIX_QUALIFIER,
    POSTFIX_RE,
    PREFIX_RE,
    Quantity,
    clause_qualifier,
    inside,
    make_quantity,
    parse_span,
    prefix_qualifier,
)
from etl.extract.text import may_match, required_chars

# A rank is over when a measure word follows: 全省第一批, 全市第二届, 全国第一家 are ordinals, not ranks.
ALLOWED_AFTER_RANK = rf"(?=$|[^{CJK}]|[的和与及或并且也])"
_RANK_POSITION = (
    r"(?P<pos>第(?P<n>\d+|[一二三四五六七八九十]+)(?P<m>[位名])?"
    r"|(?P<first>首位|榜首{first_alone})"
    r"|前(?P<top>\d+|[一二三四五六七八九十]+)(?P<tm>[位名强])?)"
)
# With a verb (位列, 居, 排名…) the scope may be left out or be any place (居杭州市首位).
RANK_RE = re.compile(
    r"(?:位列|位居|名列|排名|排在|跻身|位次|进入|挺进|入围|(?:跃升|上升|提升|升)(?:至|到)"
    r"|(?<![系并陈行序队下上])列|(?<![民聚安宜定家旅寄蜗邻同乐起移])居|(?<![安编彩并])排)"
    rf"(?P<scope>全[国省市区县](?:同类城市|城市|地区|县域)?|县\(市(?:、区)?\)|[{CJK}]{{1,5}}?[省市县区](?:县域)?)?"
    + _RANK_POSITION.format(first_alone="|首") + ALLOWED_AFTER_RANK
)
# Without a verb the scope must be there and say whose ranking it is: 全市第一, 全省前三, 全省县域第二.
SCOPED_RANK_RE = re.compile(
    r"(?P<scope>全[国省市区县](?:同类城市|城市|地区|县域|范围内)?)"
    + _RANK_POSITION.format(first_alone="") + ALLOWED_AFTER_RANK
)
FRACTION_RE = re.compile(
    rf"(?P<pre>{PREFIX_RE})?"
    r"(?:(?P<whole>百分(?:之)?百)"
    r"|(?P<den>\d+|[一二三四五六七八九十百千万]+)分之(?P<num>\d+(?:\.\d+)?|[一二两三四五六七八九十百]+)"
    rf"|(?<!另)(?P<half>一半)"
    rf"|(?<![{CN_DIGIT_CHARS}十百千万亿\d])(?P<tenth>[二两三四五六七八九])成"
    rf"(?=$|[^{CJK}]|以上|左右|多|的|是))"
    rf"(?P<post>{POSTFIX_RE})?"
)
# 翻番 and 翻一番 double, 翻两番 quadruples: 2 to the number of 番.
DOUBLING_RE = re.compile(r"翻(?P<n>[一两二三四])?番")
# Parts joined by a ratio colon: 2.6:1, 6.7∶74.1∶19.2 (a structure whose parts are shares of 100).
RATIO_RE = re.compile(
    r"(?<![\d.:∶])(?P<parts>\d+(?:\.\d+)?(?:[:∶]\d+(?:\.\d+)?){1,3})(?![\d:∶]|\.\d)"
)
RATIO_PART = re.compile(r"\d+(?:\.\d+)?")
STRUCTURE_TOLERANCE = Decimal("1.0")
# 连续7年保持在4%以上: the streak's length is a figure of its own (a count of years); so is a term, 三年期资助.
STREAK_RE = re.compile(
    r"连续(?P<n>\d{1,2}|[一二两三四五六七八九十]{1,3})(?:个)?年(?![度份代级])"
    r"|(?<![\d一二两三四五六七八九十])(?P<term>\d{1,2}|[一二两三四五六七八九十]{1,3})年期(?!间|内)"
)

# Characters each pattern needs: most sentences have none of them, and checking that is far cheaper than
# running the pattern.
_NEEDS = {name: required_chars(pattern) for name, pattern in (
    ("rank", RANK_RE), ("scoped_rank", SCOPED_RANK_RE), ("fraction", FRACTION_RE), ("doubling", DOUBLING_RE),
    ("ratio", RATIO_RE), ("streak", STREAK_RE))}


# Every phrase form needs one of these characters (第/首/前 of ranks, 分之/半/成/百分 of shares, 番, the ratio
# colon, 连续/年期): a sentence without any skips them all at once.
FORM_CHARS = frozenset("第首前分半成番:∶续期")


def _rank_quantity(m: re.Match[str], text: str) -> Quantity | None:
    try:
        if m["first"]:
            value, qualifier, measure = Decimal(1), "exact", ""
        elif m["top"]:
            value, qualifier, measure = parse_span(m["top"])[0], "under", m["tm"] or ""
        else:
            value, qualifier, measure = parse_span(m["n"])[0], "exact", m["m"] or ""
    except ValueError:
        return None
    start = m.start("scope") if m["scope"] else m.start("pos")
    scope = text[m.start("scope"):m.end("scope")] if m["scope"] else ""
    span = (start, m.end("pos"), m.start("pos"), m.end("pos"))
    return make_quantity(text, span, value, unit="rank", measure=measure, qualifier=qualifier, kind="rank",
                         rank_scope=scope)


RANK_START = re.compile(r"第(?=\d|[一二三四五六七八九十])|首位|榜首|(?<=[居列排省市县区国])首|前(?=\d|[一二三四五六七八九十])")


class PlaceRanks:
    """Ranks scoped by a place's name, without a verb: 温州第一 (first in Wenzhou), 嘉兴前三.

    Found from the rank's words back to a name ending right before them, which is far cheaper than one
    pattern of every name tried at every position.
    """

    def __init__(self, places: list[str]):
        self.names = frozenset(places)
        self.lengths = sorted({len(n) for n in places}, reverse=True)

    def finditer(self, text: str):
        for start in RANK_START.finditer(text):
            at = start.start()
            name = next((text[at - n:at] for n in self.lengths if n <= at and text[at - n:at] in self.names), None)
            if name is not None and (m := _scoped_by(name).match(text, at - len(name))):
                yield m


@cache
def _scoped_by(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?P<scope>{re.escape(name)})" + _RANK_POSITION.format(first_alone="") + ALLOWED_AFTER_RANK)


def ranks(text: str, norm: str, blocked: list[tuple[int, int]], chars: set[str],
          places: PlaceRanks | None = None) -> list[Quantity]:
    """Rank statements (列全省第3位, 居杭州市首位, 全市第一, 全省前三, 温州第一); the verb is left out of the
    span. `places` finds ranks scoped by a place's name (see `PlaceRanks`)."""
    if RANK_START.search(norm) is None:
        return []
    matches = []
    if may_match(_NEEDS["rank"], chars):
        matches += list(RANK_RE.finditer(norm))
    if may_match(_NEEDS["scoped_rank"], chars):
        matches += list(SCOPED_RANK_RE.finditer(norm))
    if places is not None:
        matches += places.finditer(norm)
    out = []
    for m in matches:
        if not inside(m.start("pos"), blocked) and (quantity := _rank_quantity(m, text)) is not None:
            out.append(quantity)
    return out


def fractions(text: str, norm: str, blocked: list[tuple[int, int]], chars: set[str]) -> list[Quantity]:
    """Fractions and shares (四分之一, 一半, 三成, 百分百), as percent."""
    out = []
    if not may_match(_NEEDS["fraction"], chars):
        return out
    for m in FRACTION_RE.finditer(norm):
        core = next(group for group in ("whole", "half", "tenth", "den") if m[group])
        number_start = m.start(core)
        if inside(number_start, blocked):
            continue
        if m["whole"]:
            value = Decimal(100)
        elif m["half"]:
            value = Decimal(50)
        elif m["tenth"]:
            value = Decimal(10 * CN_DIGIT[m["tenth"]])
        else:
            try:
                den, num = parse_span(m["den"])[0], parse_span(m["num"])[0]
            except ValueError:
                continue
            if not den or num > den:
                continue
            value = num / den * 100
        number_end = m.start("post") if m["post"] else m.end()
        qualifier = prefix_qualifier(m, norm)
        start = m.start("pre") if qualifier else number_start
        if qualifier is None and m["post"]:
            qualifier = POSTFIX_QUALIFIER[m["post"]]
        if qualifier is None:
            qualifier = clause_qualifier(norm, number_start)
        span = (start, m.end(), number_start, number_end)
        out.append(make_quantity(text, span, value, unit="percent", qualifier=qualifier or "exact"))
    return out


def doublings(text: str, norm: str, chars: set[str]) -> list[Quantity]:
    """翻番/翻一番 (×2), 翻两番 (×4): a multiple, counted even inside a slogan's quotes (实现“五年翻一番”)."""
    if not may_match(_NEEDS["doubling"], chars):
        return []
    out = []
    for m in DOUBLING_RE.finditer(norm):
        count = CN_DIGIT.get(m["n"], 1) if m["n"] else 1
        span = (m.start(), m.end(), m.start(), m.end())
        out.append(make_quantity(text, span, Decimal(2) ** count, unit="times"))
    return out


def ratios(text: str, norm: str, blocked: list[tuple[int, int]], chars: set[str]) -> list[Quantity]:
    """2.6:1 is a ratio of 2.6; parts that add up to 100 (三次产业结构为6.7∶74.1∶19.2) are shares, one
    figure each. Anything else joined by a colon (18:30, a score) is not a figure."""
    if not may_match(_NEEDS["ratio"], chars):
        return []
    out = []
    for m in RATIO_RE.finditer(norm):
        if inside(m.start(), blocked):
            continue
        parts = list(RATIO_PART.finditer(m["parts"]))
        values = [Decimal(p.group()) for p in parts]
        offset = m.start("parts")
        if abs(sum(values) - 100) <= STRUCTURE_TOLERANCE:
            for part, value in zip(parts, values, strict=True):
                span = (offset + part.start(), offset + part.end(), offset + part.start(), offset + part.end())
                out.append(make_quantity(text, span, value, unit="percent"))
        elif len(values) == 2 and values[1] == 1:
            span = (m.start(), m.end(), m.start(), m.end())
            out.append(make_quantity(text, span, values[0], unit="ratio"))
    return out


def streaks(text: str, norm: str, blocked: list[tuple[int, int]], chars: set[str]) -> list[Quantity]:
    """连续7年 / 连续七年: how many years in a row; 三年期: how many years a term runs. A count of years."""
    if not may_match(_NEEDS["streak"], chars):
        return []
    out = []
    for m in STREAK_RE.finditer(norm):
        group = "n" if m["n"] else "term"
        if inside(m.start(group), blocked):
            continue
        try:
            value = parse_span(m[group])[0]
        except ValueError:
            continue
        span = (m.start(group), m.end(), m.start(group), m.end())
        out.append(make_quantity(text, span, value, unit="years", measure="年"))
    return out
