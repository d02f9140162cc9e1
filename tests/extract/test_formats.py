"""Reading article files of each kind: plain text in any of its encodings, saved web pages, PDFs and Word
files, each with the same facts as the plain text of the same article, and the files that hold none."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from etl.extract.documents import Unreadable
from etl.extract.facts import extract_article
from etl.extract.formats import decode_article, read_document
from etl.extract.indicators import load_taxonomy
from etl.extract.pdf_layout import PdfLine, page_text
from etl.extract.regions import load_gazetteer
from etl.extract.sources import ManifestRow, article_from, parse_manifest
from etl.paths import RAW_DIR
from tests.documents import docx_bytes, epaper_page, news_page, pdf_bytes, scanned_pdf_bytes

SEEDS = sorted(p.name for p in RAW_DIR.glob("*.txt"))
MANIFEST, _ = parse_manifest((RAW_DIR / "manifest.csv").read_text(encoding="utf-8"))


def seed_text(name: str) -> str:
    return (RAW_DIR / name).read_text(encoding="utf-8")


def figures(name: str, document) -> Counter:
    """What an article's facts say, without where in the text they sit: value, unit, qualifier, region,
    period and indicator."""
    article = article_from(name, document, MANIFEST[name])
    return Counter((f.value, f.value_high, f.unit, f.qualifier, f.region_code, f.period_start, f.period_end,
                    f.period_kind, f.indicator_code) for f in extract_article(article, load_gazetteer(), load_taxonomy()))


def as_text(name: str) -> Counter:
    return figures(name, read_document(name, (RAW_DIR / name).read_bytes()))


# --- plain text -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_article_as_notepad_saves_it_reads_as_its_text(encoding: str) -> None:
    text = seed_text(SEEDS[1])
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    decoded, found = decode_article(bom + text.encode(encoding))
    assert (decoded, found) == (text, "utf-16")


def test_bytes_behind_a_utf16_mark_that_are_not_text_are_refused() -> None:
    with pytest.raises(Unreadable, match="unreadable") as caught:
        decode_article(b"\xff\xfe" + bytes([0xFD, 0x81, 0xFF, 0xFE]) * 20)
    assert caught.value.reason == "unreadable"


# --- web pages ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SEEDS)
def test_a_news_page_gives_the_facts_of_the_plain_text(name: str) -> None:
    page = news_page(seed_text(name), "标题", "2024-03-05", "嘉兴日报", "https://www.cnjxol.com/a/1.html")
    document = read_document("page.html", page.encode("utf-8"))
    assert figures(name, document) == as_text(name)


def test_a_news_page_loses_its_navigation_lists_and_ads_and_keeps_its_metadata() -> None:
    page = news_page(seed_text(SEEDS[1]), "激活人才引擎 赋能城市发展", "2024-03-05", "嘉兴日报",
                     "https://www.cnjxol.com/news/2024/03/05/a1.html")
    document = read_document("page.html", page.encode("utf-8"))
    assert "新增就业大学生1.8万人" in document.text
    for clutter in ("广告", "相关新闻", "栏目3", "举报电话", "首付"):
        assert clutter not in document.text
    assert (document.format, document.title, document.outlet, document.published, document.url) == (
        "html", "激活人才引擎 赋能城市发展", "嘉兴日报", date(2024, 3, 5), "https://www.cnjxol.com/news/2024/03/05/a1.html")


def test_an_epaper_page_keeps_every_story_on_it() -> None:
    name = SEEDS[1]  # seven localities' stories under one page headline
    document = read_document("node_5.htm", epaper_page(seed_text(name), "嘉兴日报", "2024年03月05日").encode("utf-8"))
    for heading in ("秀洲:筑就青年人才梦想之城", "桐乡:飞越五城绘好招商图", "海宁:“风车茉莉”香飘全国"):
        assert heading in document.text
    assert figures(name, document) == as_text(name)
    assert document.published is None, "a date in the page's text is not its metadata: the run infers it"


def test_a_page_in_gbk_reads_as_chinese() -> None:
    page = news_page("截至目前，桐乡市技能人才总量达20.5万人。", "桐乡", "2024-03-05", "桐乡新闻网", "http://x.cn/a.html")
    document = read_document("a.html", page.replace('charset="utf-8"', 'charset="gbk"').encode("gbk"))
    assert "桐乡市技能人才总量达20.5万人" in document.text


def test_an_index_page_of_headlines_is_not_an_article() -> None:
    items = "".join(f'<li><a href="/r{i}.html">某县召开人才工作会议，新引进人才{i * 100 + 7}名</a> '
                    f"<span>2024-03-0{i % 9 + 1}</span></li>" for i in range(20))
    page = (f'<html><head><meta charset="utf-8"><title>人才频道</title></head><body><nav><a href="/">首页</a>'
            f'<a href="/n">新闻</a></nav><ul class="list">{items}</ul><footer>版权所有</footer></body></html>')
    with pytest.raises(Unreadable, match="list of links") as caught:
        read_document("index.html", page.encode("utf-8"))
    assert caught.value.reason == "no_article"


def test_a_page_without_text_holds_no_article() -> None:
    with pytest.raises(Unreadable, match="empty"):
        read_document("blank.html", b"<html><head><script>var a = 1;</script></head><body><img src='a.png'></body></html>")


# --- PDF and Word -----------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", [SEEDS[2], SEEDS[4]])
def test_a_pdf_gives_the_facts_of_the_plain_text(name: str) -> None:
    document = read_document("a.pdf", pdf_bytes(seed_text(name), title="人才领杭"))
    assert (document.format, document.title) == ("pdf", "人才领杭")
    assert figures(name, document) == as_text(name)


def test_a_scanned_pdf_has_no_text_layer() -> None:
    with pytest.raises(Unreadable, match="scanned image") as caught:
        read_document("scan.pdf", scanned_pdf_bytes())
    assert caught.value.reason == "no_text_layer"


@pytest.mark.parametrize("name", SEEDS)
def test_a_word_file_gives_the_facts_of_the_plain_text(name: str) -> None:
    document = read_document("a.docx", docx_bytes(seed_text(name), title="标题"))
    assert (document.format, document.title) == ("docx", "标题")
    assert figures(name, document) == as_text(name)


def test_a_word_table_reads_as_rows_of_cells_in_place() -> None:
    table = [["地区", "技能人才（万人）"], ["桐乡市", "20.5"], ["海宁市", "18.2"]]
    document = read_document("a.docx", docx_bytes("2023年各地技能人才情况如下。", table=table))
    assert document.text.endswith("地区 | 技能人才（万人）\n桐乡市 | 20.5\n海宁市 | 18.2")
    facts = extract_article(article_from("a.docx", document, ManifestRow("a.docx", published=date(2024, 3, 1),
                                                                         published_precision="day")),
                            load_gazetteer(), load_taxonomy())
    assert {(f.region_name, f.value) for f in facts} >= {("桐乡市", 205000.0), ("海宁市", 182000.0)}


@pytest.mark.parametrize(("name", "data"), [("a.pdf", b"%PDF-1.4 broken"), ("a.docx", b"PK\x03\x04 not a zip"),
                                            ("a.pdf", b"plain text named .pdf")])
def test_a_broken_pdf_or_word_file_is_unreadable(name: str, data: bytes) -> None:
    with pytest.raises(Unreadable, match="unreadable"):
        read_document(name, data)


@pytest.mark.parametrize(("name", "hint"), [("a.doc", "save it as .docx"), ("stats.xlsx", "data/raw/statistics"),
                                            ("photo.jpg", "OCR"), ("README", "no file extension"),
                                            ("a.rtf", ".rtf files are not articles")])
def test_a_file_of_another_kind_says_what_to_do(name: str, hint: str) -> None:
    with pytest.raises(Unreadable, match="unknown_format") as caught:
        read_document(name, b"anything")
    assert hint in str(caught.value) and ".docx" in str(caught.value)


# --- a PDF page's lines back into paragraphs ---------------------------------------------------------------------

def line(text: str, left: float, right: float, bottom: float) -> PdfLine:
    return PdfLine(text, left, right, bottom, bottom + 10)


def test_the_lines_of_a_paragraph_are_joined_again_and_a_number_across_a_break_is_whole() -> None:
    lines = [line("　　截至目前，示范区已打通专技人才资格互认3", 52, 560, 700),  # indented first line, full
             line("88人。新引进人才1,2", 30, 560, 680),  # ends with 。 mid-line, fills the column
             line("00名。", 30, 90, 660),  # ends short: the paragraph ends
             line("下一段", 52, 200, 640)]
    assert page_text(lines) == "　　截至目前，示范区已打通专技人才资格互认388人。新引进人才1,200名。\n下一段"


def test_a_wider_gap_or_another_column_is_a_blank_line_and_latin_words_keep_their_space() -> None:
    lines = [line("第一段第一行", 30, 560, 700), line("第一段第二行。", 30, 300, 680),
             line("Talent week", 30, 560, 640), line("opens today.", 30, 200, 620),
             line("右栏第一行", 320, 560, 700)]
    assert page_text(lines) == "第一段第一行第一段第二行。\n\nTalent week opens today.\n\n右栏第一行"


def test_teasers_in_articles_of_their_own_are_not_stories_of_the_page() -> None:
    teasers = "".join(f'<article class="teaser"><a href="/t{i}.html">相关：某县召开人才工作会议，新引进人才{i}07名，'
                      f"引进博士{i}名</a></article>" for i in range(1, 6))
    page = news_page(seed_text(SEEDS[1]), "激活人才引擎 赋能城市发展", "2024-03-05", "嘉兴日报", "https://x.cn/a.html")
    document = read_document("page.html", page.replace("<aside>", f"<aside>{teasers}").encode("utf-8"))
    assert "新引进人才107名" not in document.text
    assert figures(SEEDS[1], document) == as_text(SEEDS[1])
