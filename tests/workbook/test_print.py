"""The workbook as an official prints it: rendered to PDF by LibreOffice once per session, read back with
pdfplumber. No text is printed under 9 pt, and the printed pages carry no English-only text: every line of
Latin letters is part of a cell that also has Chinese (a bilingual source title, a name beside its Chinese),
the English header beneath its Chinese one, or a code, number or address.

Needs LibreOffice (`libreoffice-calc`, and `fonts-crosextra-carlito` so Calibri's column widths are Excel's)
and `pdftoppm` (`poppler-utils`); `.ci/run` installs them. Without them the tests skip saying why, except
under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from openpyxl import load_workbook

from etl.paths import PROJECT_ROOT
from etl.workbook.export import export_to_file
from etl.workbook.styles import SMALLEST_SIZE

pytestmark = pytest.mark.slow

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CODE = re.compile(r"^[\w./:%?=&~#+\-]+$")  # an address, file name, code or number: one token, no spaces
CELL_GAP = 6.0  # points between two words that sit in different cells


def require_tools() -> None:
    missing = [tool for tool in ("libreoffice", "pdftoppm") if shutil.which(tool) is None]
    if missing:
        message = (f"{', '.join(missing)} not installed "
                   "(apt-get install libreoffice-calc poppler-utils fonts-crosextra-carlito)")
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI=true: the print test must run, not skip", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def printed(seed_db_url, tmp_path_factory) -> tuple[Path, Path]:
    """The seed workbook and its PDF, rendered once for the session by scripts/render_workbook.sh (which
    also draws the first pages as PNG for a human to look at)."""
    pytest.importorskip("pdfplumber")
    require_tools()
    folder = tmp_path_factory.mktemp("print")
    book = export_to_file(seed_db_url, folder / "talent.xlsx")
    done = subprocess.run([str(PROJECT_ROOT / "scripts" / "render_workbook.sh"), str(book), str(folder), "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.glob("page-*.png")) == ["page-01.png", "page-02.png"]
    return book, folder / "talent.pdf"


def pdf_lines(pdf: Path) -> list[tuple[int, str, list[dict]]]:
    """(page, line text, words) for every printed line."""
    import pdfplumber

    lines = []
    with pdfplumber.open(pdf) as document:
        for number, page in enumerate(document.pages, start=1):
            rows: dict[float, list[dict]] = defaultdict(list)
            for word in page.extract_words(keep_blank_chars=False, extra_attrs=["size"]):
                rows[round(word["top"])].append(word)
            for top in sorted(rows):
                words = sorted(rows[top], key=lambda w: w["x0"])
                lines.append((number, " ".join(w["text"] for w in words), words))
    return lines


def phrases(words: list[dict]) -> list[str]:
    """A line's words grouped by the cell they sit in (a wider gap than a space starts another)."""
    found, current, right = [], [], None
    for word in words:
        if right is not None and word["x0"] - right > CELL_GAP:
            found.append(" ".join(current))
            current = []
        current.append(word["text"])
        right = word["x1"]
    return [*found, " ".join(current)] if current else found


def printed_cells(book: Path) -> tuple[list[str], set[str]]:
    """Texts of the printed cells that have Chinese, and the English headers (the row under the Chinese)."""
    mixed, english_headers = [], set()
    workbook = load_workbook(book)
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str):
                    continue
                if cell.style == "zt_head_en":
                    english_headers.add(_squeeze(cell.value))
                elif CJK.search(cell.value):
                    mixed.append(_squeeze(cell.value))
        mixed.extend(_squeeze(t) for t in (ws.oddHeader.left.text, ws.oddHeader.right.text, ws.oddFooter.left.text)
                     if t)
    return mixed, english_headers


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_nothing_is_printed_under_nine_points(printed):
    import pdfplumber

    small = defaultdict(int)
    with pdfplumber.open(printed[1]) as document:
        assert len(document.pages) > 5
        for number, page in enumerate(document.pages, start=1):
            for char in page.chars:
                if char["size"] < SMALLEST_SIZE - 0.05:
                    small[(number, round(char["size"], 2))] += 1
    assert not small, f"text under {SMALLEST_SIZE} pt (page, size: characters): {dict(small)}"


def test_no_printed_text_is_english_only(printed):
    mixed, english_headers = printed_cells(printed[0])
    corpus = "\n".join(mixed)
    found = []
    for page, _line, words in pdf_lines(printed[1]):
        for phrase in phrases(words):
            if CJK.search(phrase) or not LATIN_WORD.search(phrase) or CODE.match(phrase):
                continue
            squeezed = _squeeze(phrase)
            if squeezed in corpus or any(squeezed in header for header in english_headers):
                continue
            found.append((page, phrase))
    assert not found, f"English-only text printed (page, text): {found[:20]}"


def test_the_english_only_notes_of_the_data_stay_off_the_printed_pages(printed, seed_db_url):
    """The manifest's date notes and the taxonomy's definitions are English: the print shows their Chinese."""
    text = "\n".join(line for _page, line, _words in pdf_lines(printed[1]))
    for english in ("estimated from content", "All talent resources of the locality", "each row names its own"):
        assert english not in text
    for chinese in ("清单所列日期（据内容估计）", "本地人才资源总数", "来源未注明"):
        assert chinese in text


def test_the_printed_pages_show_the_formulas_results_and_the_checks_verdict(printed):
    text = "\n".join(line for _page, line, _words in pdf_lines(printed[1]))
    assert "人均指标：每万常住人口" in text and "2,311.43" in text
    assert "核对：报道数字与统计数字" in text and "-1.5%" in text
