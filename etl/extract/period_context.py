"""The time frames wider than a sentence: the document's, a section heading's, a paragraph's.

A figure's sentence often gives no date: a statistical bulletin says 全年 and 年末, a work report says
一年来, a paragraph opens with 2021年 and its later sentences leave the year out. These frames are found
once per article and handed to `period_choice.resolve_period`, which uses them only when the figure's own
clause and sentence say nothing. What counts as a document type or a review is declared in periods.yaml.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cache

from etl.extract.periods import (
    Anchor,
    Frame,
    Period,
    PeriodCue,
    find_period_cues,
    load_period_vocabulary,
)

# A line that reads as a headline: short, without the punctuation of a sentence.
TITLE_LIKE = re.compile(r"[^。；;，,]{1,40}")
TITLE_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?![\d.])")
WRITTEN_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})年")
THIS_YEAR_WORD = re.compile(r"(?<!如)今年(?![轻纪龄华])|开年|年初以来")
OPENING_CHARS = 2000
# A cue opens a time frame only if it comes this early: within the sentence's first clauses.
OPENING_CLAUSES = 2
CLAUSE_BREAK = re.compile(r"[，,；;：:]")
# Cues that set a time frame for what follows: years and spans of a year. Not a comparison base, not the
# "so far" words that borrow a frame, and not the month or day of an event (2020年11月,…项目落地 dates the
# event, not the figures after it).
HEADING_CATEGORIES = frozenset({"explicit_year", "relative_year", "year_range", "since", "within_year",
                                "period_end", "frame_year"})
PARAGRAPH_CATEGORIES = HEADING_CATEGORIES | {"now", "duration"}


@dataclass(frozen=True)
class DocumentContext:
    """What the document as a whole says about time: its frame (None if nothing) and why."""

    frame: Frame | None
    basis: str

    @property
    def year(self) -> int | None:
        return self.frame.period.year if self.frame else None


def year_frame(year: int, published: date, source: str, cue: str, review_end: date | None = None) -> Frame:
    """The frame of a whole year: a past year is complete; the publication year runs to publication."""
    if year == published.year:
        period = Period(date(year, 1, 1), published, "partial_year", year, cue, -1, source)
        return Frame(period, source, Anchor(published, year, review_end))
    period = Period(date(year, 1, 1), date(year, 12, 31), "year", year, cue, -1, source)
    past_end = date(year, 12, 31) if year < published.year else None
    return Frame(period, source, Anchor(published, year, review_end or past_end))


def _document_type(title: str, opening: str, vocabulary: dict) -> dict | None:
    for kind in vocabulary["document_types"]:
        if any(re.search(pattern, title) for pattern in kind["title"]):
            return kind
        if any(re.search(pattern, opening) for pattern in kind["opening"]):
            return kind
    return None


def _opening_text(text: str, lines: int) -> str:
    """The first non-empty lines (a title, 各位代表, 现在我代表…), read from the top of the text only."""
    found = []
    for line in text[:OPENING_CHARS].splitlines():
        if line.strip():
            found.append(line.strip())
            if len(found) == lines:
                break
    return "\n".join(found)


def document_context(title: str, text: str, published: date) -> DocumentContext:
    """The year a document as a whole reports on, from its title, its type, or an early-year review.

    - a document type (统计公报, 政府工作报告, 计划执行情况的报告) reports on the year its rule says;
    - otherwise a title naming one year (柯桥区2020创新驱动发展) is about that year;
    - otherwise an article published in January–March that writes out last year's number more often
      than it names this year (its number, 今年, 开年) reviews last year. 去年 does not count: a news
      story early in the year says 去年 for context while reporting what is new.
    """
    vocabulary = load_period_vocabulary()
    opening = _opening_text(text, vocabulary["opening_lines"])
    first_line = opening.split("\n", 1)[0]
    if title == first_line and not TITLE_LIKE.fullmatch(title):
        title = ""  # no title was given and the text opens with a sentence, not a headline
    title_years = sorted({int(y) for y in TITLE_YEAR.findall(title or (first_line if TITLE_LIKE.fullmatch(first_line)
                                                                         else ""))})
    single = title_years[0] if len(title_years) == 1 else None
    kind = _document_type(title, opening, vocabulary)
    if kind is not None:
        if kind["reports_on"] == "year_before":
            year = (single or published.year) - 1
        else:
            year = single or published.year - 1
        basis = f"document type {kind['name_zh']} reports on {year}"
        return DocumentContext(year_frame(year, published, "document", kind["name_zh"]), basis)
    if single is not None:
        return DocumentContext(year_frame(single, published, "document", str(single)),
                               f"the title names the year {single}")
    review = vocabulary["review"]
    if published.month in review["months"]:
        counts = Counter(int(y) for y in WRITTEN_YEAR.findall(text))
        last = counts[published.year - 1]
        this = counts[published.year] + len(THIS_YEAR_WORD.findall(text))
        if last >= review["min_mentions"] and last > this:
            year = published.year - 1
            basis = (f"published {published:%Y-%m}, names {year} {last} times and {published.year} {this}: "
                     f"a review of {year}")
            return DocumentContext(year_frame(year, published, "document", f"{year}年回顾"), basis)
    return DocumentContext(None, "nothing in the title or type dates the document")


def frame_from_cue(cue: PeriodCue, source: str, outer: Anchor) -> Frame:
    """A frame set by a cue (a heading's 2022年, a paragraph's opening 去年), resolved in the outer context."""
    period = cue.resolve(outer)
    framed = Period(period.start, period.end, period.kind, period.year, cue.text, -1, source)
    return Frame(framed, source, Anchor(outer.published, period.year, outer.review_end))


def heading_frame(heading: str, outer: Anchor) -> Frame | None:
    """The year a heading such as 一、2022年工作回顾 gives the section under it, or None."""
    if not FRAMING_HINT.search(heading):
        return None
    cue = next((c for c in find_period_cues(heading) if c.category in HEADING_CATEGORIES), None)
    return frame_from_cue(cue, "heading", outer) if cue else None


def opening_end(sentence: str, first_figure: int | None) -> int:
    """Where a sentence's opening ends: at its first figure or after its first clauses."""
    limit = len(sentence)
    for count, match in enumerate(CLAUSE_BREAK.finditer(sentence), start=1):
        if count == OPENING_CLAUSES:
            limit = match.start()
            break
    return limit if first_figure is None else min(limit, first_figure)


# Every cue that can open a frame holds one of these: a sentence opening without them needs no search.
FRAMING_HINT = re.compile(r"[年月]|季度|目前|当前|如今|眼下|现已|现阶段|迄今|至今|截[至止]")


def opening_cue(cues: list[PeriodCue], end: int) -> PeriodCue | None:
    """The cue that sets a time frame for what follows: the sentence's first dating cue, if it comes
    in its opening (2021年,… / 据统计,去年…; see `opening_end`)."""
    return next((cue for cue in cues if cue.start < end and cue.category in PARAGRAPH_CATEGORIES), None)


@cache
def flow_and_stock_words() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns for the flow words (新增, 引进…) and the stock words (现有, 总量…) of periods.yaml."""
    vocabulary = load_period_vocabulary()
    return tuple(re.compile("|".join(map(re.escape, vocabulary[key]))) for key in ("flow_words", "stock_words"))
