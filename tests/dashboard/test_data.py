"""Data access for the dashboard, on the seed articles extracted into a real SQLite database."""

from __future__ import annotations

import csv
import gc
import io
import sqlite3
import time
import weakref

import pandas as pd
import pytest
from sqlalchemy import create_engine, event, text

from dashboard import geo, queries, repository, tables
from dashboard.urlstate import ViewState
from etl.store.schema import ensure_schema

JIAXING = "330400"


@pytest.fixture
def seed_copy(seed_db_url, tmp_path) -> str:
    """A private copy of the seed database a test may change."""
    target = tmp_path / "copy.sqlite"
    with sqlite3.connect(seed_db_url.removeprefix("sqlite:///")) as source, sqlite3.connect(target) as copy:
        source.backup(copy)  # the ETL writes in WAL mode: copying the main file alone would lose data
    return f"sqlite:///{target}"


def test_snapshot_holds_every_current_fact(repo, db_facts):
    snap = repo.snapshot()
    assert snap.ok, snap.message
    current = db_facts[~db_facts["status"].isin(["rejected", "retired"])]
    assert len(snap.facts) == len(current)
    assert set(snap.facts["fact_id"]) == set(current["fact_id"])


def test_snapshot_joins_article_title_and_date(repo, seed_db_url):
    snap = repo.snapshot()
    with create_engine(seed_db_url).connect() as conn:
        articles = pd.read_sql(text("SELECT article_id, title, published FROM articles"), conn)
    row = snap.facts.iloc[0]
    article = articles.set_index("article_id").loc[row["article_id"]]
    assert row["title"] == article["title"]
    assert str(article["published"]).startswith(row["published"])


def test_latest_rows_give_the_database_value_for_jiaxing_talent_total(repo, db_facts):
    snap, facts = repository.facts_for(repo, ViewState(indicators=("talent_total",)))
    rows = queries.comparison(facts).shown.set_index("region_code")
    expected = db_facts[(db_facts["region_code"] == JIAXING) & (db_facts["indicator_code"] == "talent_total")]
    assert not expected.empty, "the seed articles quote 嘉兴's talent total (129.07万)"
    latest = expected[expected["year"] == expected["year"].max()]
    assert rows.at[JIAXING, "value"] in set(latest["value"])
    assert rows.at[JIAXING, "n_quotes"] == len(expected)


def test_latest_rows_prefer_the_newest_year_then_checked_then_exact_figures():
    facts = pd.DataFrame({
        "fact_id": ["a", "b", "c", "d"], "region_code": ["r"] * 4, "indicator_code": ["i"] * 4,
        "region_level": ["city"] * 4, "qualifier": ["exact"] * 4, "period_kind": ["year"] * 4,
        "period_start": ["2024-01-01"] * 3 + ["2023-01-01"], "period_end": ["2024-12-31"] * 3 + ["2023-12-31"],
        "year": [2024, 2024, 2024, 2023], "needs_review": [True, False, False, False],
        "inexact": [False, True, False, False], "value": [1.0, 2.0, 3.0, 4.0],
    })
    order = facts.assign(_r=facts["needs_review"].astype(int), _e=facts["inexact"].astype(int)).sort_values(
        ["year", "_r", "_e"], ascending=[False, True, True]).drop(columns=["_r", "_e"])
    assert queries.comparison(order).shown["fact_id"].tolist() == ["c"]
    assert queries.comparison(order, "2023").shown["fact_id"].tolist() == ["d"]


def test_filter_options_offer_only_regions_and_years_that_have_the_indicator(repo, db_facts):
    snap = repo.snapshot()
    options = queries.filter_options(snap, ViewState(indicators=("talent_total",)))
    having = db_facts[db_facts["indicator_code"] == "talent_total"]
    offered = {o.value for o in options.regions if o.available}
    assert offered == set(having["region_code"])
    assert options.years == (int(having["year"].min()), int(having["year"].max()))
    greyed = {o.value for o in options.regions if not o.available}
    assert "330000" in greyed or "330000" in offered, "the province heads the tree"


def test_filter_options_drop_choices_the_data_cannot_honour(repo):
    snap = repo.snapshot()
    state = ViewState(families=("talent_total", "nonsense"), indicators=("talent_total", "postdocs", "bogus"),
                      year_from=1990, year_to=2099)
    normalized = queries.filter_options(snap, state).state
    assert normalized.families == ("talent_total",)
    assert normalized.indicators == ("talent_total",), "postdocs is not in the talent_total family"
    assert normalized.year_from is None and normalized.year_to is None, "the full range is left open"


def test_region_options_follow_the_tree(repo):
    snap = repo.snapshot()
    order = snap.region_order
    assert order[0] == "330000"
    assert order.index(JIAXING) < order.index("330411") < order.index("330421") < order.index("330500")
    # the 长三角 demonstration zone spans three provinces: it hangs off 嘉兴市, never off one county
    assert order.index(JIAXING) < order.index("330421-Z01") < order.index("330500")


def test_including_sub_regions_expands_a_city_to_its_counties_and_zones(repo):
    snap = repo.snapshot()
    query = queries.query_for(snap, ViewState(regions=(JIAXING,), include_sub=True))
    assert {JIAXING, "330411", "330421", "330421-Z01"} <= set(query.regions)
    assert "330100" not in query.regions
    only = queries.query_for(snap, ViewState(regions=(JIAXING,)))
    assert only.regions == (JIAXING,)


def test_search_finds_words_of_the_quote(repo, db_facts):
    word = "博士后"
    snap, found = repository.facts_for(repo, ViewState(search=word), with_search=True)
    expected = db_facts[~db_facts["status"].isin(["rejected", "retired"]) & db_facts["quote"].str.contains(word)]
    assert len(expected) > 0
    assert set(expected["fact_id"]) <= set(found["fact_id"])


def test_review_switch_hides_figures_needing_review(repo):
    _snap, everything = repository.facts_for(repo, ViewState())
    _snap, checked = repository.facts_for(repo, ViewState(review=False))
    assert everything["needs_review"].any()
    assert not checked["needs_review"].any()
    assert len(checked) == len(everything) - int(everything["needs_review"].sum())


def test_csv_has_the_table_columns_and_rows(repo):
    snap = repo.snapshot()
    query = queries.query_for(snap, ViewState(indicators=("talent_total", "postdocs")))
    ordered = repo.sorted(snap, query, [{"colId": "display", "sort": "desc"}])
    raw = tables.table_csv(ordered)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [header for _, header in tables.TABLE_COLUMNS]
    page, total = tables.table_page(ordered, 0, 100)
    assert total == len(rows) - 1
    assert [r["fact_id"] for r in page] == [r[-1] for r in rows[1:]]
    values = [float(r[rows[0].index("精确值 Exact value")]) for r in rows[1:]]
    assert values == sorted(values, reverse=True)


def test_provenance_gives_quote_article_and_date(repo, db_facts, seed_db_url):
    snap = repo.snapshot()
    fact = db_facts[(db_facts["region_code"] == JIAXING) & (db_facts["indicator_code"] == "talent_total")].iloc[0]
    found = queries.provenance(snap, fact["fact_id"])
    assert found["fact"]["quote"] == fact["quote"]
    assert found["fact"]["number_text"] in found["fact"]["quote"]
    with create_engine(seed_db_url).connect() as conn:
        title = conn.execute(text("SELECT title FROM articles WHERE article_id = :a"), {"a": fact["article_id"]}).scalar()
    assert found["fact"]["title"] == title
    assert queries.provenance(snap, "no-such-fact") is None


def test_missing_database_is_reported_not_created(tmp_path):
    path = tmp_path / "absent.sqlite"
    snap = repository.Repository(f"sqlite:///{path}").snapshot()
    assert snap.state == "no_database"
    assert not path.exists(), "looking must not create an empty database file"


def test_empty_tables_are_reported(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    ensure_schema(create_engine(url))
    snap = repository.Repository(url).snapshot()
    assert snap.state == "empty"
    assert not snap.ok


def test_the_version_check_reads_the_run_log_not_every_fact(seed_copy):
    """Every web worker asks every few seconds: with a successful run logged, no table is counted."""
    repo = repository.Repository(seed_copy)
    statements: list[str] = []
    event.listen(repo.engine(), "before_cursor_execute",
                 lambda conn, cursor, statement, *args: statements.append(statement))
    version = repo._version()  # noqa: SLF001 - the fingerprint itself is what is checked
    assert version[0] == "ok" and version[1][0] is not None, "the seed run is logged"
    assert not [s for s in statements if "count(" in s.lower()], statements
    with sqlite3.connect(seed_copy.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM runs")
    statements.clear()
    assert repo._version()[2] > 0, "without a run log the facts are counted"  # noqa: SLF001
    assert [s for s in statements if "count(" in s.lower()]


def test_a_loaded_version_is_set_aside_from_the_collector_and_released_by_the_next(seed_copy):
    """Full collections skip the installed snapshot (they walked all of it, on some callback); the version
    it replaces is still freed, cycles included."""
    repo = repository.Repository(seed_copy)
    first = repo.snapshot(max_age=0, wait=True)
    tracked = {id(o) for o in gc.get_objects()}
    assert id(first.facts) not in tracked, "frozen: the collector no longer walks the snapshot"
    gone = weakref.ref(first.facts)
    with sqlite3.connect(seed_copy.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE runs SET finished_at = '2030-01-01 00:00:00' WHERE run_id = (SELECT max(run_id) FROM runs)")
    del first
    second = repo.snapshot(max_age=0, wait=True)
    assert second.ok and gone() is None, "the previous version was released"


def test_new_successful_run_invalidates_the_snapshot(seed_copy):
    with sqlite3.connect(seed_copy.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM runs")
    repo = repository.Repository(seed_copy)
    first = repo.snapshot()
    assert first.as_of.source_en == "database written", "no run is logged yet"
    path = seed_copy.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM facts WHERE fact_id = (SELECT min(fact_id) FROM facts)")
        conn.execute("INSERT INTO runs (kind, started_at, finished_at, outcome, articles_read, articles_added, "
                     "articles_changed, articles_removed, articles_rejected, facts_added, facts_changed, "
                     "facts_retired, facts_total, message, error) VALUES ('refresh', '2025-01-02 03:00:00', "
                     "'2025-01-02 03:04:00', 'success', 5, 0, 0, 0, 0, 0, 0, 1, 0, '', '')")
    assert repo.snapshot() is first, "within the revalidation interval the cached snapshot is served"
    assert repo.snapshot(max_age=0) is first, "the new version loads in the background; the old one is served"
    deadline = time.monotonic() + 30
    while repo.snapshot(max_age=0) is first and time.monotonic() < deadline:
        time.sleep(0.05)
    second = repo.snapshot(max_age=0)
    assert second is not first
    assert len(second.facts) == len(first.facts) - 1
    assert second.as_of.source_en == "last successful refresh"
    assert second.as_of.when.startswith("2025-01-02")


def test_extra_columns_and_retired_facts_are_tolerated(seed_copy):
    path = seed_copy.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM runs")
        conn.execute("ALTER TABLE facts ADD COLUMN retired_at TEXT")
        conn.execute("ALTER TABLE articles ADD COLUMN loaded_at TEXT")
        conn.execute("UPDATE articles SET loaded_at = '2025-03-04 05:06:00'")
        victim = conn.execute("SELECT fact_id FROM facts LIMIT 1").fetchone()[0]
        conn.execute("UPDATE facts SET status = 'retired' WHERE fact_id = ?", (victim,))
        conn.execute("UPDATE facts SET status = 'rejected' WHERE fact_id = (SELECT max(fact_id) FROM facts)")
    snap = repository.Repository(seed_copy).snapshot()
    assert snap.ok
    assert victim not in set(snap.facts["fact_id"])
    assert not snap.facts["status"].isin(["rejected", "retired"]).any()
    assert snap.as_of.source_en == "newest article load"


def test_status_info_lists_runs_newest_first_with_failures(seed_copy):
    path = seed_copy.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        for outcome, error in (("success", ""), ("failed", "manifest unreadable"), ("nothing_new", "")):
            conn.execute("INSERT INTO runs (kind, started_at, finished_at, outcome, articles_read, articles_added, "
                         "articles_changed, articles_removed, articles_rejected, facts_added, facts_changed, "
                         "facts_retired, facts_total, message, error) VALUES ('refresh', '2025-01-02 03:00:00', "
                         "'2025-01-02 03:04:00', ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', ?)", (outcome, error))
    info = queries.status_info(repository.Repository(seed_copy).snapshot())
    assert info["last"]["outcome"] == "nothing_new"
    assert info["failures"]["error"].tolist() == ["manifest unreadable"]
    assert list(info["runs"]["run_id"]) == sorted(info["runs"]["run_id"], reverse=True)


def test_the_map_draws_its_level_and_lists_zones_and_other_levels(repo):
    _snap, facts = repository.facts_for(repo, ViewState(indicators=("talent_projects",)))
    found = queries.comparison(geo.with_boundary(facts, "county"), level="county")
    assert set(found.shown["region_level"].astype(str)) == {"county"}
    codes = {f["properties"]["adcode"] for f in geo.boundaries("county")["features"]}
    assert set(found.shown["region_code"].astype(str)) <= codes
    zones = found.left_out[found.left_out["region_level"].astype(str) == "zone"]
    assert len(zones) and all("属功能区，本图比较各县（市、区）" in r for r in zones["reason_zh"])
    beside = geo.beside_rows(facts)
    assert set(beside["region_level"].astype(str)) <= {"zone", "town"} and beside["region_code"].is_unique
    assert len(beside) > 0, "the seed articles quote figures for 衢州智造新城 and other zones"
