"""Article files as people bring them, made by the tests from an article's text: a news site's page (with its
navigation, related-article lists and ads), an e-paper page holding several stories, a PDF with a Chinese
text layer (fpdf2 with an embedded Noto CJK font), a scanned PDF (a picture, no text) and a Word file."""

from __future__ import annotations

import functools
import html
import io
import re
from pathlib import Path

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_INDEX = 2  # Noto Sans CJK SC in the collection
STORY_HEADING = re.compile(r"^[^:：]{2,6}[:：]")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<h2>{html.escape(line.lstrip('#').strip())}</h2>" if line.startswith("#")
                   else f"<p>{html.escape(line)}</p>" for line in lines)


def news_page(text: str, title: str, published: str, site: str, url: str) -> str:
    """A news site's article page: header navigation, a banner ad, the story, a related-articles list with
    figures of its own, another ad and a footer; title, date, site and canonical address in its metadata."""
    nav = "".join(f'<li><a href="/col{i}.html">栏目{i} 新闻中心</a></li>' for i in range(12))
    related = "".join(f'<li><a href="/r{i}.html">相关新闻：某县召开人才工作会议，新引进人才{i * 100 + 7}名</a></li>'
                      for i in range(8))
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(title)}_{site}</title>
<meta property="og:title" content="{html.escape(title)}"><meta property="og:site_name" content="{site}">
<meta name="publishdate" content="{published}">
<meta property="article:published_time" content="{published}T07:30:00+08:00">
<link rel="canonical" href="{url}"></head><body>
<header><div class="logo">{site}</div><nav><ul>{nav}</ul></nav><div class="search">搜索</div></header>
<div class="ad banner"><a href="/ad">广告：买房就到XX楼盘，首付仅需30万元</a></div>
<div class="crumbs">首页 &gt; 新闻 &gt; 本地</div>
<main><article><h1>{html.escape(title)}</h1>
<div class="info"><span class="time">{published} 07:30</span> 来源：{site} 编辑：王某</div>
<div class="content">{_paragraphs(_lines(text))}</div><div class="share">分享到：微信 微博</div></article>
<aside><h3>相关阅读</h3><ul>{related}</ul><div class="ad">广告位招租 每月5000元 热线0573-12345678</div></aside>
</main><footer><p>版权所有 2024 {site} 浙ICP备12345678号</p><p>举报电话：0573-88888888</p></footer>
</body></html>"""


def epaper_page(text: str, paper: str, day: str) -> str:
    """An e-paper page: the page list and the headline list beside the page's stories, each in an
    <article> of its own (a story starts at a locality heading such as 秀洲:…)."""
    stories: list[list[str]] = [[]]
    for line in _lines(text):
        if STORY_HEADING.match(line) and len(line) < 30:
            stories.append([])
        stories[-1].append(line)
    stories = [s for s in stories if s]
    pages = "".join(f'<li><a href="node_{i}.htm">第{i:02d}版：{"要闻" if i == 1 else "人才"}</a></li>' for i in range(1, 9))
    headlines = "".join(f'<li><a href="content_{i}.htm">{html.escape(s[0])}</a></li>' for i, s in enumerate(stories))
    boxes = "".join(f"<article><h3>{html.escape(s[0])}</h3>{_paragraphs(s[1:])}</article>" for s in stories)
    return f"""<html><head><meta charset="utf-8"><title>{paper}数字报-第05版：人才</title></head><body>
<div class="top">{paper} {day} <a href="#">往期回顾</a></div>
<table><tr><td class="left"><ul class="pages">{pages}</ul><img src="page5.jpg" usemap="#m">
<div class="titles"><h4>本版标题</h4><ul>{headlines}</ul></div></td>
<td class="right"><div class="main">{boxes}</div></td></tr></table>
<div class="bottom">上一版 下一版 | 版权所有 {paper}社</div></body></html>"""


@functools.cache
def pdf_bytes(text: str, title: str = "") -> bytes:
    """A PDF with the text as its text layer, a paragraph a block of wrapped lines (cached: embedding the
    font takes seconds)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("noto", fname=str(CJK_FONT), collection_font_number=CJK_FONT_INDEX)
    pdf.set_font("noto", size=11)
    if title:
        pdf.set_title(title)
    pdf.add_page()
    for line in _lines(text):
        pdf.multi_cell(0, 7, line.lstrip("#").strip(), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


def scanned_pdf_bytes() -> bytes:
    """A PDF of a scanned page: a picture of text, no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    picture = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(picture)
    for row in range(40, 760, 24):
        draw.rectangle((40, row, 560, row + 10), fill=60)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=190)
    return bytes(pdf.output())


def docx_bytes(text: str, title: str = "", table: list[list[str]] | None = None) -> bytes:
    """A Word file: a heading paragraph for each '#' line, a paragraph for each other line, and a table."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    for line in _lines(text):
        if line.startswith("#"):
            document.add_heading(line.lstrip("#").strip(), level=2)
        else:
            document.add_paragraph(line)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
