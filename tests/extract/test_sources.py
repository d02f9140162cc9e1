"""Reading articles: encodings, line endings, bad files, broken manifest rows and duplicates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from etl.extract.sources import (
    content_hash,
    decode_article,
    infer_published,
    load_articles,
    parse_manifest,
    parse_published,
)
from etl.jobs.refresh import run
from etl.store.schema import make_engine

SEED = "001_c97fb4016c467cf9.txt"


def seed_text(raw: Path) -> str:
    return (raw / SEED).read_text(encoding="utf-8")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_decodes_each_supported_encoding(raw_copy: Path, encoding: str) -> None:
    text = seed_text(raw_copy)
    decoded, _ = decode_article(text.encode(encoding))
    assert decoded == text


def test_crlf_article_has_same_hash_as_lf() -> None:
    assert content_hash("嘉兴\r\n人才\r\n") == content_hash("嘉兴\n人才\n")


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"), (b"  \n\r\n ", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (bytes([0xFF, 0xFE, 0xFD, 0x81]) * 10, "unreadable"),
])
def test_bad_bytes_are_refused_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_article(data)


def test_published_formats() -> None:
    assert parse_published("2024-10") == (date(2024, 10, 1), "month")
    assert parse_published("2024-10-26") == (date(2024, 10, 26), "day")
    with pytest.raises(ValueError, match="not YYYY"):
        parse_published("Oct 2024")


def test_malformed_manifest_rows_are_named() -> None:
    manifest = "file,title,outlet,published,published_note,primary_region\n" \
               "a.txt,A,,2024-10,,嘉兴市\n" \
               "b.txt,B,,十月,,嘉兴市\n" \
               "c.txt,C,,2024-10,,嘉兴市,extra\n" \
               "a.txt,A again,,2024-11,,嘉兴市\n"
    rows, problems = parse_manifest(manifest)
    assert list(rows) == ["a.txt"]
    reasons = {(p.file, p.reason) for p in problems}
    assert ("manifest.csv line 3", "manifest_row_malformed") in reasons
    assert ("manifest.csv line 4", "manifest_row_malformed") in reasons
    assert ("manifest.csv line 5", "manifest_row_duplicate") in reasons
    assert any("b.txt" in p.detail for p in problems)


def test_infers_publication_month_from_text() -> None:
    assert infer_published("2023年，去年8月……2024年1至8月", today=date(2026, 1, 1)) == date(2024, 8, 1)


def test_bad_batch_sets_aside_bad_inputs_and_keeps_good_ones(raw_copy: Path, tmp_path: Path) -> None:
    text = seed_text(raw_copy)
    (raw_copy / "gbk_article.txt").write_bytes(
        "桐乡新闻\n\n截至目前，桐乡市技能人才总量达20.5万人，高技能人才6.1万人。\n".encode("gbk"))
    (raw_copy / "empty.txt").write_bytes(b"")
    (raw_copy / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (raw_copy / "copy_of_001.txt").write_bytes(text.replace("\n", "\r\n").encode("gb18030"))
    with (raw_copy / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write('broken.txt,"unterminated,,2024-10\n')
    curated = tmp_path / "curated"
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    summary = run(raw_copy, curated, db)

    engine = make_engine(db)
    rejected = pd.read_sql_table("rejected_inputs", engine)
    by_file = dict(zip(rejected["file"], rejected["reason"], strict=True))
    assert by_file["empty.txt"] == "empty"
    assert by_file["picture.txt"] == "binary"
    assert by_file["copy_of_001.txt"] == "duplicate"
    assert any(r.startswith("manifest") for r in rejected["reason"])
    assert all(r.detail for r in summary.rejections)

    articles = pd.read_sql_table("articles", engine).set_index("article_id")
    assert len(articles[articles["file"].str.endswith(".txt")]) == 6
    gbk = articles.loc["gbk_article"]
    assert gbk["encoding"] == "gb18030"
    assert gbk["published_source"] == "inferred"
    facts = pd.read_sql_table("facts", engine)
    gbk_facts = facts[facts["article_id"] == "gbk_article"].set_index("indicator_code")
    assert gbk_facts.loc["skilled_talent_total", "value"] == 205000
    assert gbk_facts.loc["skilled_talent_total", "region_name"] == "桐乡市"
    assert gbk_facts.loc["high_skilled_total", "value"] == 61000
    assert (facts["article_id"] == "copy_of_001").sum() == 0
    assert (curated / "facts.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_loader_reports_manifest_rows_without_files(raw_copy: Path) -> None:
    with (raw_copy / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write("missing.txt,Gone,,2024-01,,嘉兴市\n")
    result = load_articles(raw_copy)
    assert [r.reason for r in result.rejections] == ["manifest_file_missing"]
    assert len(result.articles) == 5
