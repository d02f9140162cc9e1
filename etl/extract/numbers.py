"""Find and normalise quantities in Chinese news text.

Every figure in an article has to be found once, with an exact value in base
units and its qualifier, so that other modules only decide what it measures
(region, period, indicator). Units come only from data/reference/units.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from itertools import pairwise

import cn2an

from etl.extract.units import load_units

# Full-width ASCII (digits, ％, ，, （） and letters) -> ASCII; one char for one
# char, so offsets in the normalised text are offsets in the original.
FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
HAS_FULLWIDTH = re.compile("[\uff01-\uff5e]")

_MULT = {
    "十": Decimal(10),
    "百": Decimal(100),
    "千": Decimal(1000),
    "万": Decimal(10_000),
    "亿": Decimal(100_000_000),
}
CN_DIGIT = {
    "〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
CN_DIGIT_CHARS = "".join(CN_DIGIT)
CJK = "\u4e00-\u9fff"

_PREFIX_QUALIFIER = {
    "超过": "over", "超出": "over", "突破": "over", "逾": "over", "超": "over",
    "多于": "over", "不少于": "over", "至少": "over", "高于": "over",
    "大约": "approx", "约": "approx", "将近": "approx", "接近": "approx", "近": "approx",
    "最高": "under", "最多": "under", "不到": "under", "不足": "under",
    "不超过": "under", "少于": "under", "低于": "under",
}
# A qualifier word is only a qualifier when it is not the tail of another
# word: 签约3个 is "signed 3", 附近3公里 is "3 km nearby", 赶超 is a verb.
_PREFIX_BAD_BEFORE = {
    "约": set("签制预邀合公条节契相履违特集简婉隐"),
    "近": set("附最邻亲"),
    "超": set("赶高"),
    "上": set("线以网马成晚早之向往北会台身路街镇市县省区年天世"),
}
POSTFIX_QUALIFIER = {
    "以上": "over", "有余": "over", "左右": "approx", "上下": "approx",
    "以内": "under", "以下": "under",
}
PREFIX_RE = "|".join(sorted(_PREFIX_QUALIFIER, key=len, reverse=True)) + "|上(?=[百千万亿])"
POSTFIX_RE = "以上|有余|左右|上下(?![游级文班楼])|以内|以下"

# A figure with no measure word is not a figure when one of these follows:
# years and dates, times of day, 80后, 500强, route/model codes, 五大平台.
_BAD_FOLLOWER = set("年月日号时点秒后强线路型大届+")
# Nor after these: ordinals (第八届), codes (G60, 1+9, 2024-09) and back-references (该五个系列, 这3家).
_BAD_BEFORE = set("第+.-/#该这此")
# An amount with a multiplier right before one of these is money even without 元: 500万贷款.
_MONEY_NOUNS = ("贷款", "资金", "资助", "补贴", "补助", "奖励", "奖金", "经费", "投资", "基金", "津贴")
# A Chinese numeral with 期 in brackets or before 工程/项目 names a phase: 中心(二期)项目, 三期工程.
_PHASE_MEASURES = ("期",)
_PHASE_AFTER = ("）", ")", "工程", "项目")
# Named sets that read like figures but are slogans or idioms.
_IDIOMS = (
    "三位一体", "三番五次", "三天两头", "三五成群", "成百上千", "千家万户",
    "十三五", "十四五", "十五五", "十六五", "十件实事", "三次产业", "一二三产",
)
# A measure word that is really the head of a longer word: 21个人才之家 is 21 个, not 21 个人;
# 一对一, 1对1 pair people up; they do not count pairs.
_MEASURE_GUARDS = {"个人": "才", "对": r"[\d一二两三四五六七八九十]"}
# A qualifier earlier in the clause that still governs the figure: 约占衢州市的一半, 最高一项保额达140万元.
_CLAUSE_QUALIFIER = (
    (re.compile(r"约占"), "approx", ""),
    (re.compile(r"最高|最多"), "under", "达为至是"),
)
_CLAUSE_BREAK = set(",;:!?。；：！？\n")
_QUOTES = (("“", "”"), ("‘", "’"), ("《", "》"), ("「", "」"), ("『", "』"), ("〈", "〉"))
_SHORT_QUOTE = 16

_ARABIC = r"\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?"
_PAIR_RE = re.compile(
    r"(?P<tens>[一二三四五六七八九]?十)?(?P<a>[一两二三四五六七八])(?P<b>[二两三四五六七八九])"
    r"(?P<mult>[十百千万亿]*)"
)
_ARABIC_RE = re.compile(r"(?P<num>\d+(?:\.\d+)?)(?P<mult>[十百千万亿]*)")
ALLOWED_AFTER_RANK = rf"(?=$|[^{CJK}]|[的和与及或并且也])"


@dataclass(slots=True)
class Quantity:
    """One figure found in a text; offsets index the text that was searched."""

    start: int
    end: int
    number_start: int
    number_end: int
    value: float
    value_high: float | None
    unit: str | None
    measure: str
    qualifier: str
    kind: str
    rank_scope: str | None
    vague: bool
    text: str


@cache
def _measure_to_unit() -> dict[str, str]:
    """Map every declared measure word (ASCII-normalised) to its unit code."""
    lookup: dict[str, str] = {}
    for code, spec in load_units().items():
        for word in spec.get("measures") or []:
            lookup[str(word).translate(FULLWIDTH)] = code
    return lookup


def _mult_class(extra: str = "") -> str:
    """Regex for one multiplier char, not eating the head of a measure (千米)."""
    heads: dict[str, list[str]] = {}
    for word in _measure_to_unit():
        if word[0] in _MULT and len(word) > 1:
            heads.setdefault(word[0], []).append(re.escape(word[1:]))
    plain = "".join(c for c in _MULT if c not in heads)
    parts = [f"[{extra}{plain}]"]
    parts += [f"{c}(?!{'|'.join(rests)})" for c, rests in heads.items()]
    return "(?:" + "|".join(parts) + ")"


@cache
def _number_re() -> re.Pattern[str]:
    """Compile the numeral+measure pattern once the vocabulary is known."""
    measures = sorted(_measure_to_unit(), key=len, reverse=True)
    measure_re = "|".join(
        ["个多月"] + [re.escape(m) + (f"(?!{_MEASURE_GUARDS[m]})" if m in _MEASURE_GUARDS else "") for m in measures]
    )
    mult = _mult_class()
    cn = _mult_class(CN_DIGIT_CHARS) + "+"
    return re.compile(
        rf"(?P<pre>{PREFIX_RE})?"
        rf"(?P<vague>[数几](?=[十百千万亿]))?"
        rf"(?:(?P<ar>{_ARABIC})(?P<arm>{mult}*)|(?P<cn>{cn}))"
        rf"(?:(?P<rsep>[至到~\-—])(?:(?P<ar2>{_ARABIC})(?P<arm2>{mult}*)|(?P<cn2>{cn})))?"
        rf"(?P<mid>[余多几])?"
        rf"(?P<mult2>[万亿]+)?"
        rf"(?P<measure>{measure_re})?"
        rf"(?P<post>{POSTFIX_RE})?"
    )


@cache
def _numeral_start_re() -> re.Pattern[str]:
    """Any character a `_number_re` match can begin with: a qualifier word's first, 数/几, or a numeral."""
    starts = {word[0] for word in _PREFIX_QUALIFIER} | {"上", "数", "几"} | set(CN_DIGIT_CHARS) | set(_MULT)
    return re.compile(r"[\d" + "".join(re.escape(c) for c in sorted(starts)) + "]")


def numeral_matches(norm: str) -> Iterator[re.Match[str]]:
    """The matches `_number_re().finditer(norm)` gives, trying the pattern only where a numeral can begin.

    The pattern opens with optional qualifier groups, so the regex engine cannot skip ahead by itself and
    would try every position of the sentence.
    """
    find_start = _numeral_start_re().search
    match_at = _number_re().match
    pos = 0
    while (start := find_start(norm, pos)) is not None:
        m = match_at(norm, start.start())
        if m is None:
            pos = start.start() + 1
        else:
            yield m
            pos = m.end()  # never empty: a numeral is always matched


def _decimal_mult(chars: str) -> Decimal:
    """Product of multiplier chars: 百万 -> 1e6, 万亿 -> 1e12."""
    out = Decimal(1)
    for c in chars:
        out *= _MULT[c]
    return out


def parse_span(s: str) -> tuple[Decimal, Decimal | None]:
    """Parse a numeral into (value, high) in Decimal; high is set only for 四五百万-style ranges."""
    s = s.strip().translate(FULLWIDTH).replace(",", "")
    if len(s) > 1 and s[0] in "数几" and s[1] in _MULT:
        s = s[1:]
    if not s:
        raise ValueError("empty numeral")
    m = _ARABIC_RE.fullmatch(s)
    if m:
        return Decimal(m["num"]) * _decimal_mult(m["mult"]), None
    m = _PAIR_RE.fullmatch(s)
    if m and CN_DIGIT[m["b"]] == CN_DIGIT[m["a"]] + 1:
        tens = Decimal(0)
        if m["tens"]:
            tens = Decimal(10 * (CN_DIGIT[m["tens"][0]] if len(m["tens"]) == 2 else 1))
        mult = _decimal_mult(m["mult"])
        low = (tens + CN_DIGIT[m["a"]]) * mult
        high = (tens + CN_DIGIT[m["b"]]) * mult
        return low, high
    if all(c in _MULT for c in s):
        if any(_MULT[a] >= _MULT[b] for a, b in pairwise(s)):
            raise ValueError(f"not a numeral: {s!r}")
        return _decimal_mult(s), None
    return _cn2an_decimal(s), None


def _cn2an_decimal(s: str) -> Decimal:
    """Chinese numeral via cn2an, returned as an exact Decimal (cn2an may return floats)."""
    try:
        raw = cn2an.cn2an(s, "normal")
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"not a numeral: {s!r}") from exc
    try:
        return Decimal(str(raw))
    except InvalidOperation as exc:
        raise ValueError(f"not a numeral: {s!r}") from exc


def parse_numeral(s: str) -> float:
    """Value of one numeral with multipliers ('248.77亿', '百万', '两'), exact via Decimal."""
    low, high = parse_span(s)
    if high is not None:
        raise ValueError(f"{s!r} is a range, not one numeral")
    return float(low)


def blocked_spans(norm: str) -> list[tuple[int, int]]:
    """Spans whose digits are names, not figures: short quotes and idioms."""
    spans: list[tuple[int, int]] = []
    pairs = list(_QUOTES) + [('"', '"')]
    for open_c, close_c in pairs:
        i = norm.find(open_c)
        while i != -1:
            j = norm.find(close_c, i + 1)
            if j == -1:
                break
            k = norm.find(open_c, i + 1) if open_c != close_c else -1
            if k != -1 and k < j:
                i = k
                continue
            if j - i - 1 < _SHORT_QUOTE:
                spans.append((i, j + 1))
            i = norm.find(open_c, j + 1)
    for idiom in _IDIOMS:
        if idiom in norm:
            spans += [(m.start(), m.end()) for m in re.finditer(idiom, norm)]
    return spans


def inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    """True when pos falls inside one of the spans."""
    return any(a <= pos < b for a, b in spans)


def prefix_qualifier(m: re.Match[str], norm: str) -> str | None:
    """Qualifier of a matched prefix word, or None when it is part of another word."""
    word = m["pre"]
    if not word:
        return None
    start = m.start("pre")
    before = norm[start - 1] if start else ""
    if before in _PREFIX_BAD_BEFORE.get(word[0], set()):
        return None
    return "over" if word == "上" else _PREFIX_QUALIFIER[word]


def clause_qualifier(norm: str, number_start: int) -> str | None:
    """Qualifier stated earlier in the clause, not next to the number (约占…的一半)."""
    i = number_start
    while i > 0 and norm[i - 1] not in _CLAUSE_BREAK:
        i -= 1
    clause = norm[i:number_start]
    for pattern, qualifier, must_precede in _CLAUSE_QUALIFIER:
        if pattern.search(clause) and (not must_precede or clause and clause[-1] in must_precede):
            return qualifier
    return None


def _counts_quoted_list(norm: str, number_start: int, value: Decimal) -> bool:
    """True for “A、B、C”三种能力: the number only counts the items just quoted."""
    if number_start == 0 or norm[number_start - 1] != "”":
        return False
    opening = norm.rfind("“", 0, number_start - 1)
    if opening == -1:
        return False
    items = re.split(r"[、,]", norm[opening + 1:number_start - 1])
    return len(items) >= 2 and value == len(items)


def make_quantity(
    text: str,
    span: tuple[int, int, int, int],
    value: Decimal,
    *,
    value_high: Decimal | None = None,
    unit: str | None = None,
    measure: str = "",
    qualifier: str = "exact",
    kind: str = "quantity",
    rank_scope: str | None = None,
    vague: bool = False,
) -> Quantity:
    """Build a Quantity from (start, end, number_start, number_end), text taken from the original string."""
    start, end, number_start, number_end = span
    return Quantity(
        start=start,
        end=end,
        number_start=number_start,
        number_end=number_end,
        value=float(value),
        value_high=float(value_high) if value_high is not None else None,
        unit=unit,
        measure=measure,
        qualifier=qualifier,
        kind=kind,
        rank_scope=rank_scope,
        vague=vague,
        text=text[start:end],
    )


def _is_digit_string(run: str) -> bool:
    """True for digit-by-digit Chinese (二〇二四, 八八) that is a name or year, not a figure."""
    return len(run) > 1 and all(c in CN_DIGIT for c in run) and not _PAIR_RE.fullmatch(run)


def _side_value(ar: str | None, arm: str | None, cn: str | None) -> tuple[Decimal, Decimal | None]:
    """Value of one side of a numeral match (Arabic with multipliers, or Chinese)."""
    if ar:
        return Decimal(ar.replace(",", "")) * _decimal_mult(arm or ""), None
    return parse_span(cn or "")


def numeral_quantity(m: re.Match[str], text: str, norm: str) -> Quantity | None:
    """Turn one numeral match into a Quantity, or None when it is not a figure."""
    core = "ar" if m["ar"] else "cn"
    number_start = m.start(core)
    lead = m.start("vague") if m["vague"] else number_start
    before = norm[lead - 1] if lead else ""
    qualifier = prefix_qualifier(m, norm)
    if m["cn"] and not _chinese_ok(m, before, qualifier, norm):
        return None  # checked first: most numeral matches are 一 and the like inside words (一批, 统一)
    measure = m["measure"] or ""
    numeral_end = m.start("measure") if measure else (m.start("post") if m["post"] else m.end())
    if _not_a_figure(m, norm, lead, numeral_end, qualifier):
        return None
    values = _values(m)
    if values is None:
        return None
    low, high = values
    has_mult = bool(m["arm"] or m["mult2"] or (m["cn"] and set(m["cn"]) & set(_MULT)))
    if (
        m["ar"] and not (has_mult or measure or m["mid"] or m["rsep"] or qualifier)
        and "." not in m["ar"] and 1900 <= low <= 2100
    ):
        return None  # a year
    if _counts_quoted_list(norm, number_start, low):
        return None
    vague = bool(m["vague"]) or m["mid"] == "几"
    if high is not None:
        qualifier = "range"
    elif qualifier is None:
        if vague or m["mid"] or measure == "个多月":
            qualifier = "over"
        elif m["post"]:
            qualifier = POSTFIX_QUALIFIER[m["post"]]
        else:
            qualifier = clause_qualifier(norm, number_start) or "exact"
    if measure == "个多月":
        measure_text = "个月"
        unit: str | None = _measure_to_unit()["个月"]
    else:
        measure_text = text[m.start("measure"):m.end("measure")] if measure else ""
        unit = _measure_to_unit().get(measure) if measure else None
    if unit is None and has_mult and norm.startswith(_MONEY_NOUNS, m.end()):
        unit = "yuan"  # 500万贷款, 200万资助: an amount of money with its 元 left out
    start = m.start("pre") if m["pre"] and prefix_qualifier(m, norm) else lead
    if _negative(norm, lead) and high is None:
        start, number_start, low = start - 1, number_start - 1, -low
    number_end = m.end("measure") if measure else numeral_end
    span = (start, m.end(), number_start, number_end)
    return make_quantity(text, span, low, value_high=high, unit=unit, measure=measure_text, qualifier=qualifier,
                         vague=vague)


def _negative(norm: str, lead: int) -> bool:
    """为-6.8‰: a minus sign after a word, not a hyphen between numbers (2024-09) or in a code."""
    return lead >= 2 and norm[lead - 1] in "-−" and not norm[lead - 2].isascii()


def _not_a_figure(m: re.Match[str], norm: str, lead: int, numeral_end: int, qualifier: str | None) -> bool:
    """Numerals that are codes, times, ordinals, phases or back-references rather than figures."""
    before = norm[lead - 1] if lead else ""
    after = norm[numeral_end] if numeral_end < len(norm) else ""
    measure = m["measure"] or ""
    if qualifier is None and (before in _BAD_BEFORE or before.isascii() and before.isalpha()) \
            and not _negative(norm, lead):
        return True
    if norm[max(0, lead - 2):lead] == "问题":
        return True
    if after == ":" and norm[numeral_end + 1:numeral_end + 2].isdigit():
        return True
    if before == ":" and norm[lead - 2:lead - 1].isdigit():
        return True
    if not measure and (after in _BAD_FOLLOWER or after.isascii() and after.isalpha()):
        return True
    if not measure and after == "分" and before and before in "时点":
        return True
    if measure in _PHASE_MEASURES and m["cn"] and (before in "（(" or norm.startswith(_PHASE_AFTER, m.end())):
        return True  # (二期), 三期工程: a phase of a project, not a count
    return bool(m["rsep"] and (bool(m["cn"]) != bool(m["cn2"]) or (m["cn"] and m["rsep"] not in "至到")))


def _values(m: re.Match[str]) -> tuple[Decimal, Decimal | None] | None:
    """(low, high) of a numeral match with its multipliers; None when it does not parse as a figure."""
    try:
        low, high = _side_value(m["ar"], m["arm"], m["cn"])
        if m["rsep"]:
            high, _ = _side_value(m["ar2"], m["arm2"], m["cn2"])
            right_mult = m["arm2"] if m["ar2"] else re.search(r"[万亿]*$", m["cn2"])[0]
            left_has_mult = m["arm"] if m["ar"] else set(m["cn"]) & {"万", "亿"}
            if right_mult and not left_has_mult:
                low *= _decimal_mult(right_mult)
    except ValueError:
        return None
    if high is not None and low >= high:
        return None
    if m["mult2"]:
        low *= _decimal_mult(m["mult2"])
        high = high * _decimal_mult(m["mult2"]) if high is not None else None
    return low, high


def _chinese_ok(m: re.Match[str], before: str, qualifier: str | None, norm: str) -> bool:
    """Chinese numerals hide in words (一批, 三地, 万泰); accept only clear figures."""
    run = m["cn"]
    if run in ("一", "零", "〇") or _is_digit_string(run):
        return False
    if before and before in "届周第初":
        return False
    marked = bool(qualifier or m["mid"] or m["vague"])
    if run in ("百", "千", "万", "亿") and not marked:
        return False
    if m["measure"]:
        after = norm[m.end("measure"):m.end("measure") + 1]
        return after != "“" or bool(set(run) & set(_MULT))
    big = bool(set(run) & {"万", "亿"} or m["mult2"])
    has_digit = any(c in CN_DIGIT for c in run)
    return big and (marked or has_digit)
