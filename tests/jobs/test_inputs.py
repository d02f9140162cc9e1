"""The raw folder as people fill it, through a real run into a real database: the same article as a text
file, a web page, a PDF and a Word file gives the same facts; what is not an article (a spreadsheet, a link
to a system file, a file too big, a scanned PDF, a pipe, a folder) is listed with its reason and never read;
and the text every fact points into is kept, beside the hash of the file it was read from."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from etl.extract.sources import InputLimits, content_hash, decode_article
from etl.jobs.refresh import run
from etl.paths import RAW_DIR
from etl.vocabulary import PUBLISHED_SOURCE_LABELS, PUBLISHED_SOURCES
from tests.documents import docx_bytes, news_page, pdf_bytes, scanned_pdf_bytes
from tests.refresh_workspace import Workspace

SEED = "004_18573059e82e9a66.txt"
FORMATS = {"004_page.html": "html", "004_paper.pdf": "pdf", "004_word.docx": "docx"}
NOTEPAD = "截至目前，桐乡市技能人才总量达20.5万人，高技能人才6.1万人。\r\n"
FIGURE = ["value", "value_high", "unit", "qualifier", "region_code", "period_start", "period_end", "period_kind",
          "indicator_code"]


def seed_row() -> dict[str, str]:
    with (RAW_DIR / "manifest.csv").open(encoding="utf-8") as handle:
        return next(r for r in csv.DictReader(handle) if r["file"] == SEED)


def add_formats(raw: Path) -> None:
    """The seed article as a news site's page, a PDF and a Word file, with the seed's manifest row each."""
    text, row = (RAW_DIR / SEED).read_text(encoding="utf-8"), seed_row()
    (raw / "004_page.html").write_text(news_page(text, row["title"], "2024-09-27", "杭州日报",
                                                 "https://hzdaily.hangzhou.com.cn/2024/09/27/a1.html"), encoding="utf-8")
    (raw / "004_paper.pdf").write_bytes(pdf_bytes(text, title=row["title"]))
    (raw / "004_word.docx").write_bytes(docx_bytes(text))
    with (raw / "manifest.csv").open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for name in FORMATS:
            writer.writerow([name, row["title"], "", row["published"], row["published_note"], row["primary_region"]])


def add_bad_inputs(raw: Path) -> None:
    (raw / "notes.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    os.symlink("/etc/passwd", raw / "passwd.txt")
    os.symlink("/etc/passwd", raw / "statistics" / "passwd.csv")
    (raw / "huge.txt").write_text("人才是第一资源。" * 210_000, encoding="utf-8")  # 5 MB on one line
    (raw / "scan.pdf").write_bytes(scanned_pdf_bytes())
    os.mkfifo(raw / "pipe.txt")
    (raw / "old").mkdir()
    (raw / "old" / "a.txt").write_text("人才", encoding="utf-8")
    (raw / "notepad.txt").write_bytes(b"\xff\xfe" + NOTEPAD.encode("utf-16-le"))  # Notepad's "Unicode"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("mixed")
    raw = base / "raw"
    shutil.copytree(RAW_DIR, raw)
    add_formats(raw)
    add_bad_inputs(raw)
    db_url = f"sqlite:///{base / 'talent.sqlite'}"
    summary = run(raw, base / "curated", db_url)
    with create_engine(db_url).connect() as conn:
        tables = {name: pd.read_sql(text(f"SELECT * FROM {name}"), conn)
                  for name in ("articles", "facts", "article_texts", "rejected_inputs")}
    return {"raw": raw, "summary": summary, **tables}


def figures(facts: pd.DataFrame, article_id: str) -> Counter:
    rows = facts.loc[facts["article_id"] == article_id, FIGURE].astype(object)
    return Counter(map(tuple, rows.where(rows.notna(), None).to_numpy().tolist()))


def test_the_same_article_as_text_page_pdf_and_word_file_gives_the_same_facts(mixed: dict) -> None:
    facts = mixed["facts"]
    expected = figures(facts, SEED.removesuffix(".txt"))
    assert sum(expected.values()) > 20
    for name in FORMATS:
        assert figures(facts, Path(name).stem) == expected, name


def test_what_is_not_an_article_is_listed_with_its_reason_and_never_read(mixed: dict) -> None:
    rejected = mixed["rejected_inputs"].set_index("file")
    expected = {"notes.xlsx": ("unknown_format", "statistics"), "passwd.txt": ("not_regular_file", "symbolic link"),
                "huge.txt": ("too_large", "5.0 MB"), "scan.pdf": ("no_text_layer", "scanned image"),
                "pipe.txt": ("not_regular_file", "named pipe"), "old": ("not_regular_file", "folder"),
                "statistics/passwd.csv": ("not_regular_file", "symbolic link")}
    for file, (reason, words) in expected.items():
        assert rejected.loc[file, "reason"] == reason, file
        assert words in rejected.loc[file, "detail"], rejected.loc[file, "detail"]
    for table in ("articles", "facts", "rejected_inputs"):
        frame = mixed[table].astype(str)
        assert not frame.apply(lambda column: column.str.contains("root:x:0")).any().any(), table


def test_the_good_files_land_each_with_its_kind_and_encoding(mixed: dict) -> None:
    articles = mixed["articles"].set_index("article_id")
    assert {Path(f).stem for f in FORMATS} | {p.stem for p in RAW_DIR.glob("*.txt")} | {"notepad"} <= set(articles.index)
    for name, kind in FORMATS.items():
        assert articles.loc[Path(name).stem, "format"] == kind
    assert articles.loc["notepad", ["format", "encoding", "n_facts"]].tolist() == ["txt", "utf-16", 2]
    assert articles.loc["004_page", "url"] == "https://hzdaily.hangzhou.com.cn/2024/09/27/a1.html"
    assert articles.loc["004_page", "published_source"] == "manifest", "the manifest row wins over the page's date"
    assert set(articles["published_source"]) <= set(PUBLISHED_SOURCES) == set(PUBLISHED_SOURCE_LABELS)


def test_every_fact_can_be_checked_against_the_text_it_was_read_from(mixed: dict) -> None:
    articles, facts = mixed["articles"], mixed["facts"]
    kept = mixed["article_texts"].set_index("article_id")
    assert set(kept.index) == {Path(f).stem for f in FORMATS}, "a text file is its own text"
    for article in articles[articles["published_source"] != "statistics"].itertuples():
        data = (mixed["raw"] / article.file).read_bytes()
        assert article.raw_sha256 == hashlib.sha256(data).hexdigest()
        if article.format == "txt":
            body = decode_article(data)[0]
        else:
            body = kept.loc[article.article_id, "text"]
            assert kept.loc[article.article_id, "raw_sha256"] == article.raw_sha256
        assert content_hash(body) == article.sha256
        own = facts[facts["article_id"] == article.article_id]
        assert [body[s:e] for s, e in zip(own["char_start"], own["char_end"], strict=True)] == own["number_text"].tolist()


def test_a_refresh_keeps_and_drops_the_kept_text_with_its_article(ws: Workspace) -> None:
    text = (ws.raw / SEED).read_text(encoding="utf-8")
    (ws.raw / "extra.docx").write_bytes(docx_bytes(text.replace("拱墅", "余杭")))
    assert ws.refresh().articles_added == 1
    assert ws.table("article_texts")["article_id"].tolist() == ["extra"]
    os.symlink("/etc/hostname", ws.raw / "link.html")
    (ws.raw / "extra.docx").unlink()
    summary = ws.refresh()
    assert summary.articles_removed == 1 and ws.table("article_texts").empty
    assert {r.file: r.reason for r in summary.rejections}["link.html"] == "not_regular_file"


def test_the_size_limit_can_be_raised(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "long.txt").write_text("2023年，桐乡市技能人才总量达20.5万人。" + "人才是第一资源。" * 120_000, encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    summary = run(raw, tmp_path / "curated", db_url, limits=InputLimits(1))
    found = [r for r in summary.rejections if r.file == "long.txt"]
    assert [r.reason for r in found] == ["too_large"] and summary.articles_read == 0
    assert "the file is 2.9 MB" in found[0].detail and "1 MB of text" in found[0].detail
    summary = run(raw, tmp_path / "curated", db_url, limits=InputLimits(4))
    assert not [r for r in summary.rejections if r.file == "long.txt"] and summary.articles_read == 1


def test_a_database_from_before_gains_the_new_columns_and_table(ws: Workspace) -> None:
    from etl.jobs.cli import main

    with sqlite3.connect(ws.db_path) as conn:
        for column in ("url", "format", "raw_sha256"):
            conn.execute(f"ALTER TABLE articles DROP COLUMN {column}")
        conn.execute("DROP TABLE article_texts")
        conn.execute("DELETE FROM schema_info")
    assert main(["migrate", "--db", ws.db_url]) == 0
    articles = ws.table("articles")
    assert set(articles["format"]) == {"txt"} and set(articles["url"]) == {""}, "the defaults fill the old rows"
    assert ws.table("article_texts").empty
    assert ws.refresh().outcome == "success"
    assert set(ws.table("articles")["format"]) == {"txt", "csv"}
