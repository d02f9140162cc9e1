"""Read a saved web page: the article's text without the page around it, and the page's metadata.

trafilatura finds the main text of a page and drops navigation, related-article lists, share buttons and
ads. Two kinds of page need more: an e-paper page that prints several stories, each in an <article> of its
own (trafilatura would read the first), is read story by story; and an index page that is mostly links is
no article at all (trafilatura would fall back to reading its list of other articles' headlines).
"""

from __future__ import annotations

import copy
import functools
import re
from datetime import date

from etl.extract.documents import Document, Unreadable

MIN_EXTRACTED_CHARS = 20  # trafilatura's default, 250, is a long paragraph of Chinese
MIN_STORY_CHARS = 20  # an <article> with less text than this is a teaser, not a story
MAX_LINK_SHARE = 0.5  # a page (or <article>) whose text is more than this share link text is a list of links
MAX_LINK_LINE = 200  # a line longer than this is no link's text
BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "br", "blockquote", "figcaption", "pre",
              "section", "header", "footer", "table", "ul", "ol", "dd", "dt")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def read_html(data: bytes) -> Document:
    """The main text of a saved web page, without navigation, related-article lists or ads (trafilatura),
    and the page's title, date, site name and canonical URL. Only the page's metadata dates it: dates
    guessed from anywhere in the page are unreliable (a copyright year reads as 1 January)."""
    from trafilatura.utils import load_html

    tree = load_html(data)
    if tree is None:
        raise Unreadable("unreadable", "not a readable HTML page")
    anchors = link_texts(tree)
    found = _extract(data, metadata=True)
    stories = story_texts(tree, anchors)
    if len(stories) > 1:
        text = "\n\n".join(stories)
    else:
        text = found.text if found is not None and found.text else ""
    if not text.strip():
        raise Unreadable("empty", "no article text found in the page (only navigation, lists or scripts)")
    if link_share(text, anchors) > MAX_LINK_SHARE:
        raise Unreadable("no_article", "the page is a list of links (an index or section page), not an article; "
                         "save the article's own page")
    if found is None:
        return Document(text=text, format="html", encoding="")
    return Document(text=text, format="html", encoding="", title=found.title or "", published=_iso_date(found.date),
                    outlet=found.sitename or "", url=found.url or "")


def _extract(data: bytes | str, metadata: bool):
    import trafilatura

    return trafilatura.bare_extraction(
        data, with_metadata=metadata, include_tables=True, include_comments=False, include_images=False,
        favor_recall=True, deduplicate=False, config=_trafilatura_config(),
        date_extraction_params={"extensive_search": False, "original_date": True})


def story_texts(tree, anchors: set[str]) -> list[str]:
    """The texts of the page's stories when it prints several, each in an <article> of its own (teasers,
    short or mostly links, are not stories)."""
    outermost = [a for a in tree.iter("article") if not any(p.tag == "article" for p in a.iterancestors())]
    texts = (_story_text(element) for element in outermost)
    return [text for text in texts if len(text) >= MIN_STORY_CHARS and link_share(text, anchors) <= MAX_LINK_SHARE]


def _story_text(element) -> str:
    """A story's text, a line per paragraph, heading, list item or table row (cells split by '|'): the
    <article> is the story already, so nothing in it is boilerplate to find, and its headings stay."""
    story = copy.deepcopy(element)
    for dropped in list(story.iter("script", "style", "noscript")):
        dropped.drop_tree()
    for cell in story.iter("td", "th"):
        cell.tail = " | " + (cell.tail or "")
    for block in story.iter(*BLOCK_TAGS):
        block.tail = "\n" + (block.tail or "")
    lines = (" ".join(line.split()).strip(" |") for line in story.text_content().splitlines())
    return "\n".join(line for line in lines if line)


@functools.cache
def _trafilatura_config():
    """trafilatura's settings, but for text as short as a Chinese news brief: below MIN_EXTRACTED_SIZE
    characters it distrusts what it found and falls back to reading the whole page, menus and ads too."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_EXTRACTED_CHARS))
    return config


def link_texts(tree) -> set[str]:
    """The texts of the page's links (of two characters or more), spaces normalised."""
    return {text for text in (" ".join(a.text_content().split()) for a in tree.iter("a")) if len(text) >= 2}


def link_share(text: str, anchors: set[str]) -> float:
    """How much of a text is the text of links: a line counts when a link's text makes up most of it. A
    page that is mostly links is an index, and what trafilatura falls back to reading there is its list of
    other articles' headlines."""
    lines = [" ".join(line.strip().lstrip("-").split()) for line in text.splitlines() if line.strip()]
    linked = sum(len(line) for line in lines
                 if len(line) <= MAX_LINK_LINE and any(a in line and 2 * len(a) >= len(line) for a in anchors))
    return linked / max(1, sum(len(line) for line in lines))


def _iso_date(value: str | None) -> date | None:
    match = ISO_DATE.match(value or "")
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None
