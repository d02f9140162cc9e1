"""Dashboard timings against one database, through HTTP as the browser sends it.

    python -m bench.dash_bench --db sqlite:////tmp/zj-bench/facts-100000.sqlite --reps 30 --json out.json

Every server-side callback is called with a real POST to `/_dash-update-component` (Flask's test client,
so no socket, but the full Dash request/response path with JSON serialisation of the figures). Like the
Dash renderer, it keeps the props of every component from `/_dash-layout`, applies each response and fires
the callbacks whose inputs changed. Each repetition is a different view (indicator, regions, years, tab),
chosen from the data, so the dashboard's per-view cache does not answer for it; the data version (the
snapshot of all facts) is loaded once per process, as in production, and its load time is reported.

Page load is timed twice: through the test client (`/`, `/_dash-layout`, `/_dash-dependencies` and the
initial callbacks, in order) and, when chromium and playwright are available, in a real headless browser
against gunicorn until the first chart has drawn.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

UPDATE = "/_dash-update-component"
DRAWN = "#g-compare .barlayer .trace"  # the default view's ranked bars, drawn by plotly
Key = tuple[str, str]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, -(-len(ordered) * q // 100)) - 1] if ordered else 0.0


def summary(name: str, samples: list[float], **extra: Any) -> dict[str, Any]:
    return {"name": name, "calls": len(samples), "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(percentile(samples, 95), 1), "max_ms": round(max(samples), 1), **extra}


def parse_outputs(spec: str) -> list[Key] | Key:
    """'..a.b...c.d..' → [(a, b), (c, d)]; 'a.b' → (a, b) (Dash's own output string format)."""
    def one(part: str) -> Key:
        ident, prop = part.rsplit(".", 1)
        return ident, prop
    if spec.startswith("..") and spec.endswith(".."):
        return [one(p) for p in spec[2:-2].split("...")]
    return one(spec)


def walk_layout(node: Any, store: dict[Key, Any]) -> None:
    """Every component's props by (id, prop), as the renderer holds them."""
    if isinstance(node, list):
        for child in node:
            walk_layout(child, store)
        return
    if not isinstance(node, dict):
        return
    props = node.get("props")
    if isinstance(props, dict) and "type" in node:
        ident = props.get("id")
        if isinstance(ident, str):
            for prop, value in props.items():
                if prop != "children" or not isinstance(value, dict | list):
                    store[(ident, prop)] = value
        for value in props.values():
            walk_layout(value, store)


class Driver:
    """A renderer stand-in: fires callbacks through HTTP and keeps component props up to date."""

    def __init__(self, client, deps: list[dict], layout: Any):
        self.client = client
        self.server_side = [d for d in deps if not d.get("clientside_function")]
        self.store: dict[Key, Any] = {}
        walk_layout(layout, self.store)
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.sizes: dict[str, list[int]] = defaultdict(list)
        self.no_ops: dict[str, int] = defaultdict(int)  # answered 204: nothing to update (e.g. a hidden tab)

    @staticmethod
    def name(dep: dict) -> str:
        outputs = parse_outputs(dep["output"])
        first = outputs[0] if isinstance(outputs, list) else outputs
        return f"{first[0]}.{first[1].split('@')[0]}"

    def find(self, output_prefix: str) -> dict:
        for dep in self.server_side:
            if self.name(dep) == output_prefix:
                return dep
        raise KeyError(output_prefix)

    def fire(self, dep: dict, changed: list[str], record: bool = True) -> list[Key]:
        """POST one callback; apply its response; the (id, prop)s it changed."""
        outputs = parse_outputs(dep["output"])
        as_dicts = ([{"id": i, "property": p} for i, p in outputs] if isinstance(outputs, list)
                    else {"id": outputs[0], "property": outputs[1]})
        body = {
            "output": dep["output"], "outputs": as_dicts,
            "inputs": [{**i, "value": self.store.get((i["id"], i["property"]))} for i in dep["inputs"]],
            "state": [{**s, "value": self.store.get((s["id"], s["property"]))} for s in dep.get("state", [])],
            "changedPropIds": changed,
        }
        start = time.perf_counter()
        response = self.client.post(UPDATE, json=body)
        elapsed = 1000 * (time.perf_counter() - start)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"{self.name(dep)}: HTTP {response.status_code}: {response.get_data(as_text=True)[:500]}")
        updates = {} if response.status_code == 204 else response.get_json().get("response", {})
        if record and not updates:  # 204, or 200 with an empty response: every output was no_update
            self.no_ops[self.name(dep)] += 1
        elif record:
            self.samples[self.name(dep)].append(elapsed)
            self.sizes[self.name(dep)].append(len(response.data))
        touched = []
        for ident, props in updates.items():
            for prop, value in props.items():
                prop = prop.split("@")[0]
                if self.store.get((ident, prop)) != value:
                    touched.append((ident, prop))
                self.store[(ident, prop)] = value
        return touched

    def cascade(self, touched: list[Key], record: bool = True, skip: set[str] | None = None) -> None:
        """Fire every callback whose inputs changed, and so on down the chain, until nothing changes."""
        pending = list(touched)
        for _round in range(10):
            if not pending:
                return
            changed = {f"{i}.{p}" for i, p in pending}
            pending = []
            for dep in self.server_side:
                if skip and self.name(dep) in skip:
                    continue
                hits = [f"{i['id']}.{i['property']}" for i in dep["inputs"] if f"{i['id']}.{i['property']}" in changed]
                if hits:
                    pending += self.fire(dep, hits, record)

    def initial(self, record: bool = True) -> None:
        """What the page does on load: callbacks not marked prevent_initial_call whose inputs no other
        callback produces, then whatever their outputs trigger."""
        def produced_by(dep: dict) -> set[str]:
            outs = parse_outputs(dep["output"])
            return {f"{i}.{p.split('@')[0]}" for i, p in (outs if isinstance(outs, list) else [outs])}

        touched: list[Key] = []
        for dep in self.server_side:
            if dep.get("prevent_initial_call"):
                continue
            others = set().union(*(produced_by(d) for d in self.server_side
                                   if d is not dep and not d.get("prevent_initial_call")))
            inputs = [f"{i['id']}.{i['property']}" for i in dep["inputs"]]
            if not any(name in others for name in inputs):
                touched += self.fire(dep, inputs, record)
        self.cascade(touched, record, skip={self.name(d) for d in self.server_side if d.get("prevent_initial_call")})


def scenarios(snapshot, n: int, seed: int = 11) -> list[str]:
    """`n` URL query strings for different views, from what the data holds."""
    from dashboard.urlstate import TABS, ViewState, to_query

    rng = random.Random(seed)
    facts = snapshot.facts
    indicators = facts["indicator_code"].astype(str).value_counts().index[:40].tolist()
    cities = sorted({str(c) for c, lvl in zip(facts["region_code"], facts["region_level"], strict=True) if str(lvl) == "city"})
    counties = sorted({str(c) for c, lvl in zip(facts["region_code"], facts["region_level"], strict=True) if str(lvl) == "county"})
    years = sorted({int(y) for y in facts["year"].unique()})
    out = []
    for k in range(n):
        tab = TABS[k % len(TABS)]
        chosen = tuple(rng.sample(indicators, k=1 + (k % 3 == 0)))
        regions = tuple(rng.sample(cities, k=min(len(cities), rng.randint(0, 4)))) if cities else ()
        if counties and k % 4 == 1:
            regions += tuple(rng.sample(counties, k=min(len(counties), 3)))
        year_from = rng.choice(years[: max(1, len(years) // 2)]) if years and k % 2 else None
        state = ViewState(tab=tab, indicators=chosen, regions=regions, include_sub=k % 5 == 2,
                          year_from=year_from, map_level="county" if k % 2 else "city",
                          trend_kind="dot" if k % 7 == 3 else "line", review=k % 6 != 4)
        out.append(to_query(state))
    return out


NETWORKS = {  # how the browser reaches the server: as on this machine, and over an office link
    "loopback": None,
    "10 Mbit/s, 40 ms": {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": 5e6 / 8},
}


def browser_page_load(db_url: str, loads: int) -> dict[str, dict[str, Any]]:
    """Real page loads: gunicorn (2 workers, sign-in off) + headless chromium, until the compare chart has
    drawn, once over loopback and once over an emulated 10 Mbit/s link; bytes are as sent (compressed or not)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"browser page load": {"note": "not measured: playwright is not installed"}}
    if not chromium:
        return {"browser page load": {"note": "not measured: no chromium binary"}}
    from tests.processes import free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(PROJECT_ROOT), "DASHBOARD_AUTH": "off"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "dashboard.app:server", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "--timeout", "120"], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    return {"browser page load": {"note": "not measured: gunicorn did not come up"}}
                time.sleep(0.3)
        # warm both workers' snapshots, as a long-running server has them
        for _ in range(6):
            urllib.request.urlopen(url + "_dash-layout", timeout=120).read()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            results = {f"browser first chart ({name})": _page_loads(browser, url, loads, network)
                       for name, network in NETWORKS.items()}
            browser.close()
        return results
    except Exception as exc:  # noqa: BLE001 - the HTTP figures stand without the browser's
        return {"browser page load": {"note": f"not measured: {type(exc).__name__}: {str(exc)[:300]}"}}
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def _page_loads(browser, url: str, loads: int, network: dict | None) -> dict[str, Any]:
    """`loads` first visits (a fresh context, nothing cached): navigation → the compare chart's bars drawn."""
    timings, idle, sent = [], [], []
    for _ in range(loads):
        context = browser.new_context()
        page = context.new_page()
        if network:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", network)
        sizes: list[int] = []
        page.on("response", lambda r, sizes=sizes: sizes.append(int(r.headers.get("content-length") or 0)))
        start = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded", timeout=180_000)
        page.wait_for_selector(DRAWN, state="attached", timeout=180_000)
        timings.append(1000 * (time.perf_counter() - start))
        page.wait_for_load_state("networkidle", timeout=180_000)
        idle.append(1000 * (time.perf_counter() - start))
        sent.append(sum(sizes))
        context.close()
    return summary("first chart", timings, network_idle_p50_ms=round(statistics.median(idle), 1),
                   kib_sent_p50=round(statistics.median(sent) / 1024),
                   note="navigation → bars of the compare chart drawn; a fresh browser context each time, so "
                        "every script is fetched and parsed (a first visit); kib_sent is what the server sent.")


def first_chart_section(data: dict[str, Any]) -> list[str]:
    """RESULTS.md's comparison of the first chart's time, before the service was hardened and now."""
    rows = []
    for label, entry in (("before", data.get("first_chart_before", {})),
                         ("now", data.get("dashboard", {}).get("sqlite", {}))):
        for name, page in entry.get("page", {}).items():
            if name.startswith("browser first chart") and page.get("calls"):
                rows.append(f"| {label} ({entry.get('commit', '?')[:7]}) | {name.removeprefix('browser first chart ')} "
                            f"| {entry.get('facts', 0):,} | {page['p50_ms']:,.0f} | {page['p95_ms']:,.0f} "
                            f"| {page.get('kib_sent_p50', 0):,} |")
    if not rows:
        return []
    return ["", "### First chart, before and after compression (`python -m bench.dash_bench --browser-only`)", "",
            "A first visit in headless chromium (a fresh context: nothing cached) until the compare chart's bars are "
            "drawn, against gunicorn with 2 workers, over loopback and over an emulated 10 Mbit/s link with 40 ms "
            "latency; KiB sent is what the server sent (compressed now, not before).", "",
            "| code | network | facts | p50 ms | p95 ms | KiB sent |", "|---|---|---:|---:|---:|---:|", *rows]


def measure(db_url: str, reps: int, page_loads: int, browser: bool) -> dict[str, Any]:
    from dashboard import repository
    from dashboard.app import app  # first, as in a web worker: the app is imported before any data is loaded
    from dashboard.urlstate import TABS

    repo = repository.use_database(db_url)
    start = time.perf_counter()
    snapshot = repo.snapshot(max_age=0)
    first_load_ms = 1000 * (time.perf_counter() - start)
    if not snapshot.ok:
        raise SystemExit(f"the dashboard cannot read {db_url}: {snapshot.message}")

    client = app.server.test_client()

    def get(path: str) -> tuple[float, Any]:
        t = time.perf_counter()
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return 1000 * (time.perf_counter() - t), response

    page: dict[str, list[float]] = defaultdict(list)
    for _ in range(page_loads):
        total = 0.0
        for path in ("/", "/_dash-layout", "/_dash-dependencies"):
            ms, response = get(path)
            page[path].append(ms)
            total += ms
        deps = client.get("/_dash-dependencies").get_json()
        driver = Driver(client, deps, client.get("/_dash-layout").get_json())
        t = time.perf_counter()
        driver.initial(record=False)
        initial_ms = 1000 * (time.perf_counter() - t)
        page["initial callbacks"].append(initial_ms)
        page["page load (test client)"].append(total + initial_ms)

    deps = client.get("/_dash-dependencies").get_json()
    driver = Driver(client, deps, client.get("/_dash-layout").get_json())
    driver.initial(record=False)
    rng = random.Random(5)
    fact_ids = snapshot.facts["fact_id"].astype(str).tolist()
    sync = driver.find("f-family.value")
    control_changes = [("f-region", "value"), ("f-indicator", "value"), ("f-years", "value"), ("tabs", "active_tab")]
    views = scenarios(snapshot, reps)
    for k, query in enumerate(views):
        if k % 3 == 2:  # a control changed rather than the URL
            ident, prop = control_changes[k % len(control_changes)]
            if prop == "active_tab":
                driver.store[(ident, prop)] = ["compare", "trend", "matrix", "map", "status"][k % 5]
            elif ident == "f-years":
                years = driver.store.get(("f-years", "value")) or [None, None]
                if years and years[0] is not None:
                    driver.store[(ident, prop)] = [years[0] + 1, years[1]]
            else:
                options = driver.store.get((ident, "options")) or []
                values = [o["value"] for o in options if isinstance(o, dict) and "value" in o]
                if values:
                    driver.store[(ident, prop)] = rng.sample(values, k=min(2, len(values)))
            touched = driver.fire(sync, [f"{ident}.{prop}"])
        else:
            driver.store[("url", "search")] = query
            touched = driver.fire(sync, ["url.search"])
        driver.cascade(touched, skip={"f-family.value"})
        current = driver.store.get(("tabs", "active_tab")) or "compare"
        for tab in [t for t in TABS if t != current]:  # the analyst looks at every view of this selection
            driver.store[("tabs", "active_tab")] = tab
            driver.cascade(driver.fire(sync, ["tabs.active_tab"]), skip={"f-family.value"})
        sort = [[], [{"colId": "region_name", "sort": "asc"}], [{"colId": "display", "sort": "desc"}]][k % 3]
        start_row = [0, 0, 500][k % 3]
        driver.store[("facts-grid", "getRowsRequest")] = {"startRow": start_row, "endRow": start_row + 100, "sortModel": sort}
        driver.fire(driver.find("facts-grid.getRowsResponse"), ["facts-grid.getRowsRequest"])
        driver.store[("g-compare", "clickData")] = {"points": [{"customdata": rng.choice(fact_ids)}]}
        driver.cascade([("g-compare", "clickData")])
    callbacks = [summary(name, ms, kib_p50=round(statistics.median(driver.sizes[name]) / 1024, 1),
                         no_update_calls=driver.no_ops.get(name, 0))
                 for name, ms in driver.samples.items()]
    downloads = []
    for name, button in (("download-csv.data", "btn-csv"), ("download-xlsx.data", "btn-xlsx")):
        try:
            dep = driver.find(name)
        except KeyError:
            continue
        for table_key_query in ("", views[0]):
            driver.store[("url", "search")] = table_key_query
            driver.cascade(driver.fire(sync, ["url.search"], record=False), record=False, skip={"f-family.value"})
            driver.store[(button, "n_clicks")] = (driver.store.get((button, "n_clicks")) or 0) + 1
            driver.fire(dep, [f"{button}.n_clicks"])
        downloads.append(summary(name, driver.samples.pop(name), rows_note="whole table, then one view's table"))
    result: dict[str, Any] = {
        "method": ("POST /_dash-update-component through Flask's test client, as the browser sends it. "
                   f"{reps} different selections (indicators, regions, years, levels; by URL or by a control), "
                   "each looked at in all five tabs, then a table block and a click on a figure. Only calls "
                   "that returned an update are timed (a hidden tab's chart answers 'no update' at once). The data "
                   "version is loaded once per process, as in production; its load time is reported."),
        "first_load_ms": round(first_load_ms, 1),
        "callbacks": sorted(callbacks, key=lambda c: -c["p95_ms"]),
        "downloads": downloads,
        "page": {name: summary(name, ms) for name, ms in page.items()},
    }
    if browser:
        for name, loaded in browser_page_load(db_url, page_loads).items():
            result["page"][name] = loaded if "p50_ms" in loaded else {
                "p50_ms": 0, "p95_ms": 0, "calls": 0, "note": loaded.get("note", "")}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dash_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--reps", type=int, default=30, help="views, i.e. calls per callback")
    parser.add_argument("--page-loads", type=int, default=10)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--browser-only", action="store_true", help="only the page loads in chromium")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.db
    os.environ["DASHBOARD_AUTH"] = "off"  # callbacks are timed without sessions; bench.load times them signed in
    if args.browser_only:
        result = {"callbacks": [], "downloads": [], "page": browser_page_load(args.db, args.page_loads)}
    else:
        result = measure(args.db, args.reps, args.page_loads, not args.no_browser)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    for row in result["callbacks"] + result["downloads"]:
        print(f"{row['name']:32s} p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms")
    for name, row in result["page"].items():
        print(f"{name:32s} p50 {row.get('p50_ms', 0):8.1f} ms  p95 {row.get('p95_ms', 0):8.1f} ms {row.get('note', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
