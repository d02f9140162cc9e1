"""The extractor on real articles it was not built on: the development set in tests/dev_corpus.

Twelve articles (news features, a statistical bulletin, a work report, reposts, traditional script) with
200 hand-annotated figures, scored as the project is judged on articles it has never seen. The gold is
never edited to fit the extractor (see tests/dev_corpus/README.md for the annotation conventions).
"""

from __future__ import annotations

import pytest

from tests.goldscore import dev_raw, quote_report, run_facts, score_quotes

BAR = 0.95


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return score_quotes(run_facts(dev_raw(tmp_path_factory.mktemp("dev") / "raw")))


def test_the_development_set_is_found_and_nothing_much_else(result) -> None:
    missed = "\n".join(f"{g['article']} {g['value']} | {g['quote']}" for g in result.missed)
    extra = "\n".join(f"{f['article_id']} {f['number_text']} | {f['quote'][:60]}" for f in result.extra)
    assert result.recall >= BAR, f"{quote_report(result)}\nmissed:\n{missed}"
    assert result.precision >= BAR, f"{quote_report(result)}\nextra:\n{extra}"


def test_every_headline_figure_of_the_development_set_is_found(result) -> None:
    assert result.headline_recall == 1.0, quote_report(result)


def test_found_figures_have_the_right_place_and_year(result) -> None:
    wrong = "\n".join(result.wrong)
    assert result.region_right >= BAR, f"{quote_report(result)}\n{wrong}"
    assert result.year_right >= BAR, f"{quote_report(result)}\n{wrong}"


def test_every_article_of_the_set_is_read(result) -> None:
    table = result.per_article
    assert len(table) == 12 and (table["facts"] > 0).all(), quote_report(result)
