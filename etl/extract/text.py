"""Undo the page layout: join lines broken mid-sentence, tell body text from headings and captions,
cut stories into sections and sentences, and keep an exact map back to the raw character offsets.

Newspaper pages arrive as text with line breaks wherever the column ended, captions and side boxes
dropped between two halves of a paragraph, and several localities' stories under their own headings.
"""

from __future__ import annotations

import re

try:  # the regex parser is private to `re`; without it no pattern is skipped, the results stay the same
    import re._constants as sre
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - a Python that moved them
    sre = sre_parse = None
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import product, repeat
from math import prod
from typing import Generic, TypeVar

from etl.extract.tables import TableRow, may_hold_table, table_runs

TERMINAL_PUNCT = "。！？!?…；;"
CLOSING_QUOTES = "”’」』\"'）)"
SENTENCE_END = re.compile(r"[。！？!?](?:[”’」』\"'）)]*)")
HEADING_MAX_CHARS = 40
MAX_SENTENCE_CHARS = 500  # the longest sentence of the seed and development articles has 204 characters
CLAUSE_BREAK = re.compile(r"[，；;：、\s]|[,:](?!\d)")  # 1,234 and 10:30 are not clause breaks
NUMBER_MARKS = ".．,%％"
CLAUSE_PUNCT = re.compile(r"[，,、。；;]")
BYLINE_MARK = "■"
NAME_TOKEN = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
HEADING_REGION = re.compile(r"^(?P<name>[^:：\s]{2,12})[:：]")
MARKDOWN_HEADING = re.compile(r"^#{1,6}\s*")
QUOTED = re.compile(r"“[^“”]*”|\"[^\"]*\"|《[^《》]*》|『[^『』]*』|「[^「」]*」")
NUMBERED_HEADING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.、．]\D)")


@dataclass(slots=True)
class Line:
    """A non-empty physical line: its stripped text and where that text starts in the raw string."""

    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass
class Block:
    """One logical paragraph: physical lines joined without separators, with a raw offset per character."""

    kind: str  # body | heading | byline | table
    text: str
    offsets: list[int]
    joined_across_blank: bool = False
    rows: list[TableRow] = field(default_factory=list)  # a table's rows, header first

    @property
    def raw_start(self) -> int:
        return self.offsets[0]

    @property
    def raw_end(self) -> int:
        return self.offsets[-1] + 1


@dataclass(slots=True)
class Sentence:
    text: str
    offsets: tuple[int, ...]
    block_index: int
    section_index: int
    joined_across_blank: bool

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw offsets of `text[start:end]`."""
        return self.offsets[start], self.offsets[end - 1] + 1

    def quote(self, raw: str) -> str:
        """The sentence as the raw file writes it (its script, its characters), layout breaks removed."""
        first, last = self.offsets[0], self.offsets[-1]
        if last - first + 1 == len(self.offsets):  # one unbroken stretch of the raw file
            return raw[first:last + 1]
        return "".join(raw[i] for i in self.offsets)


@dataclass
class Section:
    """A story or a locality's part of a page: its heading (if any) and its blocks."""

    heading: str
    heading_start: int
    starts_story: bool
    block_indexes: list[int] = field(default_factory=list)


def physical_lines(raw: str, reading: str | None = None) -> list[Line | None]:
    """Stripped lines with raw offsets; None marks a blank line (kept: blank lines end paragraphs).

    `reading` is the text to read in place of `raw`, of the same length (simplified script): the lines'
    text comes from it, their offsets from the raw file.
    """
    reading = raw if reading is None else reading
    lines: list[Line | None] = []
    pos = 0
    for chunk in raw.splitlines(keepends=True):
        body = chunk.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            lead = len(body) - len(body.lstrip())
            start = pos + lead
            lines.append(Line(reading[start:start + len(stripped)], start))
        else:
            lines.append(None)
        pos += len(chunk)
    return lines


def reading_text(raw: str) -> str:
    """The text the extractor reads: traditional script turned simplified (OpenCC) and years written in
    Chinese digits (二〇二三年) in Arabic ones, one character for one, so every offset into it is an offset
    into the raw file. Lines whose conversion changes their length (a phrase rewritten) are converted
    character by character."""
    if CHINESE_YEAR.search(raw):
        raw = CHINESE_YEAR.sub(lambda m: m.group().translate(_CHINESE_DIGITS), raw)
    if not _traditional_chars().search(raw):
        return raw  # no traditional character: most articles, and one character class is cheaper than OpenCC
    converter = _converter()
    converted = converter.convert(raw)
    if len(converted) == len(raw):
        return converted
    lines = []
    for line in raw.splitlines(keepends=True):
        simple = converter.convert(line)
        lines.append(simple if len(simple) == len(line) else "".join(_one_char(converter, c) for c in line))
    return "".join(lines)


CHINESE_YEAR = re.compile(r"(?:一九|二[〇零○])[〇零○一二三四五六七八九]{2}(?=年)")
_CHINESE_DIGITS = str.maketrans("〇零○一二三四五六七八九", "00012345678" + "9")


def _one_char(converter, char: str) -> str:
    simple = converter.convert(char)
    return simple if len(simple) == 1 else char


@cache
def _traditional_chars() -> re.Pattern[str]:
    """A character class of the CJK characters OpenCC turns into another: the traditional ones."""
    converter = _converter()
    block = "".join(map(chr, range(0x4E00, 0xA000)))
    simple = converter.convert(block)
    if len(simple) != len(block):
        simple = "".join(_one_char(converter, c) for c in block)
    return re.compile("[" + "".join(t for t, s in zip(block, simple, strict=True) if t != s) + "]")


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


# A space inside a figure, as text taken from a PDF has (从 773 亿元, 7. 5%, 第 17 位), is not a separator.
_SPACES = re.compile(r"[ \t\u00a0\u3000]{1,2}")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
_AFTER_NUMBER = set("%％‰℅:∶")
_DIGITS = set("0123456789０１２３４５６７８９")


def _number_space(text: str, start: int, end: int) -> bool:
    """True when the spaces at text[start:end] sit inside a written figure."""
    if start == 0 or end >= len(text):
        return False
    left, right = text[start - 1], text[end]
    if left in _DIGITS:
        return bool(_CJK_CHAR.match(right)) or right in _AFTER_NUMBER
    if right in _DIGITS:
        if left in ".．" and start >= 2 and text[start - 2] in _DIGITS:
            return True
        return bool(_CJK_CHAR.match(left))
    return False


def squeeze_number_spaces(block: Block) -> None:
    """Drop the spaces inside figures from a body block, keeping each remaining character's raw offset."""
    if " " not in block.text and "\u3000" not in block.text and "\u00a0" not in block.text \
            and "\t" not in block.text:
        return
    drop = [m.span() for m in _SPACES.finditer(block.text) if _number_space(block.text, *m.span())]
    if not drop:
        return
    keep = [True] * len(block.text)
    for start, end in drop:
        keep[start:end] = [False] * (end - start)
    block.text = "".join(c for c, k in zip(block.text, keep, strict=True) if k)
    block.offsets = [o for o, k in zip(block.offsets, keep, strict=True) if k]


def is_byline(text: str) -> bool:
    """'■ 邹晓津 杨丽英' or '沈沉缘 李晓芳': authors' names mark the start of a story."""
    if text.startswith(BYLINE_MARK):
        return True
    tokens = text.split()
    return len(tokens) >= 2 and all(NAME_TOKEN.match(t) for t in tokens)


def ends_sentence(text: str) -> bool:
    return text.rstrip(CLOSING_QUOTES)[-1:] in TERMINAL_PUNCT or text[-1:] in TERMINAL_PUNCT


def line_kind(text: str) -> str:
    """byline, heading (titles, captions, box labels: short, no clause punctuation) or body."""
    if is_byline(text):
        return "byline"
    if MARKDOWN_HEADING.match(text):
        return "heading"
    if len(text) > HEADING_MAX_CHARS:
        return "body"  # every heading test below needs a short line
    if NUMBERED_HEADING.match(text) and not ends_sentence(text):
        return "heading"  # numbered section titles such as 一、引才规模创新高
    if HEADING_REGION.match(text) and text[-1] not in "。；;":
        return "heading"  # '嘉善:一把“人才密钥”,如何开启县域创新生态?' — headlines may ask questions
    unclosed_quote = text.count("“") > text.count("”")
    if not ends_sentence(text) and not CLAUSE_PUNCT.search(text) and not unclosed_quote:
        return "heading"
    return "body"


def build_blocks(raw: str, reading: str | None = None) -> list[Block]:
    """Group lines into paragraphs, rejoining a body line that stops mid-sentence with the next body line.

    A break is rejoined when the line does not end a sentence and the next non-blank line is body text;
    a heading or caption in between means the page moved on (a side box, a picture), so no join.
    `reading` is the same-length text to read (see `reading_text`).
    """
    blocks: list[Block] = []
    open_block: Block | None = None
    saw_blank = False
    lines = physical_lines(raw, reading)
    tables = {first: (end, rows) for first, end, rows in table_runs(lines)} if may_hold_table(raw) else {}
    skip_to = 0
    for index, line in enumerate(lines):
        if index < skip_to:
            continue
        if index in tables:
            skip_to, rows = tables[index]
            blocks.append(_table_block(rows))
            open_block, saw_blank = None, False
            continue
        if line is None:
            saw_blank = True
            continue
        kind = line_kind(line.text)
        if kind == "body" and open_block is not None:
            open_block.text += line.text
            open_block.offsets.extend(range(line.start, line.end))
            open_block.joined_across_blank |= saw_blank
            current = open_block
        else:
            current = Block(kind, line.text, list(range(line.start, line.end)))
            blocks.append(current)
        open_block = current if current.kind == "body" and not ends_sentence(current.text) else None
        saw_blank = False
    for block in blocks:
        if block.kind == "heading":
            block.text = MARKDOWN_HEADING.sub("", block.text)
            block.offsets = block.offsets[len(block.offsets) - len(block.text):]
        elif block.kind == "body":
            squeeze_number_spaces(block)
    return blocks


def _table_block(rows: list[TableRow]) -> Block:
    """A table as one block: its rows keep their cells; its text is the rows' cells, for headings and logs."""
    text = "\n".join("|".join(row.texts()) for row in rows)
    return Block("table", text, [rows[0].start] * len(text), rows=rows)


def build_sections(blocks: list[Block], region_heading: Callable[[str], bool]) -> list[Section]:
    """Start a section at a locality heading ('秀洲:…') or at a byline that opens a new story.

    `region_heading(text)` says whether a heading names a locality; sub-headings inside a story that
    name none keep the story's section.
    """
    sections = [Section(heading="", heading_start=0, starts_story=False)]
    for index, block in enumerate(blocks):
        if block.kind == "heading" and region_heading(block.text):
            sections.append(Section(block.text, block.raw_start, starts_story=True))
        elif block.kind == "byline":
            previous = sections[-1]
            just_opened = previous.starts_story and not any(
                blocks[i].kind == "body" for i in previous.block_indexes)
            if not just_opened:
                sections.append(Section("", block.raw_start, starts_story=True))
        sections[-1].block_indexes.append(index)
    return sections


def split_sentences(block: Block, block_index: int, section_index: int) -> list[Sentence]:
    """Sentences of a body block, each closing quote kept with the sentence it closes."""
    sentences: list[Sentence] = []
    start = 0
    ends = [m.end() for m in SENTENCE_END.finditer(block.text)]
    if not ends or ends[-1] < len(block.text):
        ends.append(len(block.text))
    for end in ends:
        for piece_start, piece_end in bounded(block.text, start, end):
            sentences.append(_sentence(block, piece_start, piece_end, block_index, section_index))
        start = end
    return [s for s in sentences if s.text.strip()]


def bounded(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """`text[start:end]` in pieces of at most MAX_SENTENCE_CHARS: a text without full stops (a list, a
    dump) is not one sentence, and a quote is never the whole of it. A piece ends after a clause mark,
    else between two characters that are not parts of a number."""
    while end - start > MAX_SENTENCE_CHARS:
        window = text[start:start + MAX_SENTENCE_CHARS]
        cut = max((m.end() for m in CLAUSE_BREAK.finditer(window)), default=0)
        if cut < MAX_SENTENCE_CHARS // 2:
            cut = MAX_SENTENCE_CHARS
            while cut > 1 and (window[cut - 1].isdigit() or window[cut - 1] in NUMBER_MARKS):
                cut -= 1
        yield start, start + cut
        start += cut
    yield start, end


def _sentence(block: Block, start: int, end: int, block_index: int, section_index: int) -> Sentence:
    text = block.text[start:end]
    stripped = text.strip()
    first = start + len(text) - len(text.lstrip())
    return Sentence(stripped, tuple(block.offsets[first:first + len(stripped)]),
                    block_index, section_index, block.joined_across_blank)


def quoted_spans(text: str, max_len: int) -> list[tuple[int, int]]:
    """Spans of “…”, "…" and 《…》 shorter than `max_len`: names and slogans, not speech."""
    spans = []
    for match in QUOTED.finditer(text):
        if match.end() - match.start() - 2 < max_len:
            spans.append((match.start(), match.end()))
    return spans


Clauses = tuple[frozenset[str], ...]
# Character classes wider than this (such as [\u4e00-\u9fff]) say too little to be worth a clause.
_MAX_CLAUSE_CHARS = 64
# An alternation's exact requirement multiplies out; past this many sets it is summed up more loosely.
_MAX_BRANCH_CLAUSES = 16


def required_chars(pattern: re.Pattern[str]) -> Clauses:
    """Sets of characters of which every match of `pattern` holds at least one each.

    Derived once from the compiled pattern, so a sentence lacking one of them can skip the pattern
    without running it; an empty tuple means nothing is known and the pattern must always run.
    """
    if sre_parse is None or pattern.flags & re.IGNORECASE:
        return ()
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - an unreadable parse tree only costs speed
        return ()
    clauses = list(dict.fromkeys(_clauses(parsed)))
    return tuple(c for c in clauses if not any(other < c for other in clauses))  # {年} makes {年,月} moot


def may_match(clauses: Clauses, chars: set[str]) -> bool:
    """False when `chars` (the characters of a text) misses a required set, so the pattern cannot match."""
    # map over the C method rather than a generator: this runs for every pattern of every sentence
    return not any(map(frozenset.isdisjoint, clauses, repeat(chars)))


def _clauses(items: Iterable[tuple]) -> list[frozenset[str]]:
    """Every item of a sequence must match, so the sequence needs what each of its items needs."""
    return [clause for op, av in items for clause in _item_clauses(op, av)]


def _item_clauses(op: object, av: object) -> list[frozenset[str]]:
    if op is sre.LITERAL:
        return [frozenset(chr(av))]
    if op is sre.IN:
        chars = _class_chars(av)
        return [chars] if chars else []
    if op is sre.SUBPATTERN:
        _, add_flags, _, body = av
        return [] if add_flags & re.IGNORECASE else _clauses(body)
    if op is sre.ATOMIC_GROUP:
        return _clauses(av)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _, body = av
        return _clauses(body) if low >= 1 else []
    if op is sre.BRANCH:
        branches = [list(dict.fromkeys(_clauses(branch))) for branch in av[1]]
        if not all(branches):
            return []
        if prod(map(len, branches)) > _MAX_BRANCH_CLAUSES:
            return [frozenset().union(*(min(branch, key=len) for branch in branches))]
        # (a and b) or (c and d) == (a or c) and (a or d) and (b or c) and (b or d)
        return [frozenset().union(*pick) for pick in product(*branches)]
    return []  # lookarounds consume nothing; ANY, categories and group references are not known chars


def _class_chars(items: list[tuple]) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            chars.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < _MAX_CLAUSE_CHARS:
            chars.update(map(chr, range(av[0], av[1] + 1)))
        else:
            return None  # a negated class, a category (\\d) or a wide range
    return frozenset(chars)


T = TypeVar("T")


class PatternIndex(Generic[T]):
    """Patterns kept in a fixed order, each filed under a character every match of it needs.

    For a text, `candidates` gives only the patterns whose required characters it holds, still in that
    order, so scanning them finds what scanning all of them would, while most are never run.
    """

    def __init__(self, entries: Iterable[tuple[T, re.Pattern[str]]]):
        patterns = [(item, pattern, required_chars(pattern)) for item, pattern in entries]
        frequency: dict[str, int] = {}
        for _, _, needs in patterns:
            for char in {c for clause in needs for c in clause}:
                frequency[char] = frequency.get(char, 0) + 1
        by_char: dict[str, list[int]] = {}
        # per pattern: item, pattern, and the required sets other than the one it is filed under
        self.entries: tuple[tuple[T, re.Pattern[str], Clauses], ...] = ()
        always = []
        for position, (item, pattern, needs) in enumerate(patterns):
            if not needs:
                always.append(position)
                self.entries += ((item, pattern, ()),)
                continue
            # filed under its most telling set (the smallest, then the least shared); the others are checked
            rarest = min(needs, key=lambda clause: (len(clause), sum(frequency[c] for c in clause)))
            for char in rarest:
                by_char.setdefault(char, []).append(position)
            self.entries += ((item, pattern, tuple(c for c in needs if c is not rarest)),)
        self.always = frozenset(always)
        self.by_char = {char: tuple(positions) for char, positions in by_char.items()}

    def candidates(self, chars: set[str]) -> list[tuple[T, re.Pattern[str]]]:
        """The (item, pattern) pairs that can match a text made of `chars`, in their original order."""
        positions = set(self.always)
        for char in chars & self.by_char.keys():
            positions.update(self.by_char[char])
        found = []
        for position in sorted(positions):
            item, pattern, others = self.entries[position]
            if not others or may_match(others, chars):
                found.append((item, pattern))
        return found
