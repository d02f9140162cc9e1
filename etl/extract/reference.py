"""The reference data a job works with, loaded together: the gazetteer, the taxonomy and the units."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl.extract.indicators import Taxonomy, load_taxonomy
from etl.extract.regions import Gazetteer, load_gazetteer
from etl.extract.units import load_units
from etl.paths import REFERENCE_DIR


@dataclass(frozen=True)
class ReferenceData:
    """The codes the extractor gives facts and a correction may use: regions, indicators and units."""

    regions: Gazetteer
    taxonomy: Taxonomy
    units: frozenset[str]


def load_reference(reference_dir: Path = REFERENCE_DIR) -> ReferenceData:
    """The gazetteer and taxonomy of `reference_dir`; the units are those the extractor parses numbers with,
    which it reads from the project's own reference folder."""
    return ReferenceData(load_gazetteer(reference_dir), load_taxonomy(reference_dir), frozenset(load_units()))
