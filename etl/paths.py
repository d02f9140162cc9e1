"""Where the project keeps its data, and how a database is chosen.

Every command takes `--db`; without it `DATABASE_URL` (the Procfile convention) wins, and without that the
embedded SQLite file in `data/curated/` is used, so a fresh clone needs no configuration.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
CURATED_DIR = DATA_DIR / "curated"
REFERENCE_DIR = DATA_DIR / "reference"
DEFAULT_SQLITE_NAME = "talent.sqlite"
MASK = "***"
# a password in a URL (`postgresql://user:secret@host`, up to the last @ of the word) or a libpq setting
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s'\"]*(?=@)", re.IGNORECASE)
_SETTING_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s'\",;]+)", re.IGNORECASE)


def default_db_url(curated_dir: Path = CURATED_DIR) -> str:
    """SQLite file beside the curated CSVs: the embedded default."""
    return f"sqlite:///{(curated_dir / DEFAULT_SQLITE_NAME).resolve()}"


def resolve_db_url(explicit: str | None = None, curated_dir: Path = CURATED_DIR) -> str:
    """`--db` beats `DATABASE_URL` beats the embedded SQLite file."""
    url = explicit or os.environ.get("DATABASE_URL") or default_db_url(curated_dir)
    remember_password(url)
    if url.startswith("postgres://"):  # Heroku-style URLs name the dialect differently
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


_KNOWN_PASSWORDS: set[str] = set()


def remember_password(url: str) -> None:
    """Note the password of a URL this process uses, so `redact` masks it wherever a library quotes it, even
    as a host name (an unencoded @ in a password makes the drivers read part of it as the host)."""
    found = _URL_PASSWORD.search(url)
    if found:
        secret = url[found.end(1):found.end()]
        _KNOWN_PASSWORDS.update(piece for piece in {secret, *secret.split("@")} if len(piece) >= 4)


def redact(text: object) -> str:
    """`text` with every password in it masked: database URLs reach messages, logs, the run log and the
    status page, and none of them may show a password (`postgresql://talent:***@host/talent`)."""
    masked = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK, str(text))
    masked = _SETTING_PASSWORD.sub(lambda m: m.group(1) + MASK, masked)
    for secret in sorted(_KNOWN_PASSWORDS, key=len, reverse=True):
        masked = masked.replace(secret, MASK)
    return masked


class RedactingFormatter(logging.Formatter):
    """A log formatter that masks passwords in the whole record, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
