"""Resolve the time period a figure in a news sentence refers to.

Feature articles rarely date their figures outright: the period is implied by cues such as 今年以来,
1至8月, 5年间 or 截至目前, which only mean something against the publication date. This module finds
those cues, picks the one that governs a figure and turns it into dates, so figures can be charted by
year and stocks (as_of) kept apart from flows (year, partial_year, cumulative).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache, partial
from pathlib import Path
from typing import NamedTuple

import yaml

from etl.extract.text import PatternIndex
from etl.paths import REFERENCE_DIR

EXPLICIT = 3
RELATIVE = 2
WEAK = 1

# An undated month or date more than this many months after publication is read as last year's.
ROLLOVER_MONTHS = 2

# A cue that writes its year out (2021年, 二〇二一年, “十四五”) dates a figure whatever the publication date is.
WRITTEN_YEAR = re.compile(r"(?:19|20)\d{2}|[一二][〇○零][〇○零一二三四五六七八九]{2}|十[一二三四五六七八九]五")


def names_its_year(period: Period) -> bool:
    """Whether the period was read from a year the text writes, not worked out from the publication date."""
    return WRITTEN_YEAR.search(period.cue) is not None


@dataclass(slots=True)
class Period:
    """The dates a figure refers to, and the cue that said so, for tracing the decision back."""

    start: date | None
    end: date
    kind: str
    year: int
    cue: str
    cue_start: int
    # the scope that decided (clause, sentence, paragraph, heading, document, publication): provenance,
    # not part of what the period is
    source: str = field(default="", compare=False)


@dataclass(slots=True)
class Frame:
    """The period a scope wider than the sentence sets, for the figures their sentence leaves undated."""

    period: Period
    source: str  # paragraph | heading | document
    anchor: Anchor


Range = tuple[date | None, date, str]
Resolver = Callable[["Anchor"], Range]


@dataclass(slots=True)
class PeriodCue:
    """A time expression found in a sentence; `resolver` turns it into dates once the publication date is known."""

    start: int
    end: int
    text: str
    strength: int
    category: str
    resolver: Resolver = field(repr=False, compare=False)

    def resolve(self, anchor: Anchor | date, source: str = "") -> Period:
        """Dates are only fixed here because relative cues (今年, 5年间) depend on the publication date."""
        anchor = anchor if isinstance(anchor, Anchor) else Anchor(anchor)
        start, end, kind = self.resolver(anchor)
        return Period(start, end, kind, end.year, self.text, self.start, source)


class YearRef(NamedTuple):
    """A year as written: absolute (2023年) or an offset from the publication year (今年 0, 去年 -1)."""

    value: int
    relative: bool


# --- resolvers: pure functions of the anchor ------------------------------------------------------


@dataclass(slots=True)
class Anchor:
    """What relative cues are resolved against.

    今年/去年/目前 always count from the publication date. 当年, 全年, 年末, a bare month and the "so far"
    of 累计/已 count from the year the context is about (`year`): a bulletin published in April 2022
    that reviews 2021 means 2021 by 全年. Without a context year they fall back to the publication date.
    """

    published: date
    year: int | None = None
    review_end: date | None = None

    @property
    def now(self) -> date:
        """The narrative's present: the end of the period a review document covers, else publication."""
        return self.review_end or self.published


def _day(year: int, month: int, day: int | None) -> date:
    """Clamp to the month's length so 2月29日 in a non-leap year still resolves; None means month end."""
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day is None else min(day, last))


def _year_of(anchor: Anchor, ref: YearRef | None, last_month: int) -> int:
    """An undated month belongs to the context's year; without one, a month far after publication
    must be last year's: articles report the past."""
    published = anchor.published
    if ref is None:
        if anchor.year is not None:
            return anchor.year
        ahead = last_month - published.month
        return published.year - 1 if ahead > ROLLOVER_MONTHS else published.year
    return published.year + ref.value if ref.relative else ref.value


def _calendar_year(anchor: Anchor, ref: YearRef | None) -> Range:
    """The publication year is still running, so its figures only cover January to publication."""
    year = _year_of(anchor, ref, 12)
    if ref is None and anchor.year is None:
        year = anchor.published.year
    if year == anchor.published.year:
        return date(year, 1, 1), anchor.published, "partial_year"
    return date(year, 1, 1), date(year, 12, 31), "year"


def _within_year(anchor: Anchor, ref: YearRef | None, first: tuple[int, int], last: tuple[int, int | None]) -> Range:
    year = _year_of(anchor, ref, last[0])
    return _day(year, *first), _day(year, *last), "partial_year"


def _on_date(anchor: Anchor, ref: YearRef | None, month: int, day: int) -> Range:
    point = _day(_year_of(anchor, ref, month), month, day)
    return point, point, "as_of"


def _as_of_end(anchor: Anchor, inner: Resolver) -> Range:
    """截至…/…年底 report a stock at the end of the period, not a flow over it."""
    end = inner(anchor)[1]
    return end, end, "as_of"


def _since(anchor: Anchor, ref: YearRef | None, month: int | None, current_is_partial: bool) -> Range:
    """今年以来 is a partial year; an explicit 2024年以来 is read as cumulative even in 2024."""
    published = anchor.published
    if ref is None and anchor.year is None:
        year = published.year if (month or 1) <= published.month else published.year - 1
    else:
        year = _year_of(anchor, ref, month or 1)
    kind = "partial_year" if current_is_partial and year == published.year else "cumulative"
    return date(year, month or 1, 1), anchor.now if year <= anchor.now.year else published, kind


def _minus_one_year(day: date) -> date:
    return _day(day.year - 1, day.month, day.day)


def _trailing_years(anchor: Anchor, years: int | None) -> Range:
    """近5年 counts calendar years including the current one; 近一年 is a rolling twelve months.

    In a review of a past year (a work report, a bulletin) the span ends with that year: 一年来 is the
    year reviewed and 五年来 the five years up to it.
    """
    now = anchor.now
    if years is None:
        return None, now, "cumulative"
    if now != anchor.published:
        if years == 1:
            return date(now.year, 1, 1), now, "year"
        return date(now.year - years + 1, 1, 1), now, "cumulative"
    if years == 1:
        return _minus_one_year(now), now, "cumulative"
    return date(now.year - years + 1, 1, 1), now, "cumulative"


def _streak(anchor: Anchor, years: int) -> Range:
    """连续7年: the last N complete years, up to the year a review covers or the year before publication."""
    last = anchor.now.year if anchor.review_end else anchor.published.year - 1
    return date(last - years + 1, 1, 1), date(last, 12, 31), "cumulative"


def _year_range(anchor: Anchor, first: int, last: int) -> Range:
    """2019—2023年; a span still running at publication (十四五期间 in 2023) ends there."""
    end = anchor.published if last >= anchor.published.year else date(last, 12, 31)
    return date(first, 1, 1), end, "cumulative"


def _at_publication(anchor: Anchor) -> Range:
    return anchor.published, anchor.published, "as_of"


def _so_far(anchor: Anchor) -> Range:
    """已: a stock as of the narrative's present (publication, or the end of the year reviewed)."""
    return anchor.now, anchor.now, "as_of"


def _context_year_end(anchor: Anchor) -> Range:
    """A bare 年末/年底: the end of the context's year (of the publication year without one)."""
    year = anchor.year if anchor.year is not None else anchor.published.year
    end = date(year, 12, 31)
    return end, end, "as_of"


# --- patterns -------------------------------------------------------------------------------------

_ASOF = r"(?P<asof>截[至止]到?)?"
# A calendar year is four digits 19xx/20xx followed by 年; 深耕29年 or 两年多 are durations, not years.
_YEAR = (
    r"(?:(?P<abs>(?<![\d.])(?:19|20)\d{2})年(?!代)度?"
    r"|(?P<rel>(?<!如)今|(?<![过失除褪逝])去|(?<![年提月日天周目当以此之\d])前"
    r"|(?<![说证表声阐文光发透分鲜聪英黎])明)年(?![轻纪龄华份]))"
)
_MONTH = r"(?:1[0-2]|0?[1-9])"
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_TO = r"(?:至|到|[—–\-~～])"
_CN_NUM = "一二两三四五六七八九十"
_COUNT = rf"(?:\d{{1,2}}|[{_CN_NUM}]{{1,3}})"
_VAGUE_COUNT = "几数多些"
_NOT_AFTER_NUMBER = rf"(?<![\d第每〇○零百{_CN_NUM}])(?<!连续)"
_NOT_AGE = r"(?![轻纪龄华])"
_GROWTH_VERBS = "新增|累计|共|引进|引育|集聚|聚集|培养|培育|吸引|招引|招募|落地|签约|投入|扶持|资助|带动"

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_TENS = re.compile(r"(?P<tens>[一二三四五六七八九]?)十(?P<ones>[一二三四五六七八九]?)")


def _count(text: str) -> int | None:
    """Numbers in durations are written either way (5年, 五年, 二十年); None when not a plain count."""
    if text.isdigit():
        return int(text)
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    tens = _CN_TENS.fullmatch(text)
    if tens is None:
        return None
    return _CN_DIGITS.get(tens["tens"], 1) * 10 + _CN_DIGITS.get(tens["ones"], 0)


def _year_ref(match: re.Match[str]) -> YearRef | None:
    groups = match.groupdict()
    if groups.get("abs"):
        return YearRef(int(groups["abs"]), relative=False)
    offsets = {"今": 0, "去": -1, "前": -2, "明": 1}
    if groups.get("rel"):
        return YearRef(offsets[groups["rel"]], relative=True)
    return None


def _calendar_strength(match: re.Match[str]) -> int:
    """A written 4-digit year pins the period down; 今年/去年 or a bare month depend on inference."""
    return EXPLICIT if match.groupdict().get("abs") else RELATIVE


def _with_as_of(match: re.Match[str], resolver: Resolver) -> Resolver:
    return partial(_as_of_end, inner=resolver) if match.groupdict().get("asof") else resolver


def _valid_day(month: int, day: int) -> bool:
    return day <= calendar.monthrange(2000, month)[1]


Handled = tuple[int, str, Resolver] | None

_OPEN_ENDED = partial(_trailing_years, years=None)


def _h_year_range(match: re.Match[str]) -> Handled:
    first, last = int(match["y1"]), int(match["y2"])
    if last <= first:
        return None
    return EXPLICIT, "year_range", partial(_year_range, first=first, last=last)


def _h_since(match: re.Match[str]) -> Handled:
    ref = _year_ref(match)
    month_text = match["month"] or match["bare_month"]
    month = int(month_text) if month_text else None
    current = ref is None or ref == YearRef(0, relative=True)
    resolver = partial(_since, ref=ref, month=month, current_is_partial=current)
    return _calendar_strength(match), "since", resolver


def _h_compared_with(match: re.Match[str]) -> Handled:
    """较2020年增加近40万人: the base of a change. It dates the figure (a flow since that year) only when
    nothing else does: in 2021年…较2020年增长5% the figure is 2021's."""
    resolver = partial(_since, ref=_year_ref(match), month=None, current_is_partial=False)
    return _calendar_strength(match), "base", resolver


def _h_year_start_since(match: re.Match[str]) -> Handled:
    resolver = partial(_since, ref=YearRef(0, relative=True), month=None, current_is_partial=True)
    return RELATIVE, "since", resolver


def _h_date_range(match: re.Match[str]) -> Handled:
    first_month, first_day = int(match["m1"]), int(match["d1"])
    last_month = int(match["m2"] or first_month)
    last_day = int(match["d2"])
    ordered = (last_month, last_day) > (first_month, first_day)
    if not (ordered and _valid_day(first_month, first_day) and _valid_day(last_month, last_day)):
        return None
    resolver = partial(
        _within_year, ref=_year_ref(match), first=(first_month, first_day), last=(last_month, last_day)
    )
    return EXPLICIT, "within_year", _with_as_of(match, resolver)


def _h_date(match: re.Match[str]) -> Handled:
    month, day = int(match["month"]), int(match["day"])
    if not _valid_day(month, day):
        return None
    return EXPLICIT, "date", partial(_on_date, ref=_year_ref(match), month=month, day=day)


def _months_resolver(match: re.Match[str], first: int, last: int) -> Resolver:
    resolver = partial(_within_year, ref=_year_ref(match), first=(first, 1), last=(last, None))
    return _with_as_of(match, resolver)


def _months(match: re.Match[str], first: int, last: int) -> Handled:
    return _calendar_strength(match), "within_year", _months_resolver(match, first, last)


def _h_month_range(match: re.Match[str]) -> Handled:
    first, last = int(match["m1"]), int(match["m2"])
    return _months(match, first, last) if first < last else None


def _h_first_months(match: re.Match[str]) -> Handled:
    last = _count(match["n"])
    return _months(match, 1, last) if last and last <= 12 else None


def _h_quarter(match: re.Match[str]) -> Handled:
    if match["upto"]:
        upto = _count(match["upto"])
        return _months(match, 1, 3 * upto) if upto else None
    quarter = _count(match["q"])
    return _months(match, 3 * quarter - 2, 3 * quarter) if quarter else None


def _h_half(match: re.Match[str]) -> Handled:
    return _months(match, 1, 6) if match["half"] == "上" else _months(match, 7, 12)


def _h_year_end(match: re.Match[str]) -> Handled:
    inner = partial(_within_year, ref=_year_ref(match), first=(1, 1), last=(12, None))
    return _calendar_strength(match), "period_end", partial(_as_of_end, inner=inner)


def _h_month_end(match: re.Match[str]) -> Handled:
    month = int(match["month"])
    inner = partial(_within_year, ref=_year_ref(match), first=(month, 1), last=(month, None))
    return _calendar_strength(match), "period_end", partial(_as_of_end, inner=inner)


def _h_month(match: re.Match[str]) -> Handled:
    month = int(match["month"])
    return _calendar_strength(match), "month", _months_resolver(match, month, month)


def _h_year(match: re.Match[str]) -> Handled:
    ref = _year_ref(match)
    if ref is None:
        return None
    category = "relative_year" if ref.relative else "explicit_year"
    return _calendar_strength(match), category, _with_as_of(match, partial(_calendar_year, ref=ref))


def _h_duration(match: re.Match[str]) -> Handled:
    """十余年来/几年来 give no usable start, so they stay open-ended like 近年来."""
    count = match["n"]
    groups = match.groupdict()
    if groups.get("approx") or groups.get("approx_before") or count in _VAGUE_COUNT:
        return RELATIVE, "duration", _OPEN_ENDED
    years = _count(count)
    if years is None:
        return None
    return RELATIVE, "duration", partial(_trailing_years, years=years)


PLAN_FIRST_YEAR = 2006  # the 11th five-year plan (十一五) began in 2006; each plan runs five years


def _h_plan(match: re.Match[str]) -> Handled:
    """“十四五”以来 / 期间 / 末: a five-year plan's span (十四五 is 2021–2025)."""
    first = PLAN_FIRST_YEAR + 5 * ("一二三四五".index(match["plan"]))
    last = first + 4
    when = match["when"]
    if when in ("以来", "来"):
        return EXPLICIT, "since", partial(_since, ref=YearRef(first, relative=False), month=None,
                                          current_is_partial=False)
    if when == "末":
        return EXPLICIT, "period_end", partial(_on_date, ref=YearRef(last, relative=False), month=12, day=31)
    return EXPLICIT, "year_range", partial(_year_range, first=first, last=last)


def _h_streak(match: re.Match[str]) -> Handled:
    years = _count(match["n"])
    return (RELATIVE, "streak", partial(_streak, years=years)) if years else None


def _fixed(strength: int, category: str, resolver: Resolver) -> Callable[[re.Match[str]], Handled]:
    """Word cues (目前, 累计, 近年来) mean the same wherever they occur."""

    def handle(_match: re.Match[str]) -> Handled:
        return strength, category, resolver

    return handle


# Longer matches win over shorter overlapping ones; on equal length the earlier row wins.
CUE_TABLE: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Handled]], ...] = (
    (re.compile(rf"(?<![\d.])(?P<y1>(?:19|20)\d{{2}})年?{_TO}(?P<y2>(?:19|20)\d{{2}})年"), _h_year_range),
    (
        re.compile(
            rf"(?:自|从)?(?:{_YEAR}(?:(?P<month>{_MONTH})月份?)?|(?<![\d.])(?P<bare_month>{_MONTH})月份?)"
            r"[\u4e00-\u9fff]{0,4}?以来"
        ),
        _h_since,
    ),
    (re.compile(r"(?:开年|年初|入年)以来"), _h_year_start_since),
    (
        re.compile(rf"(?:较|比|与|同)(?:{_YEAR})(?:年?末|年?底)?(?:相比|相较)?[，,]?"
                   r"(?=[^，,。；;]{0,4}(?:增加|增长|提高|新增|翻|多了|减少|下降))"),
        _h_compared_with,
    ),
    (re.compile(rf"是(?:{_YEAR})(?:年?末|年?底)?的(?=[^，,。；;]{{0,8}}倍)"), _h_compared_with),
    (
        re.compile(
            rf"{_ASOF}(?:{_YEAR})?(?<![\d.])(?P<m1>{_MONTH})月(?P<d1>{_DAY})[日号]?(?:{_TO}|、)"
            rf"(?:(?P<m2>{_MONTH})月)?(?P<d2>{_DAY})[日号]"
        ),
        _h_date_range,
    ),
    (
        re.compile(
            rf"{_ASOF}(?:{_YEAR})?(?<![\d.])(?P<month>{_MONTH})月(?P<day>{_DAY})[日号]"
            r"(?:上午|下午|中午|晚上|傍晚|凌晨|早上|晚)?"
        ),
        _h_date,
    ),
    (
        re.compile(rf"{_ASOF}(?:{_YEAR})?(?<![\d.])(?P<m1>{_MONTH})月?{_TO}(?P<m2>{_MONTH})月份?"),
        _h_month_range,
    ),
    (re.compile(rf"{_ASOF}(?:{_YEAR})?前(?P<n>{_COUNT})个?月"), _h_first_months),
    (
        re.compile(rf"{_ASOF}(?:{_YEAR})?(?:前(?P<upto>[一二两三1-3])|第?(?P<q>[一二三四1-4]))季度"),
        _h_quarter,
    ),
    (re.compile(rf"{_ASOF}(?:{_YEAR})?(?P<half>[上下])半年"), _h_half),
    (re.compile(rf"{_ASOF}{_YEAR}年?[底末]"), _h_year_end),
    (re.compile(rf"{_ASOF}(?:{_YEAR})?(?<![\d.])(?P<month>{_MONTH})月份?[底末]"), _h_month_end),
    (re.compile(rf"{_ASOF}(?:{_YEAR})?(?<![\d.])(?P<month>{_MONTH})月份?"), _h_month),
    (re.compile(rf"{_ASOF}{_YEAR}"), _h_year),
    (
        re.compile(
            rf"(?:近|最近|过去的?|短短的?)(?P<n>{_COUNT}|[{_VAGUE_COUNT}])(?P<approx_before>余|多)?年(?P<approx>多|余)?{_NOT_AGE}"
            r"(?:以来|来|间|里|中|时间里?)?"
        ),
        _h_duration,
    ),
    (
        re.compile(
            rf"{_NOT_AFTER_NUMBER}(?P<n>{_COUNT}|[{_VAGUE_COUNT}])(?P<approx_before>余|多)?年(?P<approx>多|余)?(?:以来|来|间)"
        ),
        _h_duration,
    ),
    (re.compile(rf"{_NOT_AFTER_NUMBER}(?P<n>{_COUNT})年(?={_GROWTH_VERBS})"), _h_duration),
    (re.compile(rf"连续(?P<n>{_COUNT})(?:个)?年(?![度份代级])"), _h_streak),
    (re.compile(r"[“\"]?十(?P<plan>[一二三四五])五[”\"]?(?:规划)?(?P<when>期间|时期|以来|来|末)"), _h_plan),
)

_STRENGTHS = {"explicit": EXPLICIT, "relative": RELATIVE, "weak": WEAK}
_WORD_RESOLVERS: dict[str, Resolver] = {
    "publication": _at_publication,
    "so_far": _so_far,
    "open_ended": _OPEN_ENDED,
    "context_year": partial(_calendar_year, ref=None),
    "context_year_end": _context_year_end,
}


@cache
def cue_table() -> tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Handled]], ...]:
    """The patterned cues above, then the word cues declared in periods.yaml, in that order."""
    words = []
    for row in load_period_vocabulary()["word_cues"]:
        resolver = _WORD_RESOLVERS[row["resolves_to"]]
        words.append((re.compile(row["pattern"]), _fixed(_STRENGTHS[row["strength"]], row["category"], resolver)))
    return CUE_TABLE + tuple(words)


@cache
def _cue_index() -> PatternIndex[tuple[int, Callable[[re.Match[str]], Handled]]]:
    """Per row, the characters a match needs (月, 年, 以来…): most sentences lack them, and skipping a
    pattern there is far cheaper than letting the regex engine try it at every position."""
    return PatternIndex(((row, handler), pattern) for row, (pattern, handler) in enumerate(cue_table()))


@cache
def load_period_vocabulary(reference_dir: Path = REFERENCE_DIR) -> dict:
    """periods.yaml: word cues, document types, the early-year review rule, flow and stock words."""
    with (reference_dir / "periods.yaml").open(encoding="utf-8") as fh:
        vocabulary = yaml.safe_load(fh)
    problems = [f"word cue {row.get('pattern')!r}: resolves_to {row.get('resolves_to')!r} is not one of "
                f"{sorted(_WORD_RESOLVERS)}" for row in vocabulary.get("word_cues", [])
                if row.get("resolves_to") not in _WORD_RESOLVERS]
    problems += [f"word cue {row.get('pattern')!r}: strength {row.get('strength')!r} is not one of "
                 f"{sorted(_STRENGTHS)}" for row in vocabulary.get("word_cues", [])
                 if row.get("strength") not in _STRENGTHS]
    for row in vocabulary.get("word_cues", []):
        try:
            re.compile(row.get("pattern", ""))
        except re.error as exc:
            problems.append(f"word cue {row.get('pattern')!r}: {exc}")
    if problems:
        raise ValueError("periods.yaml is inconsistent:\n  " + "\n  ".join(problems))
    return vocabulary


def find_period_cues(sentence: str) -> list[PeriodCue]:
    """All non-overlapping time cues in order; a longer reading (今年1至8月) beats its parts (今年, 8月)."""
    candidates: list[tuple[int, int, PeriodCue]] = []
    for (row, handler), pattern in _cue_index().candidates(set(sentence)):
        for match in pattern.finditer(sentence):
            handled = handler(match)
            if handled is None:
                continue
            strength, category, resolver = handled
            cue = PeriodCue(match.start(), match.end(), match[0], strength, category, resolver)
            candidates.append((-(cue.end - cue.start), row, cue))
    taken = [False] * len(sentence)
    chosen: list[PeriodCue] = []
    for _, _, cue in sorted(candidates, key=lambda item: (item[0], item[1], item[2].start)):
        if not any(taken[cue.start : cue.end]):
            taken[cue.start : cue.end] = [True] * (cue.end - cue.start)
            chosen.append(cue)
    return sorted(chosen, key=lambda cue: cue.start)
