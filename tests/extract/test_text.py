"""Layout clean-up: rejoined lines, headings and captions, sections, and exact offsets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl.extract import forms
from etl.extract.facts import heading_region
from etl.extract.indicators import load_taxonomy
from etl.extract.periods import cue_table
from etl.extract.regions import load_gazetteer
from etl.extract.text import (
    build_blocks,
    build_sections,
    line_kind,
    may_match,
    required_chars,
    split_sentences,
)
from etl.paths import RAW_DIR

ARTICLES = sorted(RAW_DIR.glob("*.txt"))


def raw(name: str) -> str:
    return (RAW_DIR / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.stem[:3])
def test_every_block_and_sentence_maps_back_to_the_raw_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for i, block in enumerate(build_blocks(text)):
        assert "".join(text[o] for o in block.offsets) == block.text
        for sentence in split_sentences(block, i, 0):
            assert "".join(text[o] for o in sentence.offsets) == sentence.text


def test_line_broken_mid_word_is_rejoined() -> None:
    bodies = [b.text for b in build_blocks(raw("001_c97fb4016c467cf9.txt")) if b.kind == "body"]
    assert any("拿出“真金白银”的具体举措" in b for b in bodies)
    assert any("“招商大突破、项目大攻坚”作为2024年头号任务" in b for b in bodies)
    assert any("组织开展线上线下各类招聘活动60余次" in b for b in
               (b.text for b in build_blocks(raw("003_0246a69145be841d.txt"))))


def test_side_box_label_and_captions_are_not_body() -> None:
    blocks = build_blocks(raw("002_eea76f0dae49dd7d.txt"))
    kinds = {b.text: b.kind for b in blocks}
    assert kinds["④ 专家点评"] == "heading"
    assert kinds["黄岩智能模塑小镇提供"] == "heading"
    assert not any(b.kind == "body" and "面临④" in b.text for b in blocks)


@pytest.mark.parametrize(("line", "kind"), [
    ("秀洲:筑就青年人才梦想之城", "heading"),
    ("■ 邹晓津 杨丽英", "byline"),
    ("沈沉缘 李晓芳", "byline"),
    ("“为给人才创造一个安心工作", "body"),
    ("除了以才引才,高能级人才项目", "body"),
    ("## 以城市之名 聚才兴产业", "heading"),
])
def test_line_kinds(line: str, kind: str) -> None:
    assert line_kind(line) == kind


def test_locality_headings_open_sections() -> None:
    gazetteer = load_gazetteer()
    blocks = build_blocks(raw("001_c97fb4016c467cf9.txt"))
    sections = build_sections(blocks, lambda h: bool(heading_region(h, gazetteer)))
    regions = [gazetteer.get(heading_region(s.heading, gazetteer)).name_zh for s in sections if s.heading]
    assert regions == ["秀洲区", "桐乡市", "平湖市", "南湖区", "嘉善县", "海盐县", "海宁市"]


def test_a_byline_without_locality_heading_opens_a_new_story() -> None:
    blocks = build_blocks(raw("002_eea76f0dae49dd7d.txt"))
    sections = build_sections(blocks, lambda h: bool(heading_region(h, load_gazetteer())))
    stories = [s for s in sections if s.starts_story]
    assert len(stories) == 3
    assert stories[0].heading.startswith("嘉善")
    assert stories[1].heading == ""
    assert stories[2].heading.startswith("黄岩")


def test_required_chars_lists_what_every_match_needs():
    assert set(required_chars(re.compile(r"(?:开年|年初|入年)以来"))) == {
        frozenset("开初入"), frozenset("年"), frozenset("以"), frozenset("来")}
    assert required_chars(re.compile(r"(?<!高)技能人才(?!之家)")) == tuple(frozenset(c) for c in "技能人才")
    assert required_chars(re.compile(r"(?:近|最近)?\d+[年月]")) == (frozenset("年月"),)


def test_required_chars_knows_nothing_about_optional_or_open_parts():
    assert required_chars(re.compile(r"(?:截至)?[\u4e00-\u9fff]+\d")) == ()
    assert required_chars(re.compile(r"(?i:gdp)")) == ()
    assert required_chars(re.compile(r"a|b*")) == ()


def test_may_match_skips_only_texts_that_lack_a_required_char():
    needs = required_chars(re.compile(r"(?:\d{1,2})月(?:底|末)"))
    assert may_match(needs, set("今年3月底,全市"))
    assert not may_match(needs, set("今年3月,全市"))
    assert may_match((), set(""))


def test_required_chars_never_skips_a_real_match():
    """Every cue, keyword, rank or fraction pattern that matches a sentence of the seed articles is let through by its prefilter."""
    patterns = [pattern for pattern, _ in cue_table()]
    patterns += [k for indicator in load_taxonomy().indicators.values() for k in indicator.keywords]
    patterns += [forms.RANK_RE, forms.SCOPED_RANK_RE, forms.FRACTION_RE, forms.RATIO_RE, forms.STREAK_RE]
    sentences = [s.text for name in ARTICLES for i, block in enumerate(build_blocks(raw(name.name)))
                 for s in split_sentences(block, i, 0)]
    checked = 0
    for pattern in patterns:
        needs = required_chars(pattern)
        for sentence in sentences:
            for match in pattern.finditer(sentence):
                assert may_match(needs, set(match.group())), (pattern.pattern, match.group())
                checked += 1
    assert checked > 1000
