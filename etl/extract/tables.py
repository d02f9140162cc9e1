"""Tables inside articles: rows of cells split by `|`, tabs or runs of spaces, under a header row.

Bulletins and reposted reports carry tables as text: `杭州市 | 2155.35 | 6.14` under `地区 | 地区生产总值(亿元)
| 增长(%)`, or columns aligned with spaces. A table gives one figure per numeric cell: the indicator and unit
from its column header (or the row label, when the columns are years or places), the place from the row
label (or the column header), and the period from the table's caption or the text around it. This module
finds tables among the lines and reads their cells; `table_facts` in the extractor turns cells into facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Line(Protocol):
    """A physical line of an article (etl.extract.text.Line): its stripped text and its raw offset."""

    text: str
    start: int
    end: int

PIPE = "|｜"
# A text with none of these has no table: no pipe, no tab, no run of spaces (looked for with `in`, which is
# far cheaper over a whole article than a pattern).
TABLE_MARKS = ("|", "｜", "\t", "  ", "\u3000", "\u00a0\u00a0")


def may_hold_table(text: str) -> bool:
    return any(mark in text for mark in TABLE_MARKS)
WIDE_GAP = re.compile(r"\t+|[ \u3000\u00a0]{2,}|\u3000+")
SEPARATOR_CELL = re.compile(r":?-{2,}:?|[=—－-]{2,}")
NUMERIC_CELL = re.compile(r"[约近超逾]?-?\d[\d,.]*\s*[万亿千百]?\s*(?:%|％|‰|[\u4e00-\u9fff]{0,2})")
MAX_CELL_CHARS = 40
MIN_ROWS = 2  # a header and at least one row of figures
# 单位：亿元 / (单位:万人) in a caption or header: the unit of every cell that gives none.
UNIT_NOTE = re.compile(r"单位[:：]\s*(?P<unit>[^\s，,；;。)）]{1,6})")
BRACKETED_UNIT = re.compile(r"[（(](?:单位[:：])?\s*(?P<unit>[^（()）]{1,6})\s*[)）]")


@dataclass(frozen=True)
class Cell:
    """One cell: its reading text and the raw offsets of that text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class TableRow:
    cells: tuple[Cell, ...]
    start: int
    end: int

    def texts(self) -> list[str]:
        return [cell.text for cell in self.cells]


def split_cells(text: str, start: int) -> list[Cell] | None:
    """The cells of a line that reads as a table row, or None: at least two cells split by a pipe, a tab or
    a run of spaces, none of them longer than a short label."""
    if any(p in text for p in PIPE):
        parts = _split(text, re.compile("[" + PIPE + "]"))
    elif WIDE_GAP.search(text):
        parts = _split(text, WIDE_GAP)
    else:
        return None
    cells = [Cell(piece, start + at, start + at + len(piece)) for at, piece in parts if piece]
    if len(cells) < 2 or any(len(cell.text) > MAX_CELL_CHARS for cell in cells):
        return None
    return cells


def _split(text: str, separator: re.Pattern[str]) -> list[tuple[int, str]]:
    """(offset, stripped text) of each piece between separators."""
    pieces, at = [], 0
    for match in [*separator.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[at:end]
        lead = len(piece) - len(piece.lstrip())
        pieces.append((at + lead, piece.strip()))
        at = match.end() if match else end
    return pieces


def is_separator(cells: Sequence[Cell]) -> bool:
    """|---|:---:| lines of a Markdown table, ===== rules."""
    return all(SEPARATOR_CELL.fullmatch(cell.text) for cell in cells)


YEAR_CELL = re.compile(r"(?:19|20)\d{2}(?:年度?|年末|年底)?")


def is_numeric(text: str) -> bool:
    """A cell holding a figure; a year (2023年, as a column header) is not one."""
    return bool(NUMERIC_CELL.fullmatch(text)) and not YEAR_CELL.fullmatch(text)


def table_runs(lines: Sequence[Line | None]) -> list[tuple[int, int, list[TableRow]]]:
    """(first line index, last line index + 1, rows) of each table among the lines.

    A table is two or more consecutive rows with the same number of cells (the header may lack the label
    column's title) whose first row is a header of words and whose later rows hold figures.
    """
    runs = []
    index = 0
    while index < len(lines):
        run = _run_from(lines, index)
        if run is None:
            index += 1
            continue
        end, rows = run
        runs.append((index, end, rows))
        index = end
    return runs


def _run_from(lines: Sequence[Line | None], first: int) -> tuple[int, list[TableRow]] | None:
    line = lines[first]
    header = split_cells(line.text, line.start) if line is not None else None
    if header is None or is_separator(header) or sum(map(is_numeric, (c.text for c in header))) > len(header) // 2:
        return None
    rows = [TableRow(tuple(header), line.start, line.end)]
    index = first + 1
    while index < len(lines) and lines[index] is not None:
        line = lines[index]
        cells = split_cells(line.text, line.start)
        if cells is None or len(cells) not in (len(header), len(header) + 1):
            break
        if not is_separator(cells):
            rows.append(TableRow(tuple(cells), line.start, line.end))
        index += 1
    data = rows[1:]
    if len(rows) < MIN_ROWS or not any(is_numeric(c.text) for row in data for c in row.cells[1:]):
        return None
    return index, rows


def unit_note(text: str) -> str:
    """The unit a caption or a header states (单位：亿元, (万人)), '' if none."""
    match = UNIT_NOTE.search(text) or BRACKETED_UNIT.search(text)
    return match["unit"] if match else ""


def without_unit(text: str) -> str:
    """A header without its bracketed unit: 地区生产总值(亿元) -> 地区生产总值."""
    return BRACKETED_UNIT.sub("", text).strip()


# --- reading a table's cells -----------------------------------------------------------------------

GROWTH_HEADER = re.compile(r"^(?:增长|增速|同比|比上年|较上年|增幅|比增)")


@dataclass(frozen=True)
class TableLayout:
    """A table's header texts per column, aligned with its data rows (the header may lack the first one)."""

    headers: tuple[str, ...]
    rows: tuple[TableRow, ...]
    unit_column: int | None

    @classmethod
    def of(cls, rows: Sequence[TableRow]) -> TableLayout:
        header = rows[0].texts()
        width = max(len(row.cells) for row in rows[1:])
        if len(header) == width - 1:
            header = ["", *header]
        unit_column = next((j for j, text in enumerate(header) if text in ("单位", "计量单位")), None)
        return cls(tuple(header), tuple(row for row in rows[1:] if len(row.cells) == width), unit_column)

    def subject(self, column: int) -> str:
        """What a column measures, in words: its header, with the column before it for a growth column
        (地区生产总值 | 增长(%) -> 地区生产总值增长)."""
        header = without_unit(self.headers[column])
        if GROWTH_HEADER.match(header) and column > 1:
            return without_unit(self.headers[column - 1]) + header
        return header
