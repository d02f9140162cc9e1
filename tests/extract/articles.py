"""Articles made from a few sentences of our own, run through the real extractor: the tests' way to ask
what the extractor makes of a pattern of the language."""

from __future__ import annotations

from dataclasses import replace

from etl.extract.facts import Fact, extract_article
from etl.extract.indicators import load_taxonomy
from etl.extract.regions import load_gazetteer
from etl.extract.sources import Article, ManifestRow, build_article, parse_published


def article(text: str, published: str = "2024-10", region: str = "嘉兴市", title: str = "t") -> Article:
    """An article with the given text, publication date and primary region, as a manifest row gives them."""
    date, precision = parse_published(published)
    row = ManifestRow(file="t.txt", title=title, published=date, published_precision=precision, primary_region=region)
    return build_article("t.txt", text, "utf-8", row)


def extract(text: str, **kwargs) -> list[Fact]:
    return extract_article(article(text, **kwargs), load_gazetteer(), load_taxonomy())


def facts_of(text: str, published: str, title: str = "", region: str = "嘉兴市") -> dict[str, Fact]:
    """The facts by number text; without a title the article has none, as when a manifest gives none."""
    a = article(text, published=published, region=region)
    a = replace(a, title=title) if title else a
    return {f.number_text: f for f in extract_article(a, load_gazetteer(), load_taxonomy())}
