"""facts.csv without rewriting it: splice the changed articles' rows into the previous file.

Formatting hundreds of thousands of facts as CSV takes seconds; a refresh that adds one article should not
pay that. The file holds one block of rows per article, articles in `article_id` order, rows within an
article by position; a hidden index beside it (`.facts.csv.index.json`) records each block's byte range
and the run the file reflects. A refresh copies the unchanged byte ranges from the old file, formats only
the changed articles' rows, and renames the result into place. Any doubt about the index (another run, a
different size or time stamp, a field with a line break) means a full rewrite from the database instead.
Either way the bytes are the same as a full rewrite would produce.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etl.schema import FACT_COLUMNS

FACTS_CSV = "facts.csv"
INDEX_NAME = ".facts.csv.index.json"
INDEX_FORMAT = 1
ROW_ORDER = ["article_id", "char_start", "char_end", "indicator_code", "fact_id"]
BOM = "\ufeff".encode()
COPY_CHUNK = 16 * 1024 * 1024
FILE_MODE = 0o644  # mkstemp makes files private; the curated files are meant to be shared


@dataclass(frozen=True)
class Block:
    article_id: str
    offset: int
    length: int


def csv_text(frame: pd.DataFrame, header: bool) -> bytes:
    """Rows formatted exactly as `DataFrame.to_csv` writes them, UTF-8."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=header, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def sort_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The file's row order; sorted in Python so every database gives the same order."""
    return frame[FACT_COLUMNS].sort_values(ROW_ORDER, kind="stable").reset_index(drop=True)


def format_blocks(frame: pd.DataFrame) -> tuple[bytes, list[Block]] | None:
    """Sorted rows as CSV bytes and each article's byte range; None when a field holds a line break."""
    frame = sort_rows(frame)
    data = csv_text(frame, header=False)
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
    if len(ends) != len(frame):
        return None
    ids = frame["article_id"].to_numpy()
    starts = np.concatenate(([0], np.flatnonzero(ids[1:] != ids[:-1]) + 1)) if len(ids) else np.array([], int)
    blocks = []
    for i, first in enumerate(starts):
        last = (starts[i + 1] if i + 1 < len(starts) else len(ids)) - 1
        offset = int(ends[first - 1]) if first else 0
        blocks.append(Block(str(ids[first]), offset, int(ends[last]) - offset))
    return data, blocks


def header_bytes() -> bytes:
    return BOM + csv_text(pd.DataFrame(columns=FACT_COLUMNS), header=True)


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_index(curated_dir: Path, version: int, header_len: int, blocks: list[Block]) -> None:
    stat = (curated_dir / FACTS_CSV).stat()
    index = {"format": INDEX_FORMAT, "version": version, "columns": FACT_COLUMNS, "size": stat.st_size,
             "mtime_ns": stat.st_mtime_ns, "header": header_len,
             "blocks": [[b.article_id, b.offset, b.length] for b in blocks]}
    payload = json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    _atomic_write(curated_dir / INDEX_NAME, lambda fh: fh.write(payload))


def read_index(curated_dir: Path) -> dict | None:
    """The index when it describes facts.csv as it is on disk now, else None."""
    try:
        index = json.loads((curated_dir / INDEX_NAME).read_text(encoding="utf-8"))
        stat = (curated_dir / FACTS_CSV).stat()
    except (OSError, ValueError):
        return None
    if (index.get("format") != INDEX_FORMAT or index.get("columns") != FACT_COLUMNS
            or index.get("size") != stat.st_size or index.get("mtime_ns") != stat.st_mtime_ns):
        return None
    return index


def indexed_version(curated_dir: Path) -> int | None:
    """The run whose state facts.csv (and the CSVs written before it) reflect, when known."""
    index = read_index(curated_dir)
    return index["version"] if index else None


def write_full(curated_dir: Path, frame: pd.DataFrame, version: int) -> None:
    """Write facts.csv from every current fact, then its index."""
    head = header_bytes()
    formatted = format_blocks(frame)
    data, blocks = formatted if formatted else (csv_text(sort_rows(frame), header=False), [])

    def write(fh) -> None:
        fh.write(head)
        fh.write(data)

    _atomic_write(curated_dir / FACTS_CSV, write)
    if formatted is None:
        (curated_dir / INDEX_NAME).unlink(missing_ok=True)
        return
    _write_index(curated_dir, version, len(head), [Block(b.article_id, b.offset + len(head), b.length)
                                                   for b in blocks])


def splice(curated_dir: Path, index: dict, dirty: Iterable[str], fresh: pd.DataFrame, version: int) -> bool:
    """Replace the blocks of `dirty` articles with `fresh` rows (their current facts); False if not possible."""
    formatted = format_blocks(fresh)
    if formatted is None:
        return False
    data, new_blocks = formatted
    dirty = set(dirty)
    old = {a: (o, n) for a, o, n in index["blocks"] if a not in dirty}
    new = {b.article_id: b for b in new_blocks}
    order = sorted(old.keys() | new.keys())
    source_path = curated_dir / FACTS_CSV
    blocks: list[Block] = []

    def write(fh) -> None:
        with source_path.open("rb") as src:
            fh.write(src.read(index["header"]))
            position = index["header"]
            pending: list[int] | None = None  # [start, end) of old bytes not yet copied

            def flush() -> None:
                nonlocal pending
                if pending:
                    src.seek(pending[0])
                    remaining = pending[1] - pending[0]
                    while remaining:
                        chunk = src.read(min(COPY_CHUNK, remaining))
                        fh.write(chunk)
                        remaining -= len(chunk)
                pending = None

            for article_id in order:
                if article_id in new:
                    flush()
                    block = new[article_id]
                    fh.write(data[block.offset:block.offset + block.length])
                    length = block.length
                else:
                    offset, length = old[article_id]
                    if pending and pending[1] == offset:
                        pending[1] += length
                    else:
                        flush()
                        pending = [offset, offset + length]
                blocks.append(Block(article_id, position, length))
                position += length
            flush()

    _atomic_write(source_path, write)
    _write_index(curated_dir, version, index["header"], blocks)
    return True
