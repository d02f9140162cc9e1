"""The curated CSV files, kept current without rewriting what did not change.

Formatting hundreds of thousands of facts as CSV takes seconds; a refresh that adds one article should not
pay that. The big tables (facts, articles, derived_facts, crosscheck) are written as one block of rows per
article, articles in id order, and a hidden state file beside them (`.curated_state.json`) records each
block's byte range, each file's size and time stamp, and the run the files reflect. A refresh copies the
unchanged byte ranges from the old file, formats only the changed articles' rows, and renames the result
into place; a file whose table did not change is left alone. Any doubt (another run, a different size or
time stamp, a field with a line break) means that file is written again from the database. Either way the
bytes are the same as a full rewrite would produce. The state file is written last, so a crash part-way
leaves it describing an older run, and the next job rewrites what it cannot vouch for.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Float, Integer, Table

from etl.store.cells import neutralise_texts

STATE_NAME = ".curated_state.json"
STATE_FORMAT = 1
BOM = "\ufeff".encode()
COPY_CHUNK = 16 * 1024 * 1024
FILE_MODE = 0o644  # mkstemp makes files private; the curated files are meant to be shared


@dataclass(frozen=True)
class BlockSpec:
    """A table written in blocks: rows grouped by `group` (an article id), in `order`."""

    table: Table
    group: str
    order: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns]


# --- formatting ---------------------------------------------------------------------------------------------

def normalise(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """One dtype per column from the table's declared types, so any subset of rows prints as the whole does."""
    frame = frame.reindex(columns=[c.name for c in table.columns])
    for column in table.columns:
        values = frame[column.name]
        if isinstance(column.type, Integer):
            frame[column.name] = values.astype("Int64")
        elif isinstance(column.type, Float):
            frame[column.name] = values.astype(float)
        elif isinstance(column.type, Boolean):
            frame[column.name] = values.astype("boolean")
        else:
            frame[column.name] = values.astype(object).where(values.notna(), None)
    return frame


def csv_bytes(frame: pd.DataFrame, header: bool) -> bytes:
    """Rows as CSV, texts a spreadsheet would run neutralised (etl.store.cells)."""
    buffer = io.StringIO()
    neutralise_texts(frame).to_csv(buffer, index=False, header=header, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def header_bytes(columns: list[str]) -> bytes:
    return BOM + csv_bytes(pd.DataFrame(columns=columns), header=True)


@dataclass(frozen=True)
class FormattedPiece:
    """Rows of whole groups as CSV bytes, with [group, offset, length] per block; `blocks` is None when a
    field holds a line break, so the piece cannot be indexed by line."""

    data: bytes
    blocks: list[list] | None


def format_piece(piece: pd.DataFrame, spec: BlockSpec) -> FormattedPiece:
    formatted = format_blocks(piece, spec)
    if formatted is None:
        sorted_piece = normalise(piece, spec.table).sort_values(list(spec.order), kind="stable")
        return FormattedPiece(csv_bytes(sorted_piece, header=False), None)
    return FormattedPiece(*formatted)


def format_blocks(frame: pd.DataFrame, spec: BlockSpec) -> tuple[bytes, list[list]] | None:
    """Sorted rows as CSV bytes and [group, offset, length] per block; None when a field holds a line break."""
    frame = normalise(frame, spec.table).sort_values(list(spec.order), kind="stable").reset_index(drop=True)
    data = csv_bytes(frame, header=False)
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
    if len(ends) != len(frame):
        return None
    groups = frame[spec.group].astype(str).to_numpy()
    starts = np.concatenate(([0], np.flatnonzero(groups[1:] != groups[:-1]) + 1)) if len(groups) else []
    blocks = []
    for i, first in enumerate(starts):
        last = (starts[i + 1] if i + 1 < len(starts) else len(groups)) - 1
        offset = int(ends[first - 1]) if first else 0
        blocks.append([str(groups[first]), offset, int(ends[last]) - offset])
    return data, blocks


# --- files --------------------------------------------------------------------------------------------------

def write_all(fh: BinaryIO, data: bytes) -> None:
    """An unbuffered write may take less than it is given; keep going until it has it all."""
    view = memoryview(data)
    while view:
        view = view[fh.write(view):]


def copy_range(src: BinaryIO, dst: BinaryIO, offset: int, length: int) -> None:
    """Append `length` bytes of `src` from `offset` to `dst` (both unbuffered), in the kernel where it can."""
    copy = getattr(os, "copy_file_range", None)
    while length and copy is not None:
        try:
            done = copy(src.fileno(), dst.fileno(), min(length, COPY_CHUNK * 64), offset)
        except OSError:
            break
        if done == 0:
            break
        offset, length = offset + done, length - done
    src.seek(offset)
    while length:
        chunk = src.read(min(COPY_CHUNK, length))
        write_all(dst, chunk)
        length -= len(chunk)


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> dict:
    """Write beside the target and rename, so a reader never sees half a file; returns size and time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=0) as fh:  # unbuffered, so kernel copies land in order
            write(fh)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def write_plain(curated_dir: Path, name: str, frame: pd.DataFrame) -> dict:
    data = BOM + csv_bytes(frame, header=True)
    return atomic_write(curated_dir / f"{name}.csv", lambda fh: write_all(fh, data))


def write_blocks(curated_dir: Path, spec: BlockSpec, pieces: Iterable[FormattedPiece]) -> dict:
    """The whole file from every row of the table, given as formatted pieces that each hold whole groups,
    pieces in group order (so a table of millions of rows is held a piece at a time).

    A field with a line break cannot be indexed by line: the file is then written the same, unindexed, and
    never spliced.
    """
    head = header_bytes(spec.columns)
    blocks: list[list] | None = []

    def write(fh: BinaryIO) -> None:
        nonlocal blocks
        write_all(fh, head)
        position = len(head)
        for piece in pieces:
            if piece.blocks is None:
                blocks = None
            elif blocks is not None:
                blocks.extend([group, offset + position, length] for group, offset, length in piece.blocks)
            write_all(fh, piece.data)
            position += len(piece.data)

    entry = atomic_write(curated_dir / f"{spec.name}.csv", write)
    if blocks is not None:
        entry["header"] = len(head)
        entry["blocks"] = blocks
    return entry


def splice_blocks(curated_dir: Path, spec: BlockSpec, entry: dict, dirty: Iterable[str], fresh: pd.DataFrame
                  ) -> dict | None:
    """The file with the blocks of `dirty` groups replaced by `fresh` (their current rows); None if unable."""
    if "blocks" not in entry:
        return None
    formatted = format_blocks(fresh, spec)
    if formatted is None:
        return None
    data, new_blocks = formatted
    dirty = set(dirty)
    old = {group: (offset, length) for group, offset, length in entry["blocks"] if group not in dirty}
    new = {group: (offset, length) for group, offset, length in new_blocks}
    path = curated_dir / f"{spec.name}.csv"
    blocks: list[list] = []

    def write(fh: BinaryIO) -> None:
        with path.open("rb", buffering=0) as src:
            write_all(fh, src.read(entry["header"]))
            position, pending = entry["header"], None  # pending: [start, end) of old bytes not yet copied

            def flush() -> None:
                if pending:
                    copy_range(src, fh, pending[0], pending[1] - pending[0])

            for group in sorted(old.keys() | new.keys()):
                if group in new:
                    flush()
                    pending = None
                    offset, length = new[group]
                    write_all(fh, data[offset:offset + length])
                else:
                    offset, length = old[group]
                    if pending and pending[1] == offset:
                        pending[1] += length
                    else:
                        flush()
                        pending = [offset, offset + length]
                blocks.append([group, position, length])
                position += length
            flush()

    result = atomic_write(path, write)
    return {**result, "header": entry["header"], "blocks": blocks}


# --- the state file -----------------------------------------------------------------------------------------

def read_state(curated_dir: Path) -> tuple[int | None, dict[str, dict]]:
    """The run the files reflect, and the entries of the files that are still as that run left them."""
    try:
        state = json.loads((curated_dir / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    if state.get("format") != STATE_FORMAT:
        return None, {}
    valid = {}
    for name, entry in state.get("files", {}).items():
        try:
            stat = (curated_dir / f"{name}.csv").stat()
        except OSError:
            continue
        if (stat.st_size, stat.st_mtime_ns) == (entry.get("size"), entry.get("mtime_ns")) \
                and entry.get("columns") is not None:
            valid[name] = entry
    return state.get("version"), valid


def write_state(curated_dir: Path, version: int, files: dict[str, dict]) -> None:
    payload = json.dumps({"format": STATE_FORMAT, "version": version, "files": files}, ensure_ascii=False,
                         separators=(",", ":")).encode("utf-8")
    atomic_write(curated_dir / STATE_NAME, lambda fh: write_all(fh, payload))
