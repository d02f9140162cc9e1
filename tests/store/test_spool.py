"""The scratch spool a big job keeps its batches in: exact round trip, order kept, nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etl.store.spool import PREFIX, Spool


def test_pieces_come_back_exactly_in_the_order_they_were_put() -> None:
    first = pd.DataFrame({"fact_id": ["a", "b"], "value": [1.5, np.nan], "note": pd.Series([None, "多"], dtype=object)})
    second = pd.DataFrame({"fact_id": ["c"], "value": [3.0], "note": ["近"]})
    with Spool() as spool:
        spool.put("facts", first)
        spool.put("facts", pd.DataFrame(columns=["fact_id"]))
        spool.put("facts", second)
        pieces = list(spool.pieces("facts"))
        assert sum(map(len, pieces)) == 3 and list(spool.pieces("other")) == []
    assert len(pieces) == 2
    pd.testing.assert_frame_equal(pieces[0], first)
    pd.testing.assert_frame_equal(pieces[1], second)
    assert pieces[0]["note"].iloc[0] is None


def test_the_folder_is_removed_even_when_the_job_fails() -> None:
    with pytest.raises(RuntimeError, match="boom"), Spool() as spool:
        spool.put("facts", pd.DataFrame({"a": [1]}))
        folder = next(iter(spool._pieces["facts"])).parent
        assert folder.exists()
        raise RuntimeError("boom")
    assert not folder.exists()
    with pytest.raises(RuntimeError, match="not open"):
        spool.put("facts", pd.DataFrame({"a": [1]}))


def test_a_killed_jobs_folder_is_removed_by_the_next_job(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    abandoned = tmp_path / f"{PREFIX}{dead}-abc123"
    abandoned.mkdir()
    (abandoned / "facts-000000.pkl").write_bytes(b"left by a job killed outright")
    with Spool() as spool:
        spool.put("facts", pd.DataFrame({"a": [1]}))
        assert not abandoned.exists()
        assert len(list(tmp_path.glob(f"{PREFIX}*"))) == 1, "its own folder stays while it runs"
