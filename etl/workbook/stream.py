"""Large grids written as sheet XML text and spliced into the workbook openpyxl saved.

openpyxl serialises every cell through an XML element writer, too slow for a grid of 100,000 facts. The
facts sheet is a plain grid whose cell formats are known before the first row, so its rows are formatted
here as text (inline strings, pre-registered format indices), column by column, and spliced into the sheet
that openpyxl wrote with its header rows only. The per-capita and cross-check sheets go the same way;
openpyxl could not write the per-capita sheet's formulas with their cached results anyway (it writes a
formula with an empty value, which pandas and most viewers read as blank). Everything else in the workbook
(styles, header rows, filters, print set-up, charts) is plain openpyxl.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import BinaryIO
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from etl.workbook.styles import needs_guard

ROWS_PER_CHUNK = 2000
# zlib level 3, not the default 6: the big sheets deflate much faster for a slightly larger file.
COMPRESSLEVEL = 3
NS = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}


@dataclass(frozen=True)
class StreamColumn:
    """One column's values (None leaves the cell empty) and the format index of each cell.

    `styles` is one index for the whole column or one per row. A text that Excel would take for a
    formula gets `guarded_style` (the same format with Excel's quote prefix) and is always a string.
    A numeric column may carry `formulas` (without the '='), one per row or None: the cell is then that
    formula with its value as the cached result, so every reader shows the number and Excel the arithmetic.
    Formulas come from the export's own code, never from data.
    """

    values: Sequence[object]
    styles: Sequence[int] | int
    numeric: bool = False
    guarded_style: int | None = None
    formulas: Sequence[str | None] | None = None


@dataclass
class StreamedSheet:
    """Rows to append below the header rows openpyxl wrote in the sheet called `title`."""

    title: str
    first_row: int
    columns: list[StreamColumn] = field(default_factory=list)
    row_heights: Sequence[float] | None = None  # points; rows with wrapped text are not grown by every reader

    @property
    def n_rows(self) -> int:
        return len(self.columns[0].values) if self.columns else 0


def _styles(column: StreamColumn, start: int, stop: int) -> Sequence[int]:
    return [column.styles] * (stop - start) if isinstance(column.styles, int) else column.styles[start:stop]


class _TextTails(dict):
    """Text → its `<c>` element from the quote that closes the cell reference on, built once per text.

    Most texts repeat (regions, indicators, units, quotes of one article), so escaping and the guard check
    run once per text and a cell costs a dictionary lookup. A column with one style per row keys on
    (text, style) instead.
    """

    def __init__(self, column: StreamColumn) -> None:
        super().__init__()
        self.style = column.styles if isinstance(column.styles, int) else None
        self.guarded = column.guarded_style if column.guarded_style is not None else column.styles

    def __missing__(self, key: object) -> str:
        text, s = (key, self.style) if self.style is not None else key
        if not text:
            tail = f'" s="{s}"/>'
        else:
            clean = ILLEGAL_CHARACTERS_RE.sub("", str(text))
            space = ' xml:space="preserve"' if clean != clean.strip() else ""
            style = self.guarded if needs_guard(clean) else s
            tail = f'" s="{style}" t="inlineStr"><is><t{space}>{escape(clean)}</t></is></c>'
        self[key] = tail
        return tail


def _text_tails(column: StreamColumn, start: int, stop: int, tails: _TextTails) -> list[str]:
    """Texts' cells after their reference (None or '' an empty cell with its borders)."""
    values = column.values[start:stop]
    if tails.style is not None:
        return list(map(tails.__getitem__, values))
    return list(map(tails.__getitem__, zip(values, _styles(column, start, stop), strict=True)))


def _number_tails(column: StreamColumn, start: int, stop: int) -> list[str]:
    """Numbers' cells after their reference; with `formulas` a cell is the formula with its value cached in
    `<v>`. No value means an empty cell, formula or not."""
    values, styles = column.values[start:stop], _styles(column, start, stop)
    if column.formulas is None:
        return [f'" s="{s}"/>' if value is None or value != value  # NaN is unequal to itself
                else f'" s="{s}"><v>{value!r}</v></c>'
                for value, s in zip(values, styles, strict=True)]
    out = []
    for value, s, formula in zip(values, styles, column.formulas[start:stop], strict=True):
        if value is None or value != value:
            out.append(f'" s="{s}"/>')
        elif formula:
            out.append(f'" s="{s}"><f>{escape(formula)}</f><v>{value!r}</v></c>')
        else:
            out.append(f'" s="{s}"><v>{value!r}</v></c>')
    return out


def rows_xml(sheet: StreamedSheet) -> Iterator[str]:
    """The `<row>` elements, built column by column a few thousand rows at a time to bound memory.

    A cell is three strings joined at the end, `<c r="B`, the row number and its tail, so no string is
    made per cell: the tails of repeated texts are shared and the join copies everything once.
    """
    openers = [f'<c r="{get_column_letter(i)}' for i in range(1, len(sheet.columns) + 1)]
    tails = [_TextTails(column) for column in sheet.columns]
    for start in range(0, sheet.n_rows, ROWS_PER_CHUNK):
        stop = min(start + ROWS_PER_CHUNK, sheet.n_rows)
        rows = [str(r) for r in range(sheet.first_row + start, sheet.first_row + stop)]
        heights = sheet.row_heights[start:stop] if sheet.row_heights is not None else [None] * len(rows)
        parts = [[f'<row r="{r}"{_height(h)}>' for r, h in zip(rows, heights, strict=True)]]
        for opener, column, cache in zip(openers, sheet.columns, tails, strict=True):
            parts += [[opener] * len(rows), rows,
                      _number_tails(column, start, stop) if column.numeric else _text_tails(column, start, stop, cache)]
        parts.append(["</row>"] * len(rows))
        yield "".join(chain.from_iterable(zip(*parts, strict=True)))


def _height(points: float | None) -> str:
    return f' ht="{points:g}" customHeight="1"' if points else ""


def _sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title → its part name inside the package, read from the workbook and its relationships."""
    workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.findall("rel:Relationship", NS)}
    parts = {}
    for sheet in workbook.iterfind("main:sheets/main:sheet", NS):
        target = targets[sheet.get(f"{{{NS['r']}}}id")]
        part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        parts[sheet.get("name")] = part
    return parts


def _splice(xml: bytes, sheet: StreamedSheet, last_column: str) -> tuple[bytes, bytes]:
    """The sheet XML cut where the streamed rows go, with its dimension widened to cover them."""
    text = xml.decode("utf-8")
    last_row = sheet.first_row + sheet.n_rows - 1
    if sheet.n_rows:
        start, end = text.find("<dimension ref=\""), -1
        if start >= 0:
            end = text.find('"', start + len("<dimension ref=\""))
            text = f'{text[:start]}<dimension ref="A1:{last_column}{last_row}{text[end:]}'
    if "<sheetData/>" in text:
        text = text.replace("<sheetData/>", "<sheetData></sheetData>", 1)
    cut = text.index("</sheetData>")
    return text[:cut].encode("utf-8"), text[cut:].encode("utf-8")


def save(workbook: Workbook, streamed: list[StreamedSheet], out: BinaryIO) -> None:
    """Save `workbook` to `out` with each streamed sheet's rows added below its header rows."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(
            out, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL) as target:
        parts = _sheet_parts(source)
        by_part = {parts[sheet.title]: sheet for sheet in streamed}
        for info in source.infolist():
            data = source.read(info.filename)
            sheet = by_part.get(info.filename)
            if sheet is None:
                target.writestr(info, data)
                continue
            head, tail = _splice(data, sheet, get_column_letter(max(len(sheet.columns), 1)))
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            # `open` deflates at the entry's own level, not the archive's: without this it was zlib's 6
            entry._compresslevel = COMPRESSLEVEL  # public as `compress_level` only from Python 3.13
            with target.open(entry, "w", force_zip64=True) as fh:
                fh.write(head)
                for chunk in rows_xml(sheet):
                    fh.write(chunk.encode("utf-8"))
                fh.write(tail)
