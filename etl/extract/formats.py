"""Turn the bytes of an article file into its text and what the file says about itself.

Analysts bring articles as plain text, saved web pages, PDF editions and Word files. Each format has one
reader here, built on a maintained library (trafilatura for pages, PDFium for PDFs, python-docx for Word);
each returns a `Document`: the text the extractor reads and every fact's offsets point into, and the
title, date, outlet and URL the file carries. A file that holds no readable article raises `Unreadable`
with a reason code and a sentence saying why. The libraries load when a file of their kind is read.
"""

from __future__ import annotations

import io
import re
import unicodedata

from etl.extract.documents import Document, Unreadable
from etl.extract.html_page import read_html
from etl.extract.pdf_layout import PdfLine, page_text
from etl.vocabulary import ARTICLE_FORMATS

ENCODINGS = ("utf-8-sig", "gb18030")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Windows Notepad's "Unicode" saves UTF-16 with one of these
MAX_CONTROL_CHAR_SHARE = 0.01
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
ODD_CATEGORIES = ("Cf", "Cn", "Co", "Cs")  # invisible, unassigned, private: what bytes that are not UTF-16 decode to
# What to tell someone who put a file of another kind in the raw folder.
FORMAT_HINTS = {
    ".doc": "an old Word file: save it as .docx (Word: 另存为 → Word 文档)",
    ".wps": "a WPS file: save it as .docx",
    ".csv": "a table: official statistics tables go in data/raw/statistics/",
    ".xlsx": "a table: official statistics tables go in data/raw/statistics/",
    ".xls": "a table: save it as .xlsx in data/raw/statistics/ if it holds official statistics",
    ".jpg": "a picture: there is no text to read (run OCR and save the text as .txt)",
    ".jpeg": "a picture: there is no text to read (run OCR and save the text as .txt)",
    ".png": "a picture: there is no text to read (run OCR and save the text as .txt)",
    ".mhtml": "a web archive: save the page as HTML only (网页，仅HTML)",
    ".md": "Markdown: save it as .txt",
}


def article_format(name: str) -> str | None:
    """'txt', 'html', 'pdf' or 'docx' for a file name, None for any other kind of file."""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    return ARTICLE_FORMATS.get(suffix)


def unknown_format_message(name: str) -> str:
    suffix = name[name.rfind("."):].lower() if "." in name.lstrip(".") else ""
    kinds = ", ".join(sorted(set(ARTICLE_FORMATS)))
    what = FORMAT_HINTS.get(suffix) or (f"{suffix} files are not articles" if suffix else "it has no file extension")
    return f"{name}: {what}; data/raw reads articles from {kinds}"


def read_document(name: str, data: bytes) -> Document:
    """The document in a file's bytes, read by its extension; raises `Unreadable` saying why not."""
    kind = article_format(name)
    if kind is None:
        raise Unreadable("unknown_format", unknown_format_message(name))
    if not data.strip():
        raise Unreadable("empty", "the file has no text")
    reader = {"txt": read_txt, "html": read_html, "pdf": read_pdf, "docx": read_docx}[kind]
    document = reader(data)
    if not document.text.strip():
        raise Unreadable("empty", f"no article text found in the {kind} file")
    return document


def decode_article(data: bytes) -> tuple[str, str]:
    """Text and encoding name of a plain-text file: UTF-8 (with or without BOM), UTF-16 with its BOM, or
    GB18030 (which reads GBK and GB2312); raises `Unreadable` saying why the bytes are not text."""
    if not data.strip():
        raise Unreadable("empty", "the file has no text")
    if data.startswith(UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise Unreadable("unreadable", f"starts as UTF-16 but is not valid UTF-16 ({exc.reason})") from exc
        if sum(unicodedata.category(c) in ODD_CATEGORIES for c in text) > MAX_CONTROL_CHAR_SHARE * len(text):
            raise Unreadable("unreadable", "starts as UTF-16 but does not read as text")
        return _checked(text), "utf-16"
    if b"\x00" in data:
        raise Unreadable("binary", "the file contains NUL bytes, it is not a text article")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _checked(text).lstrip("\ufeff"), "utf-8" if encoding == "utf-8-sig" else encoding
    raise Unreadable("unreadable", "not valid UTF-8, UTF-16, GBK or GB18030")


def _checked(text: str) -> str:
    if len(CONTROL_CHARS.findall(text)) > MAX_CONTROL_CHAR_SHARE * len(text):
        raise Unreadable("binary", "too many control characters for a text article")
    return text


def read_txt(data: bytes) -> Document:
    text, encoding = decode_article(data)
    return Document(text=text, format="txt", encoding=encoding)


def read_pdf(data: bytes) -> Document:
    """The text layer of a PDF (PDFium), page by page, with the lines of each paragraph joined again.

    A PDF's own dates say when the file was made, not when the article was published, so they are not
    used; its Title is. A PDF whose pages have no text is a scanned image and is set aside as such.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise Unreadable("unreadable", f"not a readable PDF ({exc})") from exc
    try:
        pages = [_page_text(pdf[index]) for index in range(len(pdf))]
        title = (pdf.get_metadata_dict().get("Title") or "").strip()
    finally:
        pdf.close()
    if not any(p.strip() for p in pages):
        raise Unreadable("no_text_layer", f"no text layer — scanned image ({len(pages)} page(s) without text; "
                         "run OCR and save the text as .txt, or find the text edition)")
    return Document(text="\n\n".join(p for p in pages if p.strip()), format="pdf", encoding="", title=title)


def _page_text(page) -> str:
    """A page's text: its lines as PDFium reads them, each with the box of its characters, put back into
    paragraphs. Where PDFium counts characters otherwise than Python (those beyond the Basic Multilingual
    Plane take two), the boxes cannot be matched to the text, and the lines stay as they are."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        if len(text) != textpage.count_chars():
            return "\n".join(line.strip() for line in text.split("\r\n"))
        lines, start = [], 0
        for raw in text.split("\r\n"):
            if raw.strip():
                boxes = [textpage.get_charbox(i) for i in range(start, start + len(raw)) if not raw[i - start].isspace()]
                lines.append(PdfLine(raw.strip(), min(b[0] for b in boxes), max(b[2] for b in boxes),
                                     min(b[1] for b in boxes), max(b[3] for b in boxes)))
            start += len(raw) + 2
        return page_text(lines)
    finally:
        textpage.close()


def read_docx(data: bytes) -> Document:
    """The paragraphs and tables of a Word file in document order (python-docx); table rows as cells
    split by '|', as the table reader expects. Word's own dates say when the file was made: not used."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - zip, XML or package errors alike: the file is set aside, saying so
        raise Unreadable("unreadable", f"not a readable Word (.docx) file ({type(exc).__name__}: {exc})") from exc
    lines = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            lines.append("\n".join(" | ".join(c.text.strip() for c in row.cells) for row in item.rows))
        else:
            lines.append(item.text)
    return Document(text="\n\n".join(lines), format="docx", encoding="",
                    title=(document.core_properties.title or "").strip())
