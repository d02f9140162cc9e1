"""Layout clean-up: rejoined lines, headings and captions, sections, and exact offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.extract import heading_region
from etl.paths import RAW_DIR
from etl.regions import load_gazetteer
from etl.text import build_blocks, build_sections, line_kind, split_sentences

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
