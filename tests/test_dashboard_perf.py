"""Every callback answers well under 300 ms on a database of 100,000 facts, once the data version is loaded."""

from __future__ import annotations

import time
from dataclasses import asdict

import pytest

from dashboard import callbacks, data
from dashboard.synthetic import write_synthetic
from dashboard.urlstate import ViewState, to_query

N_FACTS = 100_000
BUDGET_SECONDS = 0.3

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_repository(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.sqlite'}"
    write_synthetic(url, N_FACTS)
    repository = data.use_database(url)
    repository.snapshot(max_age=0)  # what `python -m dashboard` does at start
    yield repository
    data.use_database(None)


def _timed(func, *args) -> float:
    """Best of two calls, each with the result cache emptied first so it cannot hide the work."""
    best = float("inf")
    for _ in range(2):
        data.repository().clear_cache()
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return best


STATES = [
    ViewState(indicators=("talent_total",)),
    ViewState(families=("subsidy_or_fund",), levels=("county",), indicators=("subsidy_one_off",)),
    ViewState(indicators=("postdocs",), regions=("330400",), include_sub=True, year_from=2020),
]


@pytest.mark.parametrize("tab", ["compare", "trend", "matrix", "map", "status"])
def test_each_view_answers_within_budget(big_repository, tab):
    render = {"compare": callbacks.render_compare, "trend": callbacks.render_trend,
              "matrix": callbacks.render_matrix, "map": callbacks.render_map,
              "status": callbacks.render_status}[tab]
    for state in STATES:
        for map_level in ("city", "county"):
            view = callbacks.view_key(state.replace(tab=tab, map_level=map_level))
            assert _timed(render, view) < BUDGET_SECONDS, f"{tab} for {to_query(state)}"


def test_state_sync_summary_and_quote_answer_within_budget(big_repository):
    for state in STATES:
        defaults = callbacks.control_values(ViewState(), None)
        assert _timed(callbacks.sync_state, None, to_query(state), defaults, None, None) < BUDGET_SECONDS
        assert _timed(callbacks.render_summary, callbacks.view_key(state)) < BUDGET_SECONDS
    fact_id = big_repository.snapshot().facts["fact_id"].iloc[12345]
    assert _timed(callbacks.render_provenance, fact_id) < BUDGET_SECONDS


def test_table_blocks_answer_within_budget_even_unfiltered(big_repository):
    snap = big_repository.snapshot()
    for state in (ViewState(), ViewState(search="嘉兴"), *STATES):
        key = asdict(data.query_for(snap, state, with_search=True))
        for sort in ([], [{"colId": "display", "sort": "desc"}], [{"colId": "region_name", "sort": "asc"}]):
            request = {"startRow": 0, "endRow": 100, "sortModel": sort}
            assert _timed(callbacks.table_rows, request, key) < BUDGET_SECONDS, (state, sort)
        request = {"startRow": 5000, "endRow": 5100, "sortModel": []}
        assert _timed(callbacks.table_rows, request, key) < BUDGET_SECONDS


def test_new_data_version_is_picked_up_without_restart(big_repository):
    before = big_repository.snapshot()
    assert big_repository.snapshot() is before
    assert len(before.facts) == N_FACTS
