"""Where the project keeps its data, and how a database is chosen.

Every command takes `--db`; without it `DATABASE_URL` (the Procfile convention) wins, and without that the
embedded SQLite file in `data/curated/` is used, so a fresh clone needs no configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
CURATED_DIR = DATA_DIR / "curated"
REFERENCE_DIR = DATA_DIR / "reference"
DEFAULT_SQLITE_NAME = "talent.sqlite"


def default_db_url(curated_dir: Path = CURATED_DIR) -> str:
    """SQLite file beside the curated CSVs: the embedded default."""
    return f"sqlite:///{(curated_dir / DEFAULT_SQLITE_NAME).resolve()}"


def resolve_db_url(explicit: str | None = None, curated_dir: Path = CURATED_DIR) -> str:
    """`--db` beats `DATABASE_URL` beats the embedded SQLite file."""
    url = explicit or os.environ.get("DATABASE_URL") or default_db_url(curated_dir)
    if url.startswith("postgres://"):  # Heroku-style URLs name the dialect differently
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
