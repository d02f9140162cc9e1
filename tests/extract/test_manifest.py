"""The manifest as analysts and other tools write it, and what an article takes from it, from its file and
from its text: title, publication date (and where it came from), outlet and URL."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from etl.extract.documents import Document
from etl.extract.manifest import (
    MANIFEST_COLUMNS,
    guard,
    parse_manifest,
    parse_published,
    resolve_manifest,
    unguard,
    with_row,
)
from etl.extract.sources import TITLE_MAX_CHARS, ManifestRow, article_from, infer_title, url_date
from etl.paths import PROJECT_ROOT

DEV_MANIFEST = PROJECT_ROOT / "tests" / "dev_corpus" / "manifest.csv"


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-10-26", (date(2024, 10, 26), "day")), ("2024/10/26", (date(2024, 10, 26), "day")),
    ("2024.10.26", (date(2024, 10, 26), "day")), ("20241026", (date(2024, 10, 26), "day")),
    ("2024年10月26日", (date(2024, 10, 26), "day")), ("2024-10-26 07:30", (date(2024, 10, 26), "day")),
    ("2024-10-26T07:30:00+08:00", (date(2024, 10, 26), "day")), ("2024-10", (date(2024, 10, 1), "month")),
    ("2024年10月", (date(2024, 10, 1), "month")), ("2024", (date(2024, 1, 1), "year")),
    ("2024年", (date(2024, 1, 1), "year")),
])
def test_the_date_forms_people_write(raw: str, expected: tuple) -> None:
    assert parse_published(raw) == expected


@pytest.mark.parametrize("raw", ["2024-13-01", "2024-02-30", "Oct 2024", "26/10/2024"])
def test_a_date_that_is_none_is_refused_saying_what_to_write(raw: str) -> None:
    with pytest.raises(ValueError, match="2024"):
        parse_published(raw)


def test_url_and_its_other_names_are_the_articles_address() -> None:
    for column in ("url", "source_url", "link"):
        rows, problems = parse_manifest(f"file,{column}\na.html,https://x.cn/a.html\n")
        assert not problems and rows["a.html"].url == "https://x.cn/a.html"


def scorer_value(column: str, article: dict[str, str]) -> str:
    """What a tool that writes manifests by our column names puts in a column: it matches by substring."""
    for words, key in ((("file",), "file"), (("date", "publish"), "date"), (("title",), "title"),
                       (("region",), "region"), (("outlet", "source"), "outlet"), (("url",), "url")):
        if any(word in column for word in words):
            return article[key]
    return ""


def test_a_manifest_written_by_matching_our_column_names_reads_right_with_extra_and_blank_columns() -> None:
    article = {"file": "a.pdf", "date": "2024-10-26", "title": "标题", "region": "嘉善县", "outlet": "嘉兴日报",
               "url": "https://x.cn/a.pdf"}
    header = [*MANIFEST_COLUMNS, "", "remarks"]
    values = [scorer_value(column, article) for column in header]
    out = io.StringIO()
    csv.writer(out).writerows([header, values])
    rows, problems = parse_manifest(out.getvalue())
    assert problems == []
    row = rows["a.pdf"]
    assert (row.file, row.title, row.outlet, row.published, row.primary_region, row.url) == (
        "a.pdf", "标题", "嘉兴日报", date(2024, 10, 26), "嘉善县", "https://x.cn/a.pdf")


def test_the_development_sets_manifest_loads_as_it_is() -> None:
    rows, problems = parse_manifest(DEV_MANIFEST.read_text(encoding="utf-8"))
    assert not problems
    row = rows["xs2022_zhuanji"]
    assert (row.title, row.published, row.url) == ("新增7044人!萧山区专业技术人才达14.5万", date(2022, 2, 8),
                                                   "http://kx.guhantai.com/kx/20220208/12176.html")


def test_an_id_names_its_file_whatever_its_kind_and_rows_without_a_file_are_reported() -> None:
    rows, _ = parse_manifest("id,title\npage,A\nscan,B\nboth,C\ngone,D\nnote.txt,E\n")
    resolved, problems = resolve_manifest(rows, ["page.html", "scan.pdf", "both.txt", "both.docx", "note.txt"], "raw")
    assert {name: row.title for name, row in resolved.items()} == {"page.html": "A", "scan.pdf": "B", "note.txt": "E"}
    assert {(p.file, p.reason) for p in problems} == {("manifest.csv: both", "manifest_row_ambiguous"),
                                                      ("manifest.csv: gone", "manifest_file_missing")}


# --- writing a row (python -m etl add) ---------------------------------------------------------------------------

def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_new_row_is_appended_and_the_rest_kept_as_written() -> None:
    before = "file,title,outlet,published,published_note,primary_region,url\na.txt,\"A, quoted\",,2024-10,,嘉兴市,\n"
    after = with_row(before, {"file": "b.html", "title": "B", "url": "https://x.cn/b.html"})
    assert after.startswith(before)
    assert read(after)[-1] == ["b.html", "B", "", "", "", "", "https://x.cn/b.html"]


def test_a_manifest_without_the_column_gets_it_and_other_names_for_columns_are_kept() -> None:
    before = "id,title,source_url,notes\nold,Old,http://x.cn/old,note\n"
    after = read(with_row(before, {"file": "new.pdf", "title": "New", "url": "http://x.cn/new.pdf", "outlet": "X报"}))
    assert after[0] == ["id", "title", "source_url", "notes", "outlet"]
    assert after[1] == ["old", "Old", "http://x.cn/old", "note", ""]
    assert after[2] == ["new.pdf", "New", "http://x.cn/new.pdf", "", "X报"]
    rows, problems = parse_manifest("\n".join(",".join(r) for r in after))
    assert not problems and rows["new.pdf"].outlet == "X报"


def test_a_files_own_row_keeps_what_the_analyst_wrote_and_gets_its_blanks_filled() -> None:
    before = "file,title,outlet,published,published_note,primary_region,url\npage,我的标题,,,,嘉善县,\n"
    after = read(with_row(before, {"file": "page.html", "title": "页面标题", "outlet": "嘉兴日报"}))
    assert after[1:] == [["page", "我的标题", "嘉兴日报", "", "", "嘉善县", ""]]


def test_no_value_written_can_run_as_a_spreadsheet_formula_and_it_reads_back_as_it_was() -> None:
    title = '=HYPERLINK("http://evil.example","点击")'
    row = read(with_row(None, {"file": "a.html", "title": title}))[1]
    assert row[MANIFEST_COLUMNS.index("title")] == "'" + title
    rows, _ = parse_manifest(with_row(None, {"file": "a.html", "title": title}))
    assert rows["a.html"].title == title
    assert unguard(guard("-6.8‰")) == "-6.8‰" and guard("人才") == "人才"


# --- what an article takes from where -------------------------------------------------------------------------------

TEXT = "嘉兴新闻\n2023年，嘉兴新引进大学生8万人。今年1至8月，又新增5万人。\n"


def published(row: ManifestRow, document: Document) -> tuple:
    article = article_from("a.html", document, row)
    return article.published, article.published_precision, article.published_source


@pytest.mark.parametrize(("row", "document", "expected"), [
    (ManifestRow("a.html", published=date(2024, 9, 1), published_precision="month", url="http://x.cn/2024/08/02/a.html"),
     Document(TEXT, "html", published=date(2024, 8, 30)), (date(2024, 9, 1), "month", "manifest")),
    (ManifestRow("a.html", url="http://x.cn/2024/08/02/a.html"), Document(TEXT, "html", published=date(2024, 8, 30)),
     (date(2024, 8, 30), "day", "metadata")),
    (ManifestRow("a.html", url="http://x.cn/2024/08/02/a.html"), Document(TEXT, "html"),
     (date(2024, 8, 2), "day", "url")),
    (ManifestRow("a.html"), Document(TEXT, "html", url="http://x.cn/html/2024-08/02/content_1.htm"),
     (date(2024, 8, 2), "day", "url")),
    (ManifestRow("a.html", url="http://x.cn/news/12176.html"), Document(TEXT, "html"),
     (date(2023, 8, 1), "month", "inferred")),
])
def test_the_date_comes_from_the_manifest_then_the_files_metadata_then_its_url_then_its_text(row, document, expected):
    assert published(row, document) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("http://kx.guhantai.com/kx/20220208/12176.html", (date(2022, 2, 8), "day")),
    ("https://finance.sina.com.cn/jjxw/2023-10-31/doc-imzsyitq3036410.shtml", (date(2023, 10, 31), "day")),
    ("http://paper.cnjxol.com/jxrb/html/2024-03/05/content_1.htm", (date(2024, 3, 5), "day")),
    ("http://epaper.zjol.com/202403/05/node_5.htm", (date(2024, 3, 5), "day")),
    ("http://www.zj.gov.cn/art/2021/6/8/art_1.html", None),  # 2021/6/8: one-digit month, too loose to trust
    ("http://www.xsnet.cn/2020_subject/2020xnztmb/dongtai/3253673.shtml", None),
    ("http://x.cn/news/202407/", (date(2024, 7, 1), "month")),
    ("http://x.cn/a/2099-01-01/future.html", None),
])
def test_dates_in_urls(url: str, expected) -> None:
    assert url_date(url, today=date(2025, 1, 1)) == expected


def test_title_outlet_and_url_come_from_the_manifest_else_the_file() -> None:
    document = Document(TEXT, "html", title="页面标题", outlet="嘉兴日报", url="https://www.cnjxol.com/a.html")
    from_file = article_from("a.html", document, None)
    assert (from_file.title, from_file.outlet, from_file.url) == ("页面标题", "嘉兴日报", "https://www.cnjxol.com/a.html")
    row = ManifestRow("a.html", title="清单标题", outlet="浙江日报", url="https://zjrb.zjol.com.cn/a.html")
    from_row = article_from("a.html", document, row)
    assert (from_row.title, from_row.outlet, from_row.url) == ("清单标题", "浙江日报", "https://zjrb.zjol.com.cn/a.html")
    bare = article_from("a.pdf", Document(TEXT, "pdf", url=""), ManifestRow("a.pdf", url="http://paper.x.cn/a.pdf"))
    assert (bare.title, bare.outlet) == ("嘉兴新闻", "paper.x.cn"), "first line, and the site the file came from"


def test_a_title_is_capped_and_a_line_too_long_to_be_one_is_read_as_text() -> None:
    line = "嘉兴激活人才引擎，全力打造高素质干部队伍。" + "人才是第一资源，" * 100_000
    assert infer_title(line) == "嘉兴激活人才引擎，全力打造高素质干部队伍。"
    assert len(infer_title("人才" * 1000)) == TITLE_MAX_CHARS
    long_title = article_from("a.txt", Document("正文"), ManifestRow("a.txt", title="标" * 500)).title
    assert len(long_title) == TITLE_MAX_CHARS and long_title.endswith("…")
