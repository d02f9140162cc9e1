"""No CSV file the project writes can run in a spreadsheet: texts that begin with = + - @, a tab or a carriage
return are neutralised in the curated tables and the dashboard's download; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dashboard.repository import Repository
from dashboard.tables import table_csv
from etl.store.cells import neutralise, neutralise_texts
from tests.refresh_workspace import Workspace

TITLE = '=HYPERLINK("http://x","y")'
OUTLET = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(("text", "written"), [
    (TITLE, "'" + TITLE), ("+1+2", "'+1+2"), ("-A1", "'-A1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("-5", "-5"), ("+12.5%", "+12.5%"), ("-1,234.5", "-1,234.5"), ("人才", "人才"), ("", ""), ("a=b", "a=b"),
])
def test_a_text_that_would_run_gets_an_apostrophe_and_a_signed_number_stays(text, written):
    assert neutralise(text) == written


def test_only_text_cells_change_and_numbers_stay_numbers():
    frame = pd.DataFrame({"t": [TITLE, "ok", None], "v": [-1.5, 2.0, None], "n": pd.array([-3, 4, None], "Int64"),
                          "c": pd.Categorical(["-x", "ok", "ok"])})
    out = neutralise_texts(frame)
    assert out["t"].tolist()[:2] == ["'" + TITLE, "ok"] and out["t"].isna().tolist()[2]
    assert out["c"].tolist() == ["'-x", "ok", "ok"]
    pd.testing.assert_series_equal(out["v"], frame["v"])
    pd.testing.assert_series_equal(out["n"], frame["n"])
    assert frame["t"][0] == TITLE, "the caller's frame is left as it was"
    plain = frame[["v", "n"]]
    assert neutralise_texts(plain) is plain, "nothing to change: no copy"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Workspace:
    """The seed articles plus one whose manifest gives a title and an outlet that are spreadsheet formulas."""
    ws = Workspace(tmp_path_factory.mktemp("hostile"))
    source = ws.seed_files()[0]
    shutil.copy(source, ws.raw / "900_formula.txt")
    with (ws.raw / "900_formula.txt").open("a", encoding="utf-8") as fh:
        fh.write("\n附记 900\n")
    with (ws.raw / "manifest.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(["900_formula.txt", TITLE, OUTLET, "2024-10", "", "嘉兴市"])
    ws.run()
    return ws


def _open_in_libreoffice(files: list[Path], out: Path) -> dict[str, openpyxl.Workbook]:
    """Each CSV file as LibreOffice Calc reads it (UTF-8, comma-separated), saved as xlsx and read back."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc)")
    subprocess.run(["soffice", f"-env:UserInstallation=file://{out / 'profile'}", "--headless",
                    "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(out), *map(str, files)],
                   check=True, capture_output=True, timeout=300)
    return {f.stem: openpyxl.load_workbook(out / f"{f.stem}.xlsx") for f in files}


def _cells(workbook: openpyxl.Workbook, header: str) -> list:
    sheet = workbook.active
    names = [c.value for c in sheet[1]]
    return [row[names.index(header)] for row in sheet.iter_rows(min_row=2)]


@pytest.mark.slow
def test_an_article_titled_as_a_formula_opens_as_text_in_libreoffice(hostile, tmp_path):
    articles = pd.read_csv(hostile.curated / "articles.csv", dtype=str, encoding="utf-8-sig")
    assert "'" + TITLE in set(articles["title"]) and "'" + OUTLET in set(articles["outlet"])

    repo = Repository(hostile.db_url)
    snap = repo.snapshot(max_age=0)
    download = tmp_path / "download.csv"
    download.write_bytes(table_csv(snap.facts[snap.facts["article_id"] == "900_formula"]))
    rows = list(csv.DictReader(io.StringIO(download.read_text(encoding="utf-8-sig"))))
    assert rows and {r["文章 Article"] for r in rows} == {"'" + TITLE}

    opened = _open_in_libreoffice([hostile.curated / "articles.csv", hostile.curated / "facts.csv", download],
                                  tmp_path)
    titles = [c for c in _cells(opened["articles"], "title") if "HYPERLINK" in str(c.value)]
    outlets = [c for c in _cells(opened["articles"], "outlet") if "calc" in str(c.value)]
    shown = [c for c in _cells(opened["download"], "文章 Article") if "HYPERLINK" in str(c.value)]
    assert titles and outlets and shown
    assert {c.data_type for c in titles + outlets + shown} == {"s"}, "text, not a formula"
    assert {c.value for c in titles + shown} == {"'" + TITLE}
    values = [c for c in _cells(opened["facts"], "value") if c.value is not None]
    assert values and {c.data_type for c in values} == {"n"}, "numbers stay numbers"
    exact = [c for c in _cells(opened["download"], "精确值 Exact value") if c.value is not None]
    assert exact and {c.data_type for c in exact} == {"n"}


def test_the_curated_files_hold_no_cell_a_spreadsheet_would_run(hostile):
    for path in sorted(hostile.curated.glob("*.csv")):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
            assert all(neutralise(cell) == cell for cell in row), (path.name, row)
