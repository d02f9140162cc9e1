"""`python -m etl add URL|FILE …` against a real HTTP server on 127.0.0.1 serving what newspaper sites serve:
an article page among menus, related-article lists and ads, an e-paper page of several stories, a PDF with
Chinese text, a Word file; and what must not be brought in."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from etl.jobs.cli import main
from etl.paths import RAW_DIR
from tests.documents import docx_bytes, epaper_page, news_page, pdf_bytes
from tests.refresh_workspace import Workspace

SEED = RAW_DIR / "001_c97fb4016c467cf9.txt"
TITLE = "激活人才引擎 赋能城市发展"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return "127.0.0.1", 0  # the loopback address itself, any free port


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    text = SEED.read_text(encoding="utf-8")
    page = news_page(text, TITLE, "2024-03-05", "嘉兴日报", "https://www.cnjxol.com/news/2024/03/05/a1.html")
    httpserver.expect_request("/news/page.html").respond_with_data(page, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/old.html").respond_with_data("", status=301,
                                                             headers={"Location": httpserver.url_for("/news/page.html")})
    httpserver.expect_request("/paper/2024-03/05/node_5.htm").respond_with_data(
        epaper_page(text, "嘉兴日报", "2024年03月05日"), content_type="text/html; charset=utf-8")
    httpserver.expect_request("/files/paper.pdf").respond_with_data(pdf_bytes(text, title=TITLE),
                                                                    content_type="application/pdf")
    httpserver.expect_request("/files/report.docx").respond_with_data(docx_bytes(text), content_type=DOCX)
    httpserver.expect_request("/logo.png").respond_with_data(b"\x89PNG\r\n\x1a\n", content_type="image/png")
    httpserver.expect_request("/missing.html").respond_with_data("页面不存在", status=404, content_type="text/html")
    return httpserver


def add(ws: Workspace, *args: str) -> int:
    return main(["add", *args, "--raw", str(ws.raw), "--curated", str(ws.curated), "--db", ws.db_url,
                 "--corrections", str(ws.corrections), "--no-export"])


def manifest(ws: Workspace) -> dict[str, dict[str, str]]:
    with (ws.raw / "manifest.csv").open(encoding="utf-8-sig") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def test_the_command_adds_a_page_with_its_title_date_outlet_and_url(ws: Workspace, site: HTTPServer) -> None:
    url = site.url_for("/news/page.html")
    process = ws.cli("add", url)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    article = ws.table("articles").set_index("url").loc[url]
    assert (article["title"], article["published"], article["published_source"], article["outlet"]) == (
        TITLE, "2024-03-05", "metadata", "嘉兴日报")
    seed_facts = (ws.facts()["article_id"] == SEED.stem).sum()
    assert article["n_facts"] == seed_facts > 30
    saved = ws.raw / article["file"]
    assert saved.read_bytes() == site.log[0][1].get_data() and saved.suffix == ".html"
    assert manifest(ws)[saved.name]["url"] == url and manifest(ws)[saved.name]["title"] == TITLE
    assert "嘉兴日报" in err and "网页或文件自带的元数据" in err, "the command says what it found and where"


def test_the_address_after_redirects_is_recorded(ws: Workspace, site: HTTPServer) -> None:
    assert add(ws, site.url_for("/old.html")) == 0
    urls = ws.table("articles")["url"].tolist()
    assert site.url_for("/news/page.html") in urls and site.url_for("/old.html") not in urls


def test_an_epaper_page_a_pdf_and_a_word_file_in_one_go(ws: Workspace, site: HTTPServer) -> None:
    urls = [site.url_for(p) for p in ("/paper/2024-03/05/node_5.htm", "/files/paper.pdf", "/files/report.docx")]
    assert add(ws, *urls) == 0
    articles = ws.table("articles").set_index("url")
    seed_facts = (ws.facts()["article_id"] == SEED.stem).sum()
    assert articles.loc[urls, "n_facts"].tolist() == [seed_facts] * 3
    assert articles.loc[urls, "format"].tolist() == ["html", "pdf", "docx"]
    assert articles.loc[urls[0], ["published", "published_source"]].tolist() == ["2024-03-05", "url"]
    assert articles.loc[urls[1], "title"] == TITLE, "the PDF's own Title"
    assert set(ws.table("article_texts")["article_id"]) == set(articles.loc[urls, "article_id"])


def test_adding_the_same_address_again_changes_nothing(ws: Workspace, site: HTTPServer) -> None:
    url = site.url_for("/news/page.html")
    assert add(ws, url) == 0
    before = (ws.raw / "manifest.csv").read_bytes()
    assert add(ws, url) == 0
    assert (ws.raw / "manifest.csv").read_bytes() == before
    assert ws.runs()["outcome"].tolist()[-1] == "nothing_new"


@pytest.mark.parametrize(("path", "words"), [("/logo.png", "image/png"), ("/missing.html", "404"),
                                             ("/news/page.html", "over the limit")])
def test_what_is_not_an_article_is_not_saved(ws: Workspace, site: HTTPServer, path: str, words: str,
                                             capsys) -> None:
    files = sorted(p.name for p in ws.raw.iterdir())
    limit = ["--max-article-mb", "0.0002"] if "limit" in words else []  # 10 kB pages
    assert add(ws, site.url_for(path), *limit) == 1
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in ws.raw.iterdir()) == files


def test_only_web_addresses_are_fetched(ws: Workspace, capsys) -> None:
    assert add(ws, "file:///etc/passwd", "ftp://example.org/a.txt") == 1
    assert capsys.readouterr().err.count("only http:// and https://") == 2


def test_a_file_is_copied_in_with_its_row_and_the_users_values(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "转发稿.docx"
    source.write_bytes(docx_bytes(SEED.read_text(encoding="utf-8"), title="激活人才引擎"))
    assert add(ws, str(source), "--published", "2024年3月5日", "--region", "嘉兴市", "--outlet", "嘉兴日报") == 0
    assert (ws.raw / source.name).read_bytes() == source.read_bytes()
    row = manifest(ws)[source.name]
    assert (row["title"], row["published"], row["primary_region"], row["outlet"]) == (
        "激活人才引擎", "2024年3月5日", "嘉兴市", "嘉兴日报")
    article = ws.table("articles").set_index("file").loc[source.name]
    assert (article["published"], article["published_source"]) == ("2024-03-05", "manifest")
    other = tmp_path / "other" / source.name
    other.parent.mkdir()
    other.write_bytes(docx_bytes("另一篇"))
    assert add(ws, str(other)) == 1, "a different file of the same name is not overwritten"
    assert (ws.raw / source.name).read_bytes() == source.read_bytes()
