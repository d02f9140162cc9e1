"""`python -m etl add URL|FILE …`: bring articles into the raw folder as people get them.

A web address is fetched (http and https only, with timeouts, a size cap and its content type checked; the
address after redirects is what is recorded); a file is copied. Each is read first with the readers a run
uses, so nothing unreadable is saved, then written into the raw folder unchanged under a name of its own,
and its manifest row is filled in with what the file says (title, outlet, URL) and what the user gave.
The command then runs the refresh that publishes it (see etl.jobs.cli).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from etl.extract.documents import Document, Unreadable
from etl.extract.formats import article_format, unknown_format_message
from etl.extract.manifest import MANIFEST_NAME, with_row
from etl.extract.sources import InputLimits, document_of, read_manifest_text, read_regular_file
from etl.store.curated_csv import atomic_write, write_all

SCHEMES = ("http", "https")
CONTENT_TYPES = {
    "text/html": "html", "application/xhtml+xml": "html", "application/pdf": "pdf", "text/plain": "txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
UNTYPED = ("application/octet-stream", "binary/octet-stream", "application/download", "")  # judged by the name
SUFFIXES = {"html": ".html", "pdf": ".pdf", "docx": ".docx", "txt": ".txt"}
CONNECT_SECONDS, READ_SECONDS = 10.0, 30.0
MAX_REDIRECTS = 5
USER_AGENT = "zj-talent/0.1 (python -m etl add; article intake)"
NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class IntakeError(Exception):
    """An input that was not brought in, with the reason in a sentence."""


@dataclass
class Intake:
    """One input brought in (or not): as given, the name it has in the raw folder, and what happened."""

    given: str
    file: str = ""
    status: str = ""  # added | updated | unchanged | refused
    message: str = ""
    document: Document | None = None
    manifest: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fetched:
    content: bytes
    url: str
    kind: str


def is_url(given: str) -> bool:
    return "://" in given


def fetch(url: str, limits: InputLimits) -> Fetched:
    """The body of a web address, after redirects; raises IntakeError saying why not."""
    import httpx

    if urlsplit(url).scheme.lower() not in SCHEMES or not urlsplit(url).hostname:
        raise IntakeError(f"{url}: only http:// and https:// addresses are fetched")
    timeout = httpx.Timeout(CONNECT_SECONDS, read=READ_SECONDS)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS,
                          headers={"User-Agent": USER_AGENT}) as client, client.stream("GET", url) as response:
            final = str(response.url)
            if response.status_code != 200:
                raise IntakeError(f"{url}: the server answered {response.status_code} {response.reason_phrase}")
            kind = content_kind(response.headers.get("content-type", ""), final)
            return Fetched(_body(response, limits.file_bytes(kind), url), final, kind)
    except httpx.TooManyRedirects as exc:
        raise IntakeError(f"{url}: more than {MAX_REDIRECTS} redirects") from exc
    except httpx.TimeoutException as exc:
        raise IntakeError(f"{url}: no answer in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise IntakeError(f"{url}: {type(exc).__name__}: {exc}") from exc


def content_kind(content_type: str, url: str) -> str:
    """The article format a response's content type stands for (an untyped body by its name)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    kind = CONTENT_TYPES.get(mime) or (article_format(PurePosixPath(urlsplit(url).path).name) if mime in UNTYPED else None)
    if kind is None:
        raise IntakeError(f"{url}: the address serves {mime or 'an untyped body'}, not an article "
                          "(a web page, PDF, Word file or plain text)")
    return kind


def _body(response, cap: int, url: str) -> bytes:
    """The response body, read no further than `cap` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise IntakeError(f"{url}: the server announces {int(declared) / 1e6:.1f} MB, over the limit of {cap / 1e6:g} MB")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise IntakeError(f"{url}: the body is over the limit of {cap / 1e6:g} MB; stopped reading")
        chunks.append(chunk)
    return b"".join(chunks)


def name_for_url(url: str, kind: str) -> str:
    """A file name for a fetched address: its host and last path part, and a hash of the whole address, so
    two addresses never share a name and fetching one again finds its file."""
    parts = urlsplit(url)
    stem = PurePosixPath(parts.path).stem or "index"
    slug = NAME_CHARS.sub("-", f"{parts.hostname}_{stem}").strip("-._")[:60]
    return f"{slug}_{hashlib.sha1(url.encode()).hexdigest()[:8]}{SUFFIXES[kind]}"


def bring_in(given: str, raw_dir: Path, limits: InputLimits, overrides: dict[str, str]) -> Intake:
    """Fetch or copy one input into the raw folder and fill in its manifest row; never raises for the input."""
    intake = Intake(given)
    try:
        if is_url(given):
            fetched = fetch(given, limits)
            name, data, url = name_for_url(fetched.url, fetched.kind), fetched.content, fetched.url
        else:
            path = Path(given).expanduser().resolve()
            name, url = path.name, ""
            if article_format(name) is None:
                raise IntakeError(unknown_format_message(name))
            data = read_regular_file(path, limits.file_bytes(article_format(name)))
        intake.file, intake.document = name, document_of(name, data, limits)
        intake.status = save(raw_dir / name, data, replace=bool(url))
    except (IntakeError, Unreadable, OSError) as exc:
        intake.status, intake.message = "refused", str(exc) if not isinstance(exc, Unreadable) else f"{given}: {exc}"
        return intake
    intake.manifest = manifest_values(name, intake.document, url, overrides)
    write_manifest_row(raw_dir, intake.manifest)
    return intake


def save(target: Path, data: bytes, replace: bool) -> str:
    """Write the file unchanged (atomically: a refresh never sees half of it); 'added', 'updated' or
    'unchanged'. A different file of the same name is replaced only for a web address (the page changed)."""
    if target.is_file() and not target.is_symlink():
        if target.read_bytes() == data:
            return "unchanged"
        if not replace:
            raise IntakeError(f"{target.parent} already holds a different {target.name}; rename the new file or "
                              "remove the old one first")
    elif os.path.lexists(target):
        raise IntakeError(f"{target} exists and is not a regular file")
    status = "updated" if target.exists() else "added"
    atomic_write(target, lambda fh: write_all(fh, data))
    return status


def manifest_values(name: str, document: Document, url: str, overrides: dict[str, str]) -> dict[str, str]:
    """What the manifest row says: the user's values, else what the file says; the date is left to the run,
    which finds it in the file's metadata, its URL or its text and says which."""
    found = {"title": document.title, "outlet": document.outlet or urlsplit(url or document.url).hostname or "",
             "url": url or document.url}
    values = {"file": name, **{k: v for k, v in found.items() if v}}
    values.update({k: v for k, v in overrides.items() if v})
    return values


def write_manifest_row(raw_dir: Path, values: dict[str, str]) -> None:
    text = read_manifest_text(raw_dir)
    data = with_row(text, values).encode("utf-8-sig")  # Excel reads it so
    atomic_write(raw_dir / MANIFEST_NAME, lambda fh: write_all(fh, data))
