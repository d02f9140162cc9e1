"""Put a PDF page's lines back into paragraphs.

A PDF knows lines, not paragraphs: a paragraph is broken wherever the column ended, and a line that happens
to end with 。 looks like the end of a paragraph. The extractor reads a paragraph's opening as its time frame,
so the lines of one paragraph are joined again here, by how they sit on the page: a line that fills its
column and is followed, one line-pitch below, by a line that is not indented, goes on in that line. A wider
gap, or a jump to another column, is a blank line, as between the paragraphs of a text file.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

JOIN_PITCH = 1.3  # a gap up to this many line-pitches is the next line of the same block
FULL_LINE_EMS = 1.5  # a line ending less than this many character widths short of its column's edge is full
INDENT_EMS = 0.8  # a line starting this much right of the line above is a paragraph's indented first line
SAME_COLUMN_EMS = 3.0  # lines whose left edges differ by more than this are in different columns


@dataclass(frozen=True)
class PdfLine:
    """One line of a page: its text and the box of its characters (PDF units, y growing upwards)."""

    text: str
    left: float
    right: float
    bottom: float
    top: float


def page_text(lines: list[PdfLine]) -> str:
    """The page's text: the lines of a paragraph joined, lines apart on their own line, gaps as blank lines."""
    if not lines:
        return ""
    em = median(line.top - line.bottom for line in lines) or 1.0
    pitch = _line_pitch(lines, em)
    parts = [lines[0].text]
    for prev, cur in zip(lines, lines[1:], strict=False):
        drop = prev.bottom - cur.bottom
        same_column = abs(cur.left - prev.left) <= SAME_COLUMN_EMS * em and drop > 0
        if not same_column or drop > JOIN_PITCH * pitch:
            parts.append("\n\n")
        elif _column_right(lines, prev) - prev.right <= FULL_LINE_EMS * em and cur.left - prev.left < INDENT_EMS * em:
            parts.append(_joint(prev.text[-1], cur.text[0]))
        else:
            parts.append("\n")
        parts.append(cur.text)
    return "".join(parts)


def _line_pitch(lines: list[PdfLine], em: float) -> float:
    """The usual distance from one line to the next (the most common spacing, not a paragraph gap)."""
    drops = [a.bottom - b.bottom for a, b in zip(lines, lines[1:], strict=False)
             if 0 < a.bottom - b.bottom < 3 * em and abs(a.left - b.left) <= SAME_COLUMN_EMS * em]
    return min(drops, default=1.5 * em) if len(drops) < 3 else sorted(drops)[len(drops) // 4]


def _column_right(lines: list[PdfLine], line: PdfLine) -> float:
    """The right edge of the column a line sits in: the furthest right of the lines overlapping it."""
    return max((other.right for other in lines if other.left < line.right and other.right > line.left),
               default=line.right)


def _joint(before: str, after: str) -> str:
    """What goes between two lines of a paragraph: nothing in Chinese text or inside a number (互认3|88人),
    a space between two Latin words."""
    latin = before.isascii() and before.isalnum() and after.isascii() and after.isalnum()
    return " " if latin and not (before.isdigit() and after.isdigit()) else ""
