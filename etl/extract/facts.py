"""Article → facts: clean the layout, find the quantities, and give each its locality, period and indicator.

Pure: takes a decoded `Article` and the reference data, returns `Fact`s. Reads no files.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import NamedTuple

from etl.extract.indicators import Indicator, Taxonomy
from etl.extract.numbers import Quantity
from etl.extract.period_choice import resolve_period
from etl.extract.period_context import (
    FRAMING_HINT,
    DocumentContext,
    document_context,
    flow_and_stock_words,
    frame_from_cue,
    heading_frame,
    opening_cue,
    opening_end,
)
from etl.extract.periods import Anchor, Frame, Period, PeriodCue, find_period_cues, names_its_year
from etl.extract.quantities import find_quantities
from etl.extract.regions import (
    PROVINCE_CODE,
    Gazetteer,
    Mention,
    Region,
    attribute_region,
    clause_end,
    clause_start,
)
from etl.extract.sources import Article
from etl.extract.tables import TableLayout, is_numeric, unit_note, without_unit
from etl.extract.text import (
    HEADING_REGION,
    Block,
    Section,
    Sentence,
    build_blocks,
    build_sections,
    quoted_spans,
    reading_text,
    split_sentences,
)
from etl.vocabulary import PRESS

SHORT_QUOTE_CHARS = 16
RESTATED_CHARS = 4  # the words after a figure that show it is the same figure said again
WORDS = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?])")
# A cell that writes its own measure (33.81%, 2155亿元) needs no unit from its header.
OWN_MEASURE = re.compile(r"[%％‰\u4e00-\u9fff]$")
YEAR_LABEL = re.compile(r"(?:19|20)\d{2}年?(?:度)?")
TARGET_CUE = re.compile(r"计划|争取|目标(?!的)|力争|预计|拟")
# Goal words that reach over a list of clauses; 计划 does not, as it also names programmes (双领计划).
GOAL_AHEAD = re.compile(r"力争|争取|预计|拟")
# A section headed by its goals (二、2024年主要目标, 下一步工作打算) states targets, not results.
PLAN_HEADING = re.compile(r"目标|计划|打算|思路|安排|展望|下一步")
REVIEW_HEADING = re.compile(r"回顾|成效|成绩|完成情况|进展")
DONE_CUE = re.compile(r"已|完成|累计|实际|现有")
# A goal's reach ends at a full stop of its list (;) or where the sentence turns to what was done.
TARGET_BREAK = re.compile(r"[；;]|同时|此外|其中")
STORY_LEVELS = ("county", "zone", "town")
MIN_STORY_MENTIONS = 2
NUMERAL = re.compile(r"[0-9０-９一二两三四五六七八九十百千万亿半]")
RATIO_PHRASE = re.compile(r"每\d+[名个位人户][^，,。；;]{0,12}?有\d+[名个位人户]")


@dataclass
class Fact:
    fact_id: str
    article_id: str
    region_code: str
    region_name: str
    region_level: str
    indicator_code: str
    indicator_name_zh: str
    indicator_name_en: str
    family: str
    value: float
    value_high: float | None
    unit: str
    qualifier: str
    period_start: str | None
    period_end: str
    period_kind: str
    year: int
    quote: str
    char_start: int
    char_end: int
    quote_start: int
    quote_end: int
    number_text: str
    region_source: str
    period_source: str
    status: str
    review_reason: str
    source_kind: str = "article"
    source_title: str = ""
    source_url: str = ""
    source_tier: str = PRESS

    def as_row(self) -> dict:
        return dict(self.__dict__)


def make_fact_id(article_sha256: str, char_start: int, char_end: int, indicator_code: str) -> str:
    """Stable across runs on the same input, so corrections and links keep pointing at the same fact."""
    key = f"{article_sha256}:{char_start}:{char_end}:{indicator_code}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def heading_region(text: str, gazetteer: Gazetteer) -> str:
    """Code of the locality a heading like '秀洲:筑就青年人才梦想之城' introduces, '' if none."""
    match = HEADING_REGION.match(text)
    if not match:
        return ""
    region = gazetteer.lookup(match.group("name"))
    return region.code if region else ""


def article_region(article: Article, gazetteer: Gazetteer) -> str:
    """The manifest's primary region, else the region the text names most often."""
    region = gazetteer.lookup(article.primary_region) if article.primary_region else None
    if region:
        return region.code
    counts = Counter(m.code for m in gazetteer.mentions(article.text) if m.code)
    return counts.most_common(1)[0][0] if counts else ""


def story_region(section: Section, blocks: list[Block], gazetteer: Gazetteer) -> str:
    """For a story with no locality heading, the county, zone or town its text names most often."""
    text = "".join(blocks[i].text for i in section.block_indexes if blocks[i].kind == "body")
    counts = Counter(m.code for m in gazetteer.mentions(text, quoted_spans(text, SHORT_QUOTE_CHARS))
                     if m.code and gazetteer.get(m.code).level in STORY_LEVELS)
    if not counts:
        return ""
    code, count = counts.most_common(1)[0]
    return code if count >= MIN_STORY_MENTIONS else ""


def section_fallbacks(sections: list[Section], blocks: list[Block], gazetteer: Gazetteer,
                      primary: str) -> list[list[tuple[str, str]]]:
    """Per section, the (code, source) fallbacks for figures whose sentence names no region."""
    fallbacks = []
    story_seen = False
    for section in sections:
        heading_code = heading_region(section.heading, gazetteer) if section.heading else ""
        inferred = ""
        if section.starts_story and not heading_code and story_seen:
            inferred = story_region(section, blocks, gazetteer)
        story_seen = story_seen or (section.starts_story and any(blocks[i].kind == "body"
                                                                 for i in section.block_indexes))
        fallbacks.append([(heading_code, "heading"), (inferred, "story"), (primary, "article")])
    return fallbacks


def resolve_qualifier(quantity: Quantity, sentence: str, indicator_qualifier: str | None,
                      flow_words: re.Pattern[str] | None = None) -> str:
    """As written, except that a goal or plan (计划/争取/目标) makes it a target, and caps are upper bounds.

    A goal stated earlier in the sentence also governs a later clause that adds to it (力争全年新引进大学生
    3.5万人,新增技能人才1万人: `flow_words`), but not one that states terms (给予一次性5万元补贴) or what is
    already done (计划总投资…,已完成投资…)."""
    start = clause_start(sentence, quantity.start)
    if TARGET_CUE.search(sentence, start, quantity.start):
        return "target"
    goal = GOAL_AHEAD.search(sentence, 0, start)
    if goal and quantity.qualifier == "exact" and flow_words is not None \
            and flow_words.search(sentence, start, quantity.start) \
            and not DONE_CUE.search(sentence, start, quantity.start) \
            and not TARGET_BREAK.search(sentence, goal.end(), start):
        return "target"
    if quantity.qualifier == "exact" and indicator_qualifier:
        return indicator_qualifier
    return quantity.qualifier


def review_reasons(quantity: Quantity, indicator_is_other: bool, external_subject: str,
                   region_source: str, period_assumed: bool = False, ambiguous: str = "",
                   unlisted: str = "", date_inferred: bool = False) -> list[str]:
    """Why an analyst should look at a fact before relying on it; empty when nothing is doubtful."""
    reasons = []
    if indicator_is_other:
        reasons.append("indicator_unmatched: no indicator in the taxonomy names this figure")
    if quantity.vague:
        reasons.append("vague_amount: the text gives only an order of magnitude (数百/数千)")
    if external_subject:
        reasons.append(f"external_subject: the clause is about {external_subject}, outside the gazetteer")
    if region_source == "default":
        reasons.append("region_default: neither the text nor the manifest names a locality")
    if ambiguous:
        reasons.append(f"region_ambiguous: {ambiguous} names places in several counties and nothing nearby says "
                       "which; the figure is given to the region containing them all")
    if unlisted:
        reasons.append(f"zone_unlisted: {unlisted} is not in the gazetteer; the figure is given to the place its "
                       "name starts with (add the zone to data/reference/zones.csv)")
    if quantity.kind == "rank" and not quantity.rank_scope:
        reasons.append("rank_scope_missing: the text does not say among whom the rank is")
    if period_assumed:
        reasons.append("period_assumed: period assumed from the publication date; nothing in the text dates "
                       "this change")
    if date_inferred:
        reasons.append("date_inferred: the article's publication date is only inferred from its text, and this "
                       "figure's period is worked out from it (今年, 去年, 目前, or the date itself)")
    return reasons


def rests_on_inferred_date(article: Article, period: Period) -> bool:
    """A period read from 今年/去年/目前 or the publication date is only as good as that date; when the date
    was inferred from the text (no manifest, metadata or URL gave one) the figure is flagged."""
    return article.published_source == "inferred" and not names_its_year(period)


def _in_ratio(text: str, quantity: Quantity) -> bool:
    return any(m.start() <= quantity.start < m.end() for m in RATIO_PHRASE.finditer(text))


@dataclass(frozen=True)
class ArticleScope:
    """What every sentence of one article is read against: the article, the reference data, the raw text
    quotes are taken from, and the document's time frame."""

    article: Article
    gazetteer: Gazetteer
    taxonomy: Taxonomy
    document: DocumentContext
    flow_words: re.Pattern[str]
    stock_words: re.Pattern[str]
    defined_places: dict[str, str]

    def outer_anchor(self, frame: Frame | None) -> Anchor:
        return frame.anchor if frame is not None else Anchor(self.article.published)


@dataclass(slots=True)
class SentenceReading:
    """A sentence's facts, the time frame it opens for the sentences after it in its paragraph, and the
    places it names as subjects (not a rank's scope inside a figure: 居嘉兴第二) for the story's context."""

    facts: list[Fact]
    opening: PeriodCue | None
    subjects: list[str] | None = None


def _period_for(scope: ArticleScope, text: str, quantity: Quantity, cues: list[PeriodCue],
                frame: Frame | None, target: bool):
    """The figure's period through the scope chain; a target looks ahead, so no past year frames it."""
    published = scope.article.published
    if target and frame is not None and frame.period.year < published.year:
        frame = None
    c_start, c_end = clause_start(text, quantity.start), clause_end(text, quantity.end)
    stock = scope.stock_words.search(text, c_start, quantity.start) is not None
    period = resolve_period(text, quantity.number_start, published, cues, frame, stock)
    if target and period.kind == "partial_year" and period.end == published:
        # a goal for the running year is a goal for the whole of it (力争全年…)
        period = replace(period, end=date(period.end.year, 12, 31), kind="year")
    flow = scope.flow_words.search(text, c_start, c_end) is not None
    return period, flow and period.source == "publication" and not target


def facts_from_sentence(scope: ArticleScope, sentence: Sentence, fallbacks: list[tuple[str, str]],
                        recent: list[str], named: list[Mention], quoted: list[tuple[int, int]],
                        frame: Frame | None, plan: bool = False) -> SentenceReading:
    """The figures of one sentence; `recent` lists the regions the story named before it (for 该区/全县),
    `frame` the period a wider scope sets for figures the sentence leaves undated.

    `quoted` are the sentence's short quotes and `named` the places it names outside them: the caller
    needs both anyway, so they are found once per sentence.
    """
    text = sentence.text
    article, gazetteer, taxonomy = scope.article, scope.gazetteer, scope.taxonomy
    quantities = find_quantities(text, gazetteer.rank_places) if NUMERAL.search(text) else []
    if not quantities:  # only its opening can matter: whether it sets a time frame for what follows
        hint = FRAMING_HINT.search(text)
        if hint is None or hint.start() >= (end := opening_end(text, None)):
            return SentenceReading([], None)
        return SentenceReading([], opening_cue(find_period_cues(text[:end]), end))
    cues = find_period_cues(text)
    opening = opening_cue(cues, opening_end(text, quantities[0].start)) if cues else None
    figures = [(q.start, q.end) for q in quantities]
    skip = quoted + figures
    outside_figures = [m for m in named if not any(s <= m.start < e for s, e in figures)]
    locality = next((code for code, _ in fallbacks if code), "")
    mentions = gazetteer.anaphora(text, outside_figures, recent, skip, locality)
    raw = article.text
    facts = []
    for quantity in quantities:
        classification = taxonomy.classify(text, quantity.number_start, quantity.number_end, quantity.unit,
                                           gazetteer.scope_word(quantity.rank_scope))
        indicator = classification.indicator
        if quantity.unit is None and indicator.is_other:
            continue  # a bare number nothing in the text gives a meaning to: not a figure
        if RATIO_PHRASE.search(text, max(0, quantity.start - 12)) and _in_ratio(text, quantity):
            continue  # 每5名嘉兴人中就有1人: a way of saying a share, not two figures
        attribution = attribute_region(text, quantity.number_start, mentions, fallbacks, gazetteer,
                                       is_rank=quantity.kind == "rank")
        region = gazetteer.get(attribution.code)
        qualifier = resolve_qualifier(quantity, text, indicator.qualifier, scope.flow_words)
        if plan and qualifier != "under":
            qualifier = "target"  # under a heading of goals (二、2024年主要目标)
        period, assumed = _period_for(scope, text, quantity, cues, frame, qualifier == "target")
        unit = indicator.unit if quantity.unit is None or indicator.unit not in (quantity.unit, "count") \
            and quantity.unit == "person" and indicator.unit == "per_10k" else quantity.unit
        reasons = review_reasons(quantity, indicator.is_other, attribution.external_subject, attribution.source,
                                 assumed, attribution.ambiguous, attribution.unlisted,
                                 rests_on_inferred_date(article, period))
        facts.append(make_fact(article, Reading(
            quantity, indicator, unit, qualifier, region, attribution.source, period, reasons,
            span=sentence.raw_span(quantity.start, quantity.end),
            quote_span=(sentence.offsets[0], sentence.offsets[-1] + 1), quote=sentence.quote(raw))))
    return SentenceReading(facts, opening, [m.code for m in outside_figures if m.code])


class Reading(NamedTuple):
    """Everything decided about one figure, before it becomes a row."""

    quantity: Quantity
    indicator: Indicator
    unit: str
    qualifier: str
    region: Region
    region_source: str
    period: Period
    reasons: list[str]
    span: tuple[int, int]  # the figure's raw offsets
    quote_span: tuple[int, int]  # the quoted passage's raw offsets
    quote: str


def make_fact(article: Article, reading: Reading) -> Fact:
    """The fact row for one reading; its id is stable across runs on the same text."""
    (char_start, char_end), period, region, indicator = reading.span, reading.period, reading.region, reading.indicator
    quantity = reading.quantity
    return Fact(
        fact_id=make_fact_id(article.sha256, char_start, char_end, indicator.code),
        article_id=article.article_id,
        region_code=region.code, region_name=region.name_zh, region_level=region.level,
        indicator_code=indicator.code, indicator_name_zh=indicator.name_zh,
        indicator_name_en=indicator.name_en, family=indicator.family,
        value=float(quantity.value), value_high=quantity.value_high, unit=reading.unit,
        qualifier=reading.qualifier,
        period_start=period.start.isoformat() if period.start else None,
        period_end=period.end.isoformat(), period_kind=period.kind, year=period.year,
        quote=reading.quote, char_start=char_start, char_end=char_end,
        quote_start=reading.quote_span[0], quote_end=reading.quote_span[1],
        number_text=article.text[char_start:char_end], region_source=reading.region_source,
        period_source=period.source,
        status="needs_review" if reading.reasons else "extracted", review_reason="; ".join(reading.reasons),
    )


def table_facts(scope: ArticleScope, block: Block, caption: str, frame: Frame | None,
                fallbacks: list[tuple[str, str]]) -> list[Fact]:
    """One fact per figure cell of a table: what it measures from its column header (or its row label when
    the columns are years or places), the place from the row label (or the header), the period from a year
    in the header or label, else the caption, else the frame around the table."""
    layout = TableLayout.of(block.rows)
    caption_unit = unit_note(caption)
    published = scope.article.published
    facts = []
    for row in layout.rows:
        label = row.cells[0].text
        row_unit = row.cells[layout.unit_column].text if layout.unit_column is not None else ""
        for column in range(1, len(row.cells)):
            cell = row.cells[column]
            if column == layout.unit_column or not is_numeric(cell.text):
                continue
            header = layout.headers[column]
            stated = unit_note(header) or unit_note(label) or row_unit or caption_unit
            text = cell.text + ("" if OWN_MEASURE.search(cell.text) else stated)
            quantity = next((q for q in find_quantities(text) if q.number_start < len(cell.text)), None)
            if quantity is None:
                continue
            region, region_source, subject = _table_cell_place(scope, layout, column, label, header, fallbacks)
            classification = scope.taxonomy.classify(subject + text, len(subject) + quantity.number_start,
                                                     len(subject) + quantity.number_end, quantity.unit)
            indicator = classification.indicator
            when = f"{caption}，{label}，{without_unit(header)}："
            period = resolve_period(when, len(when), published, None, frame)
            reasons = review_reasons(quantity, indicator.is_other, "", region_source,
                                     date_inferred=rests_on_inferred_date(scope.article, period))
            span = (cell.start + quantity.start, cell.start + min(quantity.end, len(cell.text)))
            facts.append(make_fact(scope.article, Reading(
                quantity, indicator, quantity.unit or indicator.unit, quantity.qualifier, region, region_source,
                replace(period, source=period.source if period.source in ("document", "publication") else "table"),
                reasons, span=span, quote_span=(row.start, row.end),
                quote=scope.article.text[row.start:row.end])))
    return facts


def _table_cell_place(scope: ArticleScope, layout: TableLayout, column: int, label: str, header: str,
                      fallbacks: list[tuple[str, str]]) -> tuple[Region, str, str]:
    """(region, how it was decided, the words that say what the cell measures) for one cell."""
    gazetteer = scope.gazetteer
    label_region = gazetteer.lookup(label)
    header_region = gazetteer.lookup(without_unit(header))
    label_is_year = bool(YEAR_LABEL.fullmatch(label))
    if label_region is not None:
        return label_region, "table", layout.subject(column)
    if header_region is not None:
        return header_region, "table", without_unit(label)
    code, source = next(((c, s) for c, s in fallbacks if c), (PROVINCE_CODE, "default"))
    subject = layout.subject(column) if label_is_year else without_unit(label) + layout.subject(column)
    return gazetteer.get(code), source, subject


def extract_article(article: Article, gazetteer: Gazetteer, taxonomy: Taxonomy) -> list[Fact]:
    """Every figure quoted in the article, in reading order."""
    analysis = reading_text(article.text)
    blocks = build_blocks(article.text, analysis)
    sections = build_sections(blocks, lambda heading: bool(heading_region(heading, gazetteer)))
    fallbacks = section_fallbacks(sections, blocks, gazetteer, article_region(article, gazetteer))
    flow, stock = flow_and_stock_words()
    document = document_context(reading_text(article.title), analysis, article.published)
    scope = ArticleScope(article, gazetteer, taxonomy, document,
                         flow, stock, gazetteer.abbreviations(analysis))
    facts: list[Fact] = []
    for section_index, section in enumerate(sections):
        recent = [code for code, _ in reversed(fallbacks[section_index]) if code]
        heading = scope.document.frame
        plan = False
        for block_index in section.block_indexes:
            block = blocks[block_index]
            if block.kind == "heading" and block_index > 0:
                heading = heading_frame(block.text, scope.outer_anchor(heading)) or heading
                plan = bool(PLAN_HEADING.search(block.text)) and not REVIEW_HEADING.search(block.text)
            if block.kind == "table":
                caption = _caption(blocks, block_index)
                facts.extend(table_facts(scope, block, caption, heading, fallbacks[section_index]))
            if block.kind != "body":
                continue
            frame = heading
            for sentence in split_sentences(block, block_index, section_index):
                quoted = quoted_spans(sentence.text, SHORT_QUOTE_CHARS)
                named = gazetteer.mentions(sentence.text, quoted, scope.defined_places)
                reading = facts_from_sentence(scope, sentence, fallbacks[section_index], recent, named, quoted,
                                              frame, plan)
                facts.extend(reading.facts)
                if reading.opening is not None:
                    frame = frame_from_cue(reading.opening, "paragraph", scope.outer_anchor(heading))
                subjects = reading.subjects if reading.subjects is not None else [m.code for m in named if m.code]
                recent.extend(code for code in subjects if code != PROVINCE_CODE)
    return without_restatements(facts, analysis)


def _caption(blocks: list[Block], index: int) -> str:
    """The words just before a table: its title line, or the last sentence of the paragraph before it."""
    if index == 0 or blocks[index - 1].kind not in ("heading", "body"):
        return ""
    text = blocks[index - 1].text
    sentences = [part for part in SENTENCE_SPLIT.split(text) if part.strip()]
    return sentences[-1] if sentences else text


def without_restatements(facts: list[Fact], text: str) -> list[Fact]:
    """A figure said again later (a lead restated in the body: 共有22项系列活动 … 等22项系列活动) is one fact:
    the same value, unit, indicator and place, followed by the same words (not mere punctuation)."""
    seen: set[tuple] = set()
    kept = []
    for fact in facts:
        after = text[fact.char_end:fact.char_end + RESTATED_CHARS]
        key = (fact.value, fact.unit, fact.indicator_code, fact.region_code, after)
        if WORDS.fullmatch(after) and key in seen:
            continue
        seen.add(key)
        kept.append(fact)
    return kept
