"""A block table read back from the database and formatted as CSV, a piece of whole groups at a time.

Writing a file whole (a full run, or a refresh that changed too much to splice) means reading hundreds of
thousands of rows back and formatting them, all on one core after the publish. For a big table the pieces
are read and formatted on worker processes, each with its own connection to the committed database, while
this process writes them to the file in order; the bytes are the same either way.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from etl.parallel import worker_count
from etl.store.curated_csv import BlockSpec, FormattedPiece, format_piece
from etl.store.publish import read_rows
from etl.store.schema import make_engine, metadata

Groups = list[str] | None  # the groups of one piece; None: the rows without a group
_worker_engines: dict[tuple[int, str], Engine] = {}


def piece_groups(engine: Engine, spec: BlockSpec, groups_per_piece: int) -> list[Groups]:
    """The table's groups cut into pieces, in the order the file keeps them (rows without a group last,
    where sorting puts them); no pieces for an empty table."""
    column = spec.table.c[spec.group]
    with engine.connect() as conn:
        groups = sorted(g for (g,) in conn.execute(select(column).distinct()) if g is not None)
        has_null = conn.execute(select(func.count()).select_from(spec.table).where(column.is_(None))).scalar_one()
    pieces: list[Groups] = [groups[i:i + groups_per_piece] for i in range(0, len(groups), groups_per_piece)]
    return [*pieces, None] if has_null else pieces


def read_piece(engine: Engine, spec: BlockSpec, groups: Groups) -> pd.DataFrame:
    if groups is not None:
        return read_rows(engine, spec.table, spec.group, groups)
    with engine.connect() as conn:
        return pd.read_sql(select(spec.table).where(spec.table.c[spec.group].is_(None)), conn)


def _format_in_worker(url: str, table: str, group: str, order: tuple[str, ...], groups: Groups) -> FormattedPiece:
    """Worker-process entry: one engine per process and database, never one inherited from the parent."""
    key = (os.getpid(), url)
    if key not in _worker_engines:
        _worker_engines[key] = make_engine(url)
    spec = BlockSpec(metadata.tables[table], group, order)
    return format_piece(read_piece(_worker_engines[key], spec, groups), spec)


def _shareable_url(engine: Engine) -> str | None:
    """The URL other processes can open the same database with; None for an in-memory SQLite database."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def formatted_pieces(engine: Engine, spec: BlockSpec, groups_per_piece: int) -> Iterator[FormattedPiece]:
    """Every row of the table as formatted pieces in file order; an empty table gives one empty piece."""
    pieces = piece_groups(engine, spec, groups_per_piece)
    if not pieces:
        yield format_piece(pd.DataFrame(columns=spec.columns), spec)
        return
    url = _shareable_url(engine)
    workers = worker_count(sum(len(g) for g in pieces if g))
    if url is None or workers == 1 or len(pieces) == 1:
        for groups in pieces:
            yield format_piece(read_piece(engine, spec, groups), spec)
        return
    gc.freeze()  # forked workers share the parent's pages; a collection there would touch, and copy, them all
    try:
        yield from _formatted_by_workers(url, spec, pieces, workers)
    finally:
        gc.unfreeze()


def _formatted_by_workers(url: str, spec: BlockSpec, pieces: list[Groups], workers: int) -> Iterator[FormattedPiece]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        ahead: deque[Future] = deque()  # a few pieces ahead of the writer: enough to keep both busy, no more
        for groups in pieces:
            ahead.append(pool.submit(_format_in_worker, url, spec.name, spec.group, spec.order, groups))
            if len(ahead) > 2 * workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
