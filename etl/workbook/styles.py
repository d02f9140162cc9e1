"""Named styles and number formats for the officials' workbook.

Every cell gets one of a small set of `NamedStyle`s, registered once per workbook and then referred to by
name, so 100,000 rows cost no per-cell style objects. Number styles are made on first use from three
things: how the unit is shown (integer, decimal, percent, rank), the qualifier's mark (≥, ≤, ≈) and whether
the figure still awaits review; the mark lives in the number format, so the cell stays numeric.
"""

from __future__ import annotations

from copy import copy
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet.worksheet import Worksheet

from etl.store.cells import starts_formula

FONT_NAME = "等线"  # DengXian: the default Chinese UI font of Excel 2016+ and WPS
BODY_SIZE = 10.5  # 五号, the usual size of Chinese office tables
SMALLEST_SIZE = 9  # nothing is printed smaller (the pages print at 100 %)
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
BLOCK_FILL = PatternFill("solid", fgColor="F2F5F9")
REVIEW_FILL = PatternFill("solid", fgColor="FFF2CC")
YES_FILL = PatternFill("solid", fgColor="E2EFDA")  # 核对: consistent with the official figure
NO_FILL = PatternFill("solid", fgColor="FCE4D6")  # 核对: not consistent
GRID = Side(style="thin", color="BFBFBF")
BOX = Border(left=GRID, right=GRID, top=GRID, bottom=GRID)
RULE = Border(bottom=Side(style="medium", color="1F3864"))

# How a unit's values are shown; percent values are stored as fractions so Excel treats them as percent.
UNIT_KIND = {"percent": "pct", "rank": "rank"}
PERCENT_UNITS = frozenset({"percent"})
KIND_FORMATS = {"int": "#,##0", "dec": "#,##0.0#", "pct": "0.0#%", "rank": '"第"0"位"', "rate": "#,##0.00"}
QUALIFIER_MARKS = {"over": "≥", "under": "≤", "approx": "≈", "range": "≥"}
DATE_FORMATS = {"day": "yyyy-mm-dd", "month": 'yyyy"年"m"月"', "year": 'yyyy"年"'}

# Each workbook's named styles as the format arrays openpyxl gives a cell that takes them (see apply_style)
_STYLE_ARRAYS: WeakKeyDictionary[Workbook, dict[str, StyleArray]] = WeakKeyDictionary()



def _font(**kw) -> Font:
    return Font(name=FONT_NAME, size=kw.pop("size", BODY_SIZE), **kw)


def _base_styles() -> list[NamedStyle]:
    top_left = Alignment(vertical="top", horizontal="left")
    wrap = Alignment(vertical="top", horizontal="left", wrap_text=True)
    centre = Alignment(vertical="center", horizontal="center", wrap_text=True)
    styles = [
        NamedStyle("zt_title", font=_font(size=18, bold=True, color="1F3864")),
        NamedStyle("zt_subtitle", font=_font(size=11, color="595959")),
        NamedStyle("zt_section", font=_font(size=12, bold=True, color="1F3864"), border=RULE),
        NamedStyle("zt_label", font=_font(bold=True), alignment=top_left),
        NamedStyle("zt_para", font=_font(), alignment=wrap),
        NamedStyle("zt_note", font=_font(size=9, color="595959"), alignment=wrap),
        NamedStyle("zt_head", font=_font(bold=True), fill=HEADER_FILL, border=BOX, alignment=centre),
        NamedStyle("zt_head_en", font=_font(size=9, italic=True, color="595959"), fill=HEADER_FILL,
                   border=BOX, alignment=centre),
        NamedStyle("zt_block", font=_font(size=12, bold=True, color="1F3864"), fill=BLOCK_FILL,
                   alignment=Alignment(vertical="center")),
        NamedStyle("zt_text", font=_font(), border=BOX, alignment=top_left),
        NamedStyle("zt_wrap", font=_font(), border=BOX, alignment=wrap),
        NamedStyle("zt_small", font=_font(size=9, color="404040"), border=BOX, alignment=wrap),
        NamedStyle("zt_year", font=_font(), border=BOX, number_format="0",
                   alignment=Alignment(vertical="top", horizontal="center")),
        NamedStyle("zt_count", font=_font(), border=BOX, number_format="#,##0", alignment=top_left),
        NamedStyle("zt_count_plain", font=_font(), number_format="#,##0", alignment=top_left),
        # per-capita and cross-check sheets: the scale factor, a signed percent, yes/no, a flagged word or year
        NamedStyle("zt_scale", font=_font(), border=BOX, number_format='"×"#,##0',
                   alignment=Alignment(vertical="top")),
        NamedStyle("zt_pct_signed", font=_font(), border=BOX, number_format="+0.0%;-0.0%;0.0%",
                   alignment=Alignment(vertical="top")),
        NamedStyle("zt_yes", font=_font(bold=True, color="375623"), fill=YES_FILL, border=BOX,
                   alignment=Alignment(vertical="top", horizontal="center")),
        NamedStyle("zt_no", font=_font(bold=True, color="C00000"), fill=NO_FILL, border=BOX,
                   alignment=Alignment(vertical="top", horizontal="center")),
        NamedStyle("zt_flag", font=_font(color="9C5700"), border=BOX, alignment=top_left),
        NamedStyle("zt_year_flag", font=_font(bold=True, color="9C5700"), border=BOX, number_format="0",
                   alignment=Alignment(vertical="top", horizontal="center")),
    ]
    for depth in range(4):
        styles.append(NamedStyle(f"zt_region{depth}", font=_font(bold=depth <= 1), border=BOX,
                                 alignment=Alignment(vertical="top", indent=depth)))
    for precision, number_format in DATE_FORMATS.items():
        styles.append(NamedStyle(f"zt_date_{precision}", font=_font(), border=BOX,
                                 number_format=number_format, alignment=top_left))
    return styles


def register_styles(workbook: Workbook) -> None:
    """Add the fixed styles once; number styles follow lazily through `number_style`."""
    for style in _base_styles():
        workbook.add_named_style(style)


def number_format(kind: str, qualifier: str = "exact") -> str:
    """The format of a value of this kind, its qualifier's mark written as a literal prefix."""
    mark = QUALIFIER_MARKS.get(qualifier, "")
    body = KIND_FORMATS[kind]
    return f'"{mark}"{body}' if mark else body


def number_style(workbook: Workbook, kind: str, qualifier: str = "exact", review: bool = False) -> str:
    """Name of the style for this combination, created on first use (at most 5 × 4 × 2 of them)."""
    mark = {"over": "ge", "range": "ge", "under": "le", "approx": "ap"}.get(qualifier, "")
    name = f"zt_{kind}{'_' + mark if mark else ''}{'_r' if review else ''}"
    if name not in workbook.named_styles:
        workbook.add_named_style(NamedStyle(
            name, font=_font(), border=BOX, number_format=number_format(kind, qualifier),
            fill=REVIEW_FILL if review else PatternFill(), alignment=Alignment(vertical="top")))
    return name


def value_kind(unit: str, value: float) -> str:
    """int, dec, pct or rank: how one value of `unit` is shown (rates are chosen by the caller)."""
    kind = UNIT_KIND.get(unit)
    if kind:
        return kind
    return "int" if float(value).is_integer() else "dec"


def display_value(unit: str, value: float) -> float:
    """The number written to the cell: percent as a fraction, everything else as stored."""
    return value / 100 if unit in PERCENT_UNITS else value


needs_guard = starts_formula  # a text Excel would run (etl.store.cells) gets the quote prefix


def apply_style(cell: Cell, style: str) -> None:
    """`cell.style = style`, faster: openpyxl finds a named style by rebuilding the list of names for every
    cell. The format array it gives the first cell is copied to the others, as openpyxl itself copies it."""
    arrays = _STYLE_ARRAYS.setdefault(cell.parent.parent, {})
    array = arrays.get(style)
    if array is None:
        cell.style = style
        arrays[style] = copy(cell._style)
    else:
        cell._style = copy(array)


def put_text(ws: Worksheet, row: int, column: int, text: object, style: str = "zt_text") -> Cell:
    """Write text that Excel shows as typed and never evaluates, even when it starts with '=' or '@'."""
    cell = ws.cell(row=row, column=column)
    value = "" if text is None else str(text)
    cell.value = value
    cell.data_type = "s"
    apply_style(cell, style)
    if needs_guard(value):
        cell.quotePrefix = True
    return cell


def style_id(ws: Worksheet, style: str, quote_prefix: bool = False) -> int:
    """The workbook's cell-format index for a named style, for rows written outside openpyxl."""
    probe = Cell(ws)
    probe.style = style
    if quote_prefix:
        probe.quotePrefix = True
    return probe.style_id
