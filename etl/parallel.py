"""How many worker processes a big job uses: extraction (etl.jobs.batches) and CSV writing (etl.store.csv_pieces)."""

from __future__ import annotations

import os

PARALLEL_THRESHOLD = 200  # fewer items than this are not worth starting processes for
WORKERS_ENV = "ZJ_WORKERS"


def worker_count(n_items: int) -> int:
    """Processes to work with: one per core for big jobs (`ZJ_WORKERS` overrides), else in-process."""
    configured = os.environ.get(WORKERS_ENV)
    if configured:
        return max(1, int(configured))
    return min(os.cpu_count() or 1, 8) if n_items >= PARALLEL_THRESHOLD else 1
