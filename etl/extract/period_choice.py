"""Which time cue governs a figure, and the period that gives it.

A sentence may hold several cues (2019年以来,…近5年…目前…累计): Chinese puts the time frame before the
figure, a "so far" word (已, 累计) borrows the frame of a stronger cue, a streak (连续7年) dates only its
clause, and a comparison base (较2020年) marks where a change starts rather than the figure's year. When
the sentence says nothing, the frame a wider scope sets decides (see period_context), and last the
publication date.
"""

from __future__ import annotations

from datetime import date

from etl.extract.periods import (
    EXPLICIT,
    RELATIVE,
    Anchor,
    Frame,
    Period,
    PeriodCue,
    find_period_cues,
)

CLAUSE_BREAKS = frozenset("，,；;：:、")

# Cues that only say "so far" and take their period from a stronger cue when one is in scope.
MODIFIERS = frozenset({"already", "accumulated"})

# Cues that date only the clause they stand in.
CLAUSE_ONLY = frozenset({"streak"})

# Cues whose start an explicit year may overrule ("2019年以来，嘉兴5年新增…").
ANCHOR_CATEGORIES = frozenset({"explicit_year", "since", "year_range"})


def _clause_start(sentence: str, index: int) -> int:
    for i in range(index - 1, -1, -1):  # from the figure back: the nearest break is usually close
        if sentence[i] in CLAUSE_BREAKS:
            return i + 1
    return 0


def _clause_end(sentence: str, index: int) -> int:
    return next((i for i in range(index, len(sentence)) if sentence[i] in CLAUSE_BREAKS), len(sentence))


def _governing_cue(cues: list[PeriodCue], sentence: str, position: int) -> PeriodCue | None:
    """Nearest cue before the figure (in its clause if the clause has one, so simply the nearest),
    else the first cue after it in the same clause: Chinese puts the time frame before the figure.
    A streak (连续7年保持在4%以上) dates only its own clause."""
    clause_start = _clause_start(sentence, position)
    before = [cue for cue in cues if cue.start < position
              and (cue.category not in CLAUSE_ONLY or cue.start >= clause_start)]
    if before:
        return before[-1]
    clause_end = _clause_end(sentence, position)
    return next((cue for cue in cues if position <= cue.start < clause_end), None)


def _runs_to_present(cue: PeriodCue, anchor: Anchor) -> bool:
    period = cue.resolve(anchor)
    return period.end == anchor.now and period.kind in ("cumulative", "partial_year")


def _defer_modifier(cue: PeriodCue, cues: list[PeriodCue], sentence: str, anchor: Anchor) -> PeriodCue:
    """已 and 累计 only say "so far": in 今年已…125场 or 2020年以来,…累计… the period comes from the
    stronger cue, and 目前,…已… is credited to 目前; a dated event elsewhere in the sentence
    (2023年,…开园…据统计,已…) does not date them."""
    if cue.category not in MODIFIERS:
        return cue
    earlier = [other for other in cues if other.end <= cue.start]
    clause_start = _clause_start(sentence, cue.start)
    for other in reversed(earlier):
        if other.start < clause_start:
            break
        if other.category == "already":
            continue
        if cue.category == "already" or other.strength >= RELATIVE:
            return _defer_modifier(other, cues, sentence, anchor)
    for other in reversed(earlier):
        if other.strength >= RELATIVE and _runs_to_present(other, anchor):
            return other
        if cue.category == "already" and other.category == "now":
            return other
    return cue


def _explicit_anchor(cue: PeriodCue, cues: list[PeriodCue]) -> PeriodCue | None:
    """In 2019年以来,嘉兴5年新增… the written year fixes the start; the duration only confirms it."""
    if cue.category != "duration":
        return None
    prior = [other for other in cues if other.end <= cue.start and other.strength >= RELATIVE]
    if prior and prior[-1].strength == EXPLICIT and prior[-1].category in ANCHOR_CATEGORIES:
        return prior[-1]
    return None


def _scope(sentence: str, cue: PeriodCue, position: int) -> str:
    """clause when the cue sits in the figure's own clause, else sentence."""
    inside = _clause_start(sentence, position) <= cue.start < _clause_end(sentence, position)
    return "clause" if inside else "sentence"


def _from_frame(frame: Frame, stock: bool) -> Period:
    """A wider scope's period; a stock (现有…, 总量…) is taken as of the frame's end."""
    period = frame.period
    if stock and period.kind in ("year", "partial_year", "cumulative"):
        return Period(period.end, period.end, "as_of", period.end.year, period.cue, -1, frame.source)
    return Period(period.start, period.end, period.kind, period.year, period.cue, -1, frame.source)


def _base_between(cues: list[PeriodCue], sentence: str, cue: PeriodCue, position: int) -> PeriodCue | None:
    """A comparison base (较2020年) after the governing cue and in the figure's clause."""
    start = max(cue.end, _clause_start(sentence, position))
    return next((c for c in cues if c.category == "base" and start <= c.start < position), None)


def _change_since(base: Period, period: Period) -> Period:
    """截至今年6月底…较2020年增加近40万人 is a change from the base year to the period's end; 2021年…较2020年
    增长5% is simply 2021's change, the year after its base."""
    if period.kind == "year" and base.start is not None and base.start.year == period.year - 1:
        return period
    return Period(base.start, period.end, "cumulative", period.end.year, base.cue, base.cue_start, period.source)


def resolve_period(sentence: str, position: int, published: date, cues: list[PeriodCue] | None = None,
                   frame: Frame | None = None, stock: bool = False) -> Period:
    """The period of the figure at `position`, from the nearest scope that dates it.

    A cue in the figure's clause or sentence decides first; then `frame`, the period a wider scope sets
    (the paragraph's time frame, a section heading, the document); last the publication date, as
    `as_of_publication`. `source` on the result says which scope decided. Pass the sentence's `cues`
    when resolving several figures of one sentence, to find them only once.
    """
    cues = find_period_cues(sentence) if cues is None else cues
    anchor = frame.anchor if frame is not None else Anchor(published)
    dating = [cue for cue in cues if cue.category != "base"]
    governing = _governing_cue(dating, sentence, position)
    if governing is not None:
        cue = _defer_modifier(governing, dating, sentence, anchor)
        if cue.category not in MODIFIERS or frame is None:
            source = _scope(sentence, cue, position)
            duration_start = _explicit_anchor(cue, dating)
            if duration_start is not None:
                start = duration_start.resolve(anchor).start
                return Period(start, anchor.now, "cumulative", anchor.now.year, duration_start.text,
                              duration_start.start, source)
            period = cue.resolve(anchor, source)
            base = _base_between(cues, sentence, cue, position)
            return period if base is None else _change_since(base.resolve(anchor), period)
    if frame is not None:
        return _from_frame(frame, stock)
    base = _governing_cue([cue for cue in cues if cue.category == "base"], sentence, position)
    if base is not None:
        return base.resolve(anchor, _scope(sentence, base, position))
    return Period(published, published, "as_of_publication", published.year, "", -1, "publication")
