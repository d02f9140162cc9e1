"""Analysts' corrections: a declared CSV file, checked line by line and applied on every run and refresh.

Extraction is sometimes wrong; an analyst fixes a fact by its `fact_id` (stable across runs) in
`data/reference/corrections.csv`: set its value, unit, qualifier, region, indicator or period, or reject it,
with a reason and their name. A corrected fact gets status `corrected` (a rejected one `rejected`) and the
analyst's note in `review_reason`, so the dashboard and the workbook show both. A line that cannot be used
is reported with its line number and skipped; the other lines still apply.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from etl.extract.reference import ReferenceData
from etl.extract.sources import Rejection
from etl.paths import REFERENCE_DIR
from etl.vocabulary import PERIOD_KINDS, QUALIFIERS

CORRECTIONS_PATH = REFERENCE_DIR / "corrections.csv"
FIELDS = ("value", "value_high", "unit", "qualifier", "region_code", "indicator_code", "year", "period_kind",
          "period_start", "period_end")
COLUMNS = ("fact_id", "action", *FIELDS, "reason", "analyst", "corrected_on")
REQUIRED_COLUMNS = ("fact_id", "reason", "analyst")
ACTIONS = ("correct", "reject")
CLEAR = "none"  # written in value_high or period_start to empty the field
FACT_ID = re.compile(r"^[0-9a-f]{8,32}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Correction:
    """One usable line of the corrections file."""

    line: int
    fact_id: str
    action: str
    changes: tuple[tuple[str, object], ...]
    reason: str
    analyst: str
    corrected_on: str = ""

    def signature(self) -> str:
        """Everything that shapes the corrected fact; a change here means the fact must be rebuilt."""
        return json.dumps([self.action, list(self.changes), self.reason, self.analyst], ensure_ascii=False)

    def describe_changes(self) -> str:
        return "; ".join(f"{k}={'' if v is None else v}" for k, v in self.changes) if self.changes else ""

    def note(self) -> str:
        verb = "rejected" if self.action == "reject" else "corrected"
        return f"{verb} by {self.analyst}: {self.reason}"


def where(name: str, line: int) -> str:
    return f"{name} line {line}"


def _parse_number(raw: str, field: str) -> float:
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        raise ValueError(f"{field} {raw!r} is not a number (write it in the base unit, e.g. 1290700)") from None
    if value < 0 or value != value:
        raise ValueError(f"{field} {raw!r} must be zero or more")
    return value


def _parse_date(raw: str, field: str) -> str:
    if not ISO_DATE.match(raw):
        raise ValueError(f"{field} {raw!r} is not a date YYYY-MM-DD")
    try:
        date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{field} {raw!r} is not a real date") from None
    return raw


def parse_change(field: str, raw: str, reference: ReferenceData) -> object:
    """The typed value a field is set to; raises ValueError saying what is wrong with it."""
    if field == "value":
        return _parse_number(raw, field)
    if field == "value_high":
        return None if raw.lower() == CLEAR else _parse_number(raw, field)
    if field == "unit" and raw not in reference.units:
        raise ValueError(f"unit {raw!r} is not declared in units.yaml")
    if field == "qualifier" and raw not in QUALIFIERS:
        raise ValueError(f"qualifier {raw!r} is not one of {', '.join(QUALIFIERS)}")
    if field == "region_code" and raw not in reference.regions.regions:
        raise ValueError(f"region_code {raw!r} is not in regions.csv")
    if field == "indicator_code" and raw not in reference.taxonomy.indicators:
        raise ValueError(f"indicator_code {raw!r} is not in indicators.yaml")
    if field == "year":
        if not raw.isdigit() or not 1949 <= int(raw) <= 2100:
            raise ValueError(f"year {raw!r} is not a year between 1949 and 2100")
        return int(raw)
    if field == "period_kind" and raw not in PERIOD_KINDS:
        raise ValueError(f"period_kind {raw!r} is not one of {', '.join(PERIOD_KINDS)}")
    if field == "period_start":
        return None if raw.lower() == CLEAR else _parse_date(raw, field)
    if field == "period_end":
        return _parse_date(raw, field)
    return raw


def parse_line(record: dict[str, str], line: int, reference: ReferenceData) -> Correction:
    """A Correction from one CSV record; raises ValueError with every problem the line has."""
    problems = []
    fact_id = record.get("fact_id", "").strip().lower()
    if not FACT_ID.match(fact_id):
        problems.append(f"fact_id {fact_id!r} is not a fact id (hexadecimal, from facts.csv)")
    changes = []
    for field in FIELDS:
        raw = record.get(field, "").strip()
        if raw:
            try:
                changes.append((field, parse_change(field, raw, reference)))
            except ValueError as exc:
                problems.append(str(exc))
    action = record.get("action", "").strip().lower() or "correct"
    if action not in ACTIONS:
        problems.append(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    elif action == "correct" and not changes and not problems:
        problems.append("the line sets no field; fill in a new value or write action 'reject'")
    elif action == "reject" and changes:
        problems.append("a rejection sets no fields; leave them empty or write action 'correct'")
    for column in ("reason", "analyst"):
        if not record.get(column, "").strip():
            problems.append(f"{column} is empty; every correction says why and who")
    corrected_on = record.get("corrected_on", "").strip()
    if corrected_on:
        try:
            _parse_date(corrected_on, "corrected_on")
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return Correction(line, fact_id, action, tuple(changes), record["reason"].strip(), record["analyst"].strip(),
                      corrected_on)


def parse_corrections(text: str, reference: ReferenceData, name: str = "corrections.csv"
                      ) -> tuple[list[Correction], list[Rejection]]:
    """Usable corrections and, for every other line, a rejection naming the line and the problem."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        return [], []
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [Rejection(where(name, 1), "corrections_header",
                              f"{name} lacks column(s) {missing}; no correction was applied")]
    rejections = []
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        rejections.append(Rejection(where(name, 1), "correction_invalid",
                                    f"{name} has unknown column(s) {unknown}; they are ignored "
                                    f"(known: {', '.join(COLUMNS)})"))
    corrections: list[Correction] = []
    seen: dict[str, int] = {}
    line = reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            rejections.append(Rejection(where(name, start), "correction_invalid",
                                        f"expected {len(header)} fields, found {len(values)}"))
            continue
        try:
            correction = parse_line(dict(zip(header, values, strict=True)), start, reference)
        except ValueError as exc:
            rejections.append(Rejection(where(name, start), "correction_invalid", str(exc)))
            continue
        if correction.fact_id in seen:
            rejections.append(Rejection(where(name, start), "correction_invalid",
                                        f"fact {correction.fact_id} is already corrected on line "
                                        f"{seen[correction.fact_id]}; this line is ignored"))
            continue
        seen[correction.fact_id] = start
        corrections.append(correction)
    return corrections, rejections


def load_corrections(path: Path, reference: ReferenceData) -> tuple[list[Correction], list[Rejection]]:
    """The corrections file's usable lines and its problems; a missing file means no corrections."""
    if not path.exists():
        return [], []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Rejection(path.name, "corrections_unreadable",
                              f"{path.name} cannot be read as UTF-8 ({exc}); no correction was applied")]
    return parse_corrections(text, reference, path.name)


def _corrected_row(row: dict, correction: Correction, reference: ReferenceData) -> dict:
    """The fact row after the correction, with names and family following the codes."""
    row = dict(row)
    if correction.action == "reject":
        row.update(status="rejected", review_reason=correction.note())
        return row
    for field, value in correction.changes:
        row[field] = value
        if field == "region_code":
            region = reference.regions.get(value)
            row.update(region_name=region.name_zh, region_level=region.level, region_source="analyst")
        elif field == "indicator_code":
            indicator = reference.taxonomy.indicators[value]
            row.update(indicator_name_zh=indicator.name_zh, indicator_name_en=indicator.name_en,
                       family=indicator.family)
    high = row.get("value_high")
    if high is not None and high == high and high < row["value"]:
        raise ValueError(f"value_high {high:g} would be below value {row['value']:g}")
    row.update(status="corrected", review_reason=correction.note())
    return row


def apply_corrections(facts: pd.DataFrame, corrections: Iterable[Correction], reference: ReferenceData
                      ) -> tuple[pd.DataFrame, list[Correction], dict[int, str]]:
    """Facts with every correction whose fact is among them applied; the applied ones; by line, why the
    others among them could not be applied (the fact is then left as extracted)."""
    by_id = {c.fact_id: c for c in corrections}
    hits = facts.index[facts["fact_id"].isin(by_id)] if len(facts) else []
    if len(hits) == 0:
        return facts, [], {}
    out = facts.astype({"value_high": object, "period_start": object})
    applied, invalid = [], {}
    for index in hits:
        correction = by_id[out.at[index, "fact_id"]]
        try:
            row = _corrected_row(out.loc[index].to_dict(), correction, reference)
        except ValueError as exc:
            invalid[correction.line] = f"fact {correction.fact_id}: {exc}; the fact is left as extracted"
            continue
        for column, value in row.items():
            out.at[index, column] = value
        applied.append(correction)
    return out.astype({"value_high": float}), applied, invalid


def corrections_frame(corrections: Iterable[Correction], outcomes: dict[int, tuple[str, str]]) -> pd.DataFrame:
    """The `corrections` table: each usable line with what became of it (applied, orphan, invalid)."""
    rows = [{"line": c.line, "fact_id": c.fact_id, "action": c.action, "changes": c.describe_changes(),
             "reason": c.reason, "analyst": c.analyst, "corrected_on": c.corrected_on,
             "outcome": outcomes.get(c.line, ("applied", ""))[0], "detail": outcomes.get(c.line, ("", ""))[1]}
            for c in corrections]
    return pd.DataFrame(rows, columns=["line", "fact_id", "action", "changes", "reason", "analyst", "corrected_on",
                                       "outcome", "detail"])
