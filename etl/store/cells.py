"""Cells a spreadsheet would run. A text that begins with = + - @, a tab or a carriage return is a formula (or a
DDE payload) to Excel and LibreOffice when a CSV file is opened: an article titled `=HYPERLINK("http://…")`
would become a live link. Every CSV file the project writes passes its text through `neutralise_texts`,
which puts an apostrophe before such a text (OWASP's advice), so it opens as the text it is. Numbers stay
numbers, and so does a text that is only a signed number (`-3.5`, `+12%`), which no spreadsheet runs.
The workbook marks the same texts with Excel's quote prefix instead (etl.workbook.styles)."""

from __future__ import annotations

import re

import pandas as pd

from etl.vocabulary import FORMULA_CHARACTERS, FORMULA_QUOTE

_TRIGGERS = frozenset(FORMULA_CHARACTERS)
_SIGNED_NUMBER = re.compile(r"[+-]?(?=[\d.])\d*(?:[.,]\d+)*%?")


def starts_formula(text: str) -> bool:
    """Checked on the first character only: the workbook asks it of every distinct text."""
    return text[:1] in _TRIGGERS


def neutralise(text: str) -> str:
    """The text as a spreadsheet must show it: with a leading apostrophe when it would be run."""
    if starts_formula(text) and not _SIGNED_NUMBER.fullmatch(text):
        return FORMULA_QUOTE + text
    return text


def neutralise_texts(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell that a spreadsheet would run neutralised; numeric columns untouched.
    The frame is copied only when a cell changes (almost never), so the common case costs one look at the
    first character of each text."""
    changed: dict[str, pd.Series] = {}
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):  # its few categories tell whether any cell would run
            if not any(type(c) is str and c[:1] in _TRIGGERS for c in series.cat.categories):
                continue
            series = series.astype(object)
        elif series.dtype != object and not pd.api.types.is_string_dtype(series.dtype):
            continue
        values = series.to_numpy(dtype=object)
        hits = [i for i, value in enumerate(values) if type(value) is str and value[:1] in _TRIGGERS]
        if hits:
            values = values.copy()
            for i in hits:
                values[i] = neutralise(values[i])
            changed[column] = pd.Series(values, index=series.index, dtype=series.dtype)
    return frame.assign(**changed) if changed else frame
