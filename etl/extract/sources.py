"""Read articles and their manifest from disk: the only place the pipeline touches raw files.

Bad input never stops a run. Each problem becomes a `Rejection` naming the file and what is wrong with it,
and the good articles go on. Only regular files are read (a link or a device in the raw folder is set
aside, never followed), none bigger than the limits, and every file that is not an article says so.
Duplicates are recognised by the hash of their normalised text, so the same article saved again under
another name or in another encoding is counted once.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from etl.extract.documents import Document, Rejection, Unreadable
from etl.extract.formats import (  # decode_article: the manifest and the statistics tables read as text too
    article_format,
    decode_article,
    read_document,
    unknown_format_message,
)
from etl.extract.manifest import (  # noqa: F401 - the manifest's names, where the loaders have always offered them
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    ManifestRow,
    parse_manifest,
    parse_published,
    resolve_manifest,
)

STATISTICS_DIR = "statistics"  # official tables (etl.curate.statistics): not articles
TITLE_MAX_CHARS = 200
OUTLET_MAX_CHARS = 200
DEFAULT_TEXT_MB = 2.0  # an article's text above this is set aside (ZJ_MAX_ARTICLE_MB, --max-article-mb)
TEXT_MB_ENV = "ZJ_MAX_ARTICLE_MB"
CONTAINER_FACTOR = 50  # a PDF, Word file or page may weigh this many times its text (pictures, markup)
MANIFEST_MAX_BYTES = 50_000_000
YEAR_IN_TEXT = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
MONTH_IN_TEXT = re.compile(r"(?<![\d年])(1[0-2]|[1-9])\s*月")
SENTENCE_END = re.compile(r"[。！？!?]")
# A date in a URL: /2024/03/05/, /20240305/, /2024-03/05/, doc-…-2023-10-31; a month alone before a slash: /202407/.
URL_DAY = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/_.]?(0[1-9]|1[0-2])[-/_.]?(0[1-9]|[12]\d|3[01])(?!\d)")
URL_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/_.]?(0[1-9]|1[0-2])(?=/)")


@dataclass(frozen=True)
class Article:
    """One decoded article with what the manifest (or the file, or the text itself) says about it."""

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
    url: str = ""
    format: str = "txt"
    raw_sha256: str = ""


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class InputLimits:
    """How big an article may be: its text, and the file it comes in (a plain-text file holds at most two
    bytes per character of text; a PDF, Word file or web page carries pictures and markup besides)."""

    text_mb: float = DEFAULT_TEXT_MB

    @classmethod
    def from_env(cls) -> InputLimits:
        value = os.environ.get(TEXT_MB_ENV, "").strip()
        try:
            return cls(float(value)) if value else cls()
        except ValueError:
            raise ValueError(f"{TEXT_MB_ENV}={value!r} is not a number of megabytes") from None

    @property
    def text_bytes(self) -> int:
        return int(self.text_mb * 1_000_000)

    def file_bytes(self, kind: str | None) -> int:
        return self.text_bytes * (2 if kind == "txt" else CONTAINER_FACTOR)

    def explain(self) -> str:
        return (f"an article may hold {self.text_mb:g} MB of text, in a file of up to {self.file_bytes('txt') / 1e6:g} MB "
                f"(.txt) or {self.file_bytes('pdf') / 1e6:g} MB (other kinds); set {TEXT_MB_ENV} or --max-article-mb "
                "to change the limit")


def rejection(name: str, exc: Exception) -> Rejection:
    """An unreadable file as rejected_inputs shows it."""
    reason = exc.reason if isinstance(exc, Unreadable) else "unreadable"
    return Rejection(name, reason, f"{name}: {exc}")


# --- reading files safely ------------------------------------------------------------------------------------

def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, never through a symbolic link, never from a device or pipe (opening
    one does not wait for a writer), and never more than `max_bytes`; raises `Unreadable` otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Unreadable("not_regular_file", irregular_message(stat.S_IFLNK)) from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("not_regular_file", irregular_message(info.st_mode))
        if info.st_size > max_bytes:
            raise Unreadable("too_large", size_message(info.st_size, max_bytes))
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Unreadable("too_large", size_message(len(data), max_bytes))
    return data


def irregular_message(mode: int) -> str:
    kind = ("a symbolic link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode)
            else "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device")
    where = ("articles are read from the raw folder itself, not from sub-folders" if stat.S_ISDIR(mode)
             else "copy the article itself into the raw folder")
    return f"not a regular file but {kind}; only regular files are read ({where})"


def size_message(size: int, limit: int) -> str:
    return f"the file is {size / 1e6:.1f} MB ({size:,} bytes), over the limit of {limit / 1e6:g} MB"


def list_inputs(raw_dir: Path) -> tuple[list[tuple[Path, os.stat_result]], list[Rejection]]:
    """The article files in the raw folder, by name, each with its stat, and everything else there (but the
    manifest and the statistics folder) as rejections. Links are not followed, not even to look."""
    found, rejections = [], []
    with os.scandir(raw_dir) as entries:
        for entry in entries:
            if entry.name == MANIFEST_NAME or (entry.name == STATISTICS_DIR and entry.is_dir(follow_symlinks=False)):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                rejections.append(Rejection(entry.name, "unreadable", f"{entry.name}: {exc}"))
                continue
            if not stat.S_ISREG(info.st_mode):
                rejections.append(Rejection(entry.name, "not_regular_file",
                                            f"{entry.name}: {irregular_message(info.st_mode)}"))
            elif article_format(entry.name) is None:
                rejections.append(Rejection(entry.name, "unknown_format", unknown_format_message(entry.name)))
            else:
                found.append((raw_dir / entry.name, info))
    found.sort(key=lambda item: item[0].name)
    rejections.sort(key=lambda r: r.file)
    return found, rejections


def read_input(path: Path, limits: InputLimits) -> tuple[Document, str]:
    """The document in an article file and the hash of the file's bytes; raises `Unreadable` or OSError."""
    try:
        data = read_regular_file(path, limits.file_bytes(article_format(path.name)))
    except Unreadable as exc:
        if exc.reason != "too_large":
            raise
        raise Unreadable(exc.reason, f"{exc.message}; {limits.explain()}") from None
    return document_of(path.name, data, limits), hashlib.sha256(data).hexdigest()


def document_of(name: str, data: bytes, limits: InputLimits) -> Document:
    """The document in a file's bytes, if its text is within the limit; raises `Unreadable` saying why not."""
    document = read_document(name, data)
    size = len(document.text.encode("utf-8"))
    if size > limits.text_bytes:
        raise Unreadable("too_large", f"its text is {size / 1e6:.1f} MB ({len(document.text):,} characters); "
                         + limits.explain())
    return document


def read_manifest_text(raw_dir: Path) -> str | None:
    """The manifest's text, None when there is none; raises `Unreadable` or OSError saying why not."""
    path = raw_dir / MANIFEST_NAME
    if not os.path.lexists(path):
        return None
    return decode_article(read_regular_file(path, MANIFEST_MAX_BYTES))[0]


def load_manifest(raw_dir: Path, names: list[str]) -> tuple[dict[str, ManifestRow], list[Rejection]]:
    """The manifest's rows by the file each describes, and its problems as rejections."""
    try:
        text = read_manifest_text(raw_dir)
    except (OSError, ValueError) as exc:
        return {}, [Rejection(MANIFEST_NAME, "manifest_unreadable", str(exc))]
    if text is None:
        return {}, []
    rows, problems = parse_manifest(text)
    resolved, missing = resolve_manifest(rows, names, str(raw_dir))
    return resolved, [*problems, *missing]


# --- what an article is ------------------------------------------------------------------------------------------

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


def url_date(url: str, today: date | None = None) -> tuple[date, str] | None:
    """The publication date a URL's path gives (news sites file pages by day), with its precision."""
    parts = urlsplit(url)
    where = f"{parts.path}?{parts.query}"
    latest = (today or date.today()) + timedelta(days=1)
    for pattern, precision in ((URL_DAY, "day"), (URL_MONTH, "month")):
        for match in pattern.finditer(where):
            year, month, day = (*match.groups(), "1")[:3]
            found = date(int(year), int(month), int(day)) if _valid(year, month, day) else None
            if found and date(1990, 1, 1) <= found <= latest:
                return found, precision
    return None


def _valid(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def capped(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def infer_title(text: str) -> str:
    """First non-empty line, without markdown heading marks; a line too long to be a title is body text,
    and its first sentence stands in."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip().lstrip("#").strip()
            if len(line) > TITLE_MAX_CHARS:
                end = SENTENCE_END.search(line, 0, TITLE_MAX_CHARS)
                line = line[:end.end()] if end else line
            return capped(line, TITLE_MAX_CHARS)
    return ""


def publication(row: ManifestRow, document: Document, url: str) -> tuple[date, str, str, str]:
    """Date, precision, where it came from and a note: the manifest, else the file's own metadata, else
    the date in its URL, else inferred from the text."""
    if row.published is not None:
        return row.published, row.published_precision, "manifest", row.published_note
    if document.published is not None:
        return (document.published, "day", "metadata",
                row.published_note or f"from the {document.format} file's own metadata (its publication date)")
    found = url_date(url)
    if found is not None:
        return *found, "url", row.published_note or f"from the date in its URL ({capped(url, 300)})"
    return (infer_published(document.text), "month", "inferred",
            row.published_note or "inferred from the latest year and month the text names")


def article_from(path_name: str, document: Document, row: ManifestRow | None, raw_sha256: str = "") -> Article:
    """An article from a file's document and its manifest row: the row wins, then what the file says."""
    row = row or ManifestRow(file=path_name)
    url = row.url or document.url
    published, precision, source, note = publication(row, document, url)
    return Article(
        article_id=Path(path_name).stem,
        file=path_name,
        sha256=content_hash(document.text),
        text=document.text,
        encoding=document.encoding if document.format == "txt" else "",
        title=capped(row.title or document.title, TITLE_MAX_CHARS) or infer_title(document.text),
        outlet=capped(row.outlet or document.outlet or urlsplit(url).hostname or "", OUTLET_MAX_CHARS),
        published=published,
        published_precision=precision,
        published_source=source,
        published_note=note,
        primary_region=row.primary_region,
        url=url,
        format=document.format,
        raw_sha256=raw_sha256,
    )


def build_article(path_name: str, text: str, encoding: str, row: ManifestRow | None) -> Article:
    """Combine decoded text with its manifest row, inferring what the manifest does not say."""
    return article_from(path_name, Document(text=text, format="txt", encoding=encoding), row)


def read_article(path: Path, row: ManifestRow | None, limits: InputLimits | None = None) -> Article:
    """Read and describe one article file; raises OSError or ValueError when it is not readable."""
    document, raw_sha256 = read_input(path, limits or InputLimits.from_env())
    return article_from(path.name, document, row, raw_sha256)


def same_id_rejection(path: Path, earlier: str) -> Rejection:
    return Rejection(path.name, "duplicate_id", f"{path.name} and {earlier} have the same name without extension, "
                     "which is the article's id; rename one of them")


def load_articles(raw_dir: Path, only: Iterable[str] | None = None, limits: InputLimits | None = None) -> LoadResult:
    """Every readable, distinct article in `raw_dir`; everything else as rejections."""
    result = LoadResult()
    listed, result.rejections = list_inputs(raw_dir)
    manifest, problems = load_manifest(raw_dir, [p.name for p, _ in listed])
    result.rejections.extend(problems)
    wanted = set(only) if only is not None else None
    seen: dict[str, str] = {}
    ids: dict[str, str] = {}
    for path, _ in listed:
        if wanted is not None and path.name not in wanted:
            continue
        if path.stem in ids:
            result.rejections.append(same_id_rejection(path, ids[path.stem]))
            continue
        ids[path.stem] = path.name
        try:
            article = read_article(path, manifest.get(path.name), limits)
        except (OSError, ValueError) as exc:
            result.rejections.append(rejection(path.name, exc))
            continue
        if article.sha256 in seen:
            result.rejections.append(Rejection(path.name, "duplicate",
                                               f"{path.name} has the same content as {seen[article.sha256]}; counted once"))
            continue
        seen[article.sha256] = path.name
        result.articles.append(article)
    return result
