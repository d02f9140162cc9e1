"""The extractor fingerprint: the exact files it hashes, so that moving a module cannot drop one unnoticed."""

from __future__ import annotations

import shutil
from pathlib import Path

from etl.jobs.scan import extractor_fingerprint, fingerprint_inputs
from etl.paths import PROJECT_ROOT, REFERENCE_DIR

# Everything that decides which facts an article yields. When a module is added, moved or renamed, this list
# changes on purpose: the fingerprint must still hash every file that shapes the facts.
HASHED = [
    "etl/curate/corrections.py",
    "etl/extract/documents.py",
    "etl/extract/facts.py",
    "etl/extract/formats.py",
    "etl/extract/forms.py",
    "etl/extract/html_page.py",
    "etl/extract/indicators.py",
    "etl/extract/manifest.py",
    "etl/extract/numbers.py",
    "etl/extract/pdf_layout.py",
    "etl/extract/period_choice.py",
    "etl/extract/period_context.py",
    "etl/extract/periods.py",
    "etl/extract/quantities.py",
    "etl/extract/regions.py",
    "etl/extract/sources.py",
    "etl/extract/tables.py",
    "etl/extract/text.py",
    "etl/extract/units.py",
    "etl/jobs/batches.py",
    "etl/paths.py",
    "etl/vocabulary.py",
    "aliases_extra.csv",
    "external_places.csv",
    "indicators.yaml",
    "periods.yaml",
    "place_rules.yaml",
    "regions.csv",
    "units.yaml",
    "zhejiang_townships.csv",
    "zhejiang_zones.csv",
    "zone_codes.csv",
    "zones.csv",
]


def test_the_fingerprint_hashes_exactly_the_extraction_code_and_reference_data():
    assert [name for name, _ in fingerprint_inputs()] == HASHED


def test_the_fingerprint_follows_a_change_to_any_hashed_file(tmp_path: Path):
    root, reference = tmp_path / "project", tmp_path / "reference"
    shutil.copytree(PROJECT_ROOT / "etl", root / "etl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REFERENCE_DIR, reference)
    before = extractor_fingerprint(root, reference)
    assert before == extractor_fingerprint(PROJECT_ROOT, REFERENCE_DIR)
    with (root / "etl/extract/units.py").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    changed = extractor_fingerprint(root, reference)
    assert changed != before
    (reference / "corrections.csv").write_text("fact_id,reason,analyst\n", encoding="utf-8")
    assert extractor_fingerprint(root, reference) == changed, "corrections are not extractor input"
