"""Read articles and their manifest from disk: the only place the pipeline touches raw files.

Bad input never stops a run. Each problem becomes a `Rejection` naming the file and what is wrong with it,
and the good articles go on. Duplicates are recognised by the hash of their normalised text, so the same
article saved again under another name or in another encoding is counted once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("file", "title", "outlet", "published", "published_note", "primary_region")
REQUIRED_MANIFEST_COLUMNS = ("file",)
# Other names the same columns go by in manifests people bring (the development set's: id, notes).
MANIFEST_ALIASES = {"id": "file", "notes": "published_note", "date": "published"}
ESTIMATED_MARK = "~"  # ~2021-12-01: a publication date the annotator estimated
ARTICLE_SUFFIXES = (".txt",)
ENCODINGS = ("utf-8-sig", "gb18030")
MAX_CONTROL_CHAR_SHARE = 0.01
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_PATTERN = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")
YEAR_IN_TEXT = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
MONTH_IN_TEXT = re.compile(r"(?<![\d年])(1[0-2]|[1-9])\s*月")


@dataclass(frozen=True)
class Rejection:
    """An input set aside, with a reason code and a sentence an operator can act on."""

    file: str
    reason: str
    detail: str


@dataclass(frozen=True)
class ManifestRow:
    file: str
    title: str = ""
    outlet: str = ""
    published: date | None = None
    published_precision: str = ""
    published_note: str = ""
    primary_region: str = ""


@dataclass(frozen=True)
class Article:
    """One decoded article with what the manifest (or the text itself) says about it."""

    article_id: str
    file: str
    sha256: str
    text: str
    encoding: str
    title: str
    outlet: str
    published: date
    published_precision: str
    published_source: str
    published_note: str
    primary_region: str


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def parse_published(raw: str) -> tuple[date, str]:
    """'2024-10' -> (2024-10-01, 'month'); '2024-10-26' -> (…, 'day'); '2024' -> (2024-01-01, 'year')."""
    match = DATE_PATTERN.match(raw.strip())
    if not match:
        raise ValueError(f"publication date {raw!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    precision = "day" if day else "month" if month else "year"
    return date(int(year), int(month or 1), int(day or 1)), precision


def parse_manifest(text: str, manifest_name: str = MANIFEST_NAME) -> tuple[dict[str, ManifestRow], list[Rejection]]:
    """Rows by file name; malformed rows become rejections naming the manifest line."""
    rows: dict[str, ManifestRow] = {}
    rejections: list[Rejection] = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return rows, [Rejection(manifest_name, "manifest_empty", "the manifest has no header row")]
    header = [h.strip().lstrip("\ufeff") for h in header]
    header = [MANIFEST_ALIASES.get(h, h) if MANIFEST_ALIASES.get(h) not in header else h for h in header]
    missing = [c for c in REQUIRED_MANIFEST_COLUMNS if c not in header]
    if missing:
        return rows, [Rejection(manifest_name, "manifest_header", f"the manifest lacks column(s) {missing}")]
    for line_no, values in enumerate(reader, start=2):
        where = f"{manifest_name} line {line_no}"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            rejections.append(Rejection(where, "manifest_row_malformed",
                                        f"expected {len(header)} fields, found {len(values)}: {values!r}"))
            continue
        record = {k: v.strip() for k, v in zip(header, values, strict=True)}
        name = record.get("file", "")
        if name and "." not in name:
            name += ".txt"  # an id names the article; its text is <id>.txt
        if not name or "/" in name or "\\" in name:
            rejections.append(Rejection(where, "manifest_row_malformed", f"file name {name!r} is empty or a path"))
            continue
        if name in rows:
            rejections.append(Rejection(where, "manifest_row_duplicate", f"{name} is listed twice; the first row is kept"))
            continue
        published, precision = None, ""
        note = record.get("published_note", "")
        if record.get("published", "").startswith(ESTIMATED_MARK):
            record["published"] = record["published"].lstrip(ESTIMATED_MARK)
            note = note or "estimated date (marked ~ in the manifest)"
        if record.get("published"):
            try:
                published, precision = parse_published(record["published"])
            except ValueError as exc:
                rejections.append(Rejection(where, "manifest_row_malformed", f"{name}: {exc}"))
                continue
        rows[name] = ManifestRow(
            file=name, title=record.get("title", ""), outlet=record.get("outlet", ""), published=published,
            published_precision=precision, published_note=note,
            primary_region=record.get("primary_region", ""),
        )
    return rows, rejections


def decode_article(data: bytes) -> tuple[str, str]:
    """Text and encoding name; raises ValueError saying why the bytes are not a readable article."""
    if not data.strip():
        raise ValueError("empty: the file has no text")
    if b"\x00" in data:
        raise ValueError("binary: the file contains NUL bytes, it is not a text article")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = len(CONTROL_CHARS.findall(text))
        if controls > MAX_CONTROL_CHAR_SHARE * len(text):
            raise ValueError("binary: too many control characters for a text article")
        return text.lstrip("\ufeff"), "utf-8" if encoding == "utf-8-sig" else encoding
    raise ValueError("unreadable: not valid UTF-8, GBK or GB18030")


def content_hash(text: str) -> str:
    """Hash of the text with line endings and surrounding blanks normalised: same article, same hash."""
    normalised = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return hashlib.sha256(normalised.strip().encode("utf-8")).hexdigest()


def infer_published(text: str, today: date | None = None) -> date:
    """Latest calendar year the text names (not in the future), and the latest month it names: an estimate."""
    today = today or date.today()
    years = [int(y) for y in YEAR_IN_TEXT.findall(text) if int(y) <= today.year]
    year = max(years) if years else today.year
    months = [int(m) for m in MONTH_IN_TEXT.findall(text)]
    month = max(months) if months else 12
    if date(year, month, 1) > today:
        month = today.month
    return date(year, month, 1)


def infer_title(text: str) -> str:
    """First non-empty line, without markdown heading marks."""
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""


def build_article(path_name: str, text: str, encoding: str, row: ManifestRow | None) -> Article:
    """Combine decoded text with its manifest row, inferring what the manifest does not say."""
    row = row or ManifestRow(file=path_name)
    if row.published is not None:
        published, precision, source = row.published, row.published_precision, "manifest"
    else:
        published, precision, source = infer_published(text), "month", "inferred"
    return Article(
        article_id=Path(path_name).stem,
        file=path_name,
        sha256=content_hash(text),
        text=text,
        encoding=encoding,
        title=row.title or infer_title(text),
        outlet=row.outlet,
        published=published,
        published_precision=precision,
        published_source=source,
        published_note=row.published_note or ("inferred from the latest year and month the text names"
                                              if source == "inferred" else ""),
        primary_region=row.primary_region,
    )


def article_paths(raw_dir: Path) -> list[Path]:
    return sorted(p for p in raw_dir.iterdir() if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)


def load_articles(raw_dir: Path, only: Iterable[str] | None = None) -> LoadResult:
    """Every readable, distinct article in `raw_dir`; everything else as rejections."""
    result = LoadResult()
    manifest_path = raw_dir / MANIFEST_NAME
    manifest: dict[str, ManifestRow] = {}
    if manifest_path.exists():
        try:
            manifest_text, _ = decode_article(manifest_path.read_bytes())
        except ValueError as exc:
            result.rejections.append(Rejection(MANIFEST_NAME, "manifest_unreadable", str(exc)))
        else:
            manifest, problems = parse_manifest(manifest_text)
            result.rejections.extend(problems)
    paths = article_paths(raw_dir)
    present = {p.name for p in paths}
    for name in sorted(set(manifest) - present):
        result.rejections.append(Rejection(f"{MANIFEST_NAME}: {name}", "manifest_file_missing",
                                           f"the manifest lists {name} but there is no such file in {raw_dir}"))
    wanted = set(only) if only is not None else None
    seen: dict[str, str] = {}
    for path in paths:
        if wanted is not None and path.name not in wanted:
            continue
        try:
            text, encoding = decode_article(path.read_bytes())
        except (OSError, ValueError) as exc:
            reason = str(exc).split(":", 1)[0] if isinstance(exc, ValueError) else "unreadable"
            result.rejections.append(Rejection(path.name, reason, f"{path.name}: {exc}"))
            continue
        article = build_article(path.name, text, encoding, manifest.get(path.name))
        if article.sha256 in seen:
            result.rejections.append(Rejection(path.name, "duplicate",
                                               f"{path.name} has the same content as {seen[article.sha256]}; counted once"))
            continue
        seen[article.sha256] = path.name
        result.articles.append(article)
    return result
