"""The manifest (data/raw/manifest.csv): what analysts say about their articles, one row per file.

Only `file` is required, and an article needs no row at all: what a row leaves blank comes from the file
itself or is inferred. A row overrides the title, publication date, outlet and URL the file carries. Other
names for the same columns are understood (`id` for `file`, `source_url` for `url`, …); columns the
manifest does not know are ignored, so a manifest written by another tool still loads.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from etl.extract.documents import Rejection
from etl.vocabulary import FORMULA_CHARACTERS, FORMULA_QUOTE

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("file", "title", "outlet", "published", "published_note", "primary_region", "url")
REQUIRED_MANIFEST_COLUMNS = ("file",)
# Other names the same columns go by in manifests people bring (the development set's: id, source_url, notes).
MANIFEST_ALIASES = {"id": "file", "notes": "published_note", "date": "published", "source_url": "url", "link": "url"}
ESTIMATED_MARK = "~"  # ~2021-12-01: a publication date the annotator estimated
FORMULA_START = tuple(FORMULA_CHARACTERS)  # as str.startswith takes them; '=x is written for =x and read back as =x
DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s].*)?$")
COMPACT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
YEAR = re.compile(r"^(\d{4})\s*年?$")
DATE_FORMS = "YYYY-MM-DD, YYYY-MM or YYYY (also 2024/10/26, 2024.10.26, 20241026, 2024年10月26日)"


@dataclass(frozen=True)
class ManifestRow:
    file: str
    title: str = ""
    outlet: str = ""
    published: date | None = None
    published_precision: str = ""
    published_note: str = ""
    primary_region: str = ""
    url: str = ""


def parse_published(raw: str) -> tuple[date, str]:
    """'2024-10' -> (2024-10-01, 'month'); '2024-10-26' or '2024年10月26日' -> (…, 'day'); '2024' -> 'year'."""
    text = raw.strip()
    for pattern, precision in ((DAY, "day"), (COMPACT_DAY, "day"), (MONTH, "month"), (YEAR, "year")):
        match = pattern.match(text)
        if match:
            year, month, day = (*match.groups(), None, None)[:3]
            try:
                return date(int(year), int(month or 1), int(day or 1)), precision
            except ValueError as exc:
                raise ValueError(f"publication date {raw!r} is not a calendar date ({exc})") from exc
    raise ValueError(f"publication date {raw!r} is not YYYY, YYYY-MM or YYYY-MM-DD; write {DATE_FORMS}")


def unguard(value: str) -> str:
    """A value as the analyst meant it: '=x (guarded against spreadsheet formulas) reads as =x."""
    value = value.strip()
    return value[1:] if value.startswith(FORMULA_QUOTE) and value[1:2] in FORMULA_START else value


def guard(value: str) -> str:
    """A value safe in a spreadsheet cell: one that would start a formula gets a leading quote."""
    return FORMULA_QUOTE + value if value.startswith(FORMULA_START) else value


def canonical_header(header: list[str]) -> list[str]:
    """Column names with other spellings mapped to ours, unless the manifest also has ours."""
    header = [h.strip().lstrip("\ufeff") for h in header]
    return [MANIFEST_ALIASES.get(h, h) if MANIFEST_ALIASES.get(h) not in header else h for h in header]


def parse_manifest(text: str, manifest_name: str = MANIFEST_NAME) -> tuple[dict[str, ManifestRow], list[Rejection]]:
    """Rows by the file name they give (an id without extension stays as given; `resolve_manifest` finds its
    file); malformed rows become problems naming the manifest line."""
    rows: dict[str, ManifestRow] = {}
    problems: list[Rejection] = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return rows, [Rejection(manifest_name, "manifest_empty", "the manifest has no header row")]
    header = canonical_header(header)
    missing = [c for c in REQUIRED_MANIFEST_COLUMNS if c not in header]
    if missing:
        return rows, [Rejection(manifest_name, "manifest_header", f"the manifest lacks column(s) {missing}")]
    for line_no, values in enumerate(reader, start=2):
        where = f"{manifest_name} line {line_no}"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(Rejection(where, "manifest_row_malformed",
                                            f"expected {len(header)} fields, found {len(values)}: {values!r}"))
            continue
        record = {k: unguard(v) for k, v in zip(header, values, strict=True)}
        row, problem = _row(record, where)
        if problem is not None:
            problems.append(problem)
        elif row.file in rows:
            problems.append(Rejection(where, "manifest_row_duplicate",
                                            f"{row.file} is listed twice; the first row is kept"))
        else:
            rows[row.file] = row
    return rows, problems


def _row(record: dict[str, str], where: str) -> tuple[ManifestRow, Rejection | None]:
    name = record.get("file", "")
    if not name or "/" in name or "\\" in name:
        return ManifestRow(name), Rejection(where, "manifest_row_malformed", f"file name {name!r} is empty or a path")
    published, precision = None, ""
    note = record.get("published_note", "")
    if record.get("published", "").startswith(ESTIMATED_MARK):
        record["published"] = record["published"].lstrip(ESTIMATED_MARK)
        note = note or "estimated date (marked ~ in the manifest)"
    if record.get("published"):
        try:
            published, precision = parse_published(record["published"])
        except ValueError as exc:
            return ManifestRow(name), Rejection(where, "manifest_row_malformed", f"{name}: {exc}")
    return ManifestRow(
        file=name, title=record.get("title", ""), outlet=record.get("outlet", ""), published=published,
        published_precision=precision, published_note=note, primary_region=record.get("primary_region", ""),
        url=record.get("url", ""),
    ), None


def resolve_manifest(rows: dict[str, ManifestRow], names: list[str], folder: str
                     ) -> tuple[dict[str, ManifestRow], list[Rejection]]:
    """The rows by the name of the file each describes: a name with an extension is that file, an id
    without one is the file of that name with any extension. Rows without a file are problems."""
    by_stem: dict[str, list[str]] = {}
    for name in names:
        by_stem.setdefault(PurePath(name).stem, []).append(name)
    present, resolved, problems = set(names), {}, []
    for given, row in rows.items():
        where = f"{MANIFEST_NAME}: {given}"
        if PurePath(given).suffix:
            matches = [given] if given in present else []
        else:
            matches = sorted(by_stem.get(given, []))
        if not matches:
            problems.append(Rejection(where, "manifest_file_missing",
                                            f"the manifest lists {given} but there is no such file in {folder}"))
        elif len(matches) > 1:
            problems.append(Rejection(where, "manifest_row_ambiguous",
                                            f"the manifest names {given}, which could be any of {', '.join(matches)}; "
                                            "give the file name with its extension"))
        elif matches[0] in resolved:
            problems.append(Rejection(where, "manifest_row_duplicate",
                                            f"{matches[0]} is listed twice; the first row is kept"))
        else:
            resolved[matches[0]] = row
    return resolved, problems


def with_row(text: str | None, values: dict[str, str]) -> str:
    """The manifest's text with a row for `values['file']`: a new row appended (the rest kept as written),
    or the blanks of the file's row filled in (what an analyst wrote is kept). Columns it lacks are added
    at the end; values are guarded so a spreadsheet does not run them as formulas."""
    records = list(csv.reader(io.StringIO(text))) if text and text.strip() else []
    header = records[0] if records else list(MANIFEST_COLUMNS)
    names = canonical_header(header)
    added = [c for c in values if c not in names]
    row = _row_of(records[1:], names.index("file") if "file" in names else -1, values["file"])
    if text and text.strip() and not added and row is None:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow([guard(values.get(c, "")) for c in names])
        return text + ("" if text.endswith("\n") else "\n") + line.getvalue()
    width = len(header)
    header, names = header + added, names + added
    body = [r + [""] * len(added) if len(r) == width else r for r in records[1:]]
    if row is None:
        body.append([guard(values.get(c, "")) for c in names])
    else:
        record = body[row]
        for column, value in values.items():
            index = names.index(column)
            if index < len(record) and not record[index].strip():
                record[index] = guard(value)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    return out.getvalue()


def _row_of(records: list[list[str]], position: int, target: str) -> int | None:
    """Index of the record that describes file `target` (by its name, or its id without extension)."""
    for index, record in enumerate(records):
        given = unguard(record[position]) if 0 <= position < len(record) else ""
        if given == target or (given and not PurePath(given).suffix and given == PurePath(target).stem):
            return index
    return None
