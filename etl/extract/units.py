"""The declared units (`data/reference/units.yaml`), read through this one function by the extractor, the
workbook and the dashboard alike."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from etl.paths import REFERENCE_DIR

UNITS_FILE = "units.yaml"


@cache
def load_units(reference_dir: Path = REFERENCE_DIR) -> dict[str, dict]:
    """The unit vocabulary, read once: code → name_zh, name_en, kind, measure words and aliases."""
    with (reference_dir / UNITS_FILE).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)
