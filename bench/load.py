"""Callback throughput under concurrent analysts: gunicorn as the Procfile runs it, 50 clients at once.

    python -m bench.load --db sqlite:////tmp/zj-bench/facts-100000.sqlite --json load.json
    python -m bench.load --db URL --variants "sync:2,gthread:2x4" --clients 50 --seconds 40 --json load.json

First the callback requests of many different views are recorded in this process (Flask's test client and the
renderer stand-in of `bench.dash_bench`: the state callback, every view, table blocks, quote panels, each as
the browser sends it). Then gunicorn is started from the Procfile's `web:` line (`PORT`, `WEB_CONCURRENCY`,
and `GUNICORN_CMD_ARGS` for the worker class), every worker is warmed (its first request loads the data
version), and `--clients` threads, each with its own keep-alive connection and `Accept-Encoding: gzip, br` as
a browser sends, replay those requests back to back for `--seconds`. Reported: completed callbacks per
second, latency p50/p95/p99/max, errors. With `--account NAME:PASSWORD` every client signs in first
(sign-in on, as in production); without, the server runs with `DASHBOARD_AUTH=off`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.dash_bench import UPDATE, Driver, percentile, scenarios  # noqa: E402

HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate, br",
           "Accept": "application/json"}


def record_bodies(db_url: str, views: int) -> list[tuple[str, bytes]]:
    """(callback name, JSON body) of every server-side callback the renderer fires over `views` views."""
    os.environ["DATABASE_URL"] = db_url
    os.environ["DASHBOARD_AUTH"] = "off"
    from dashboard import repository
    from dashboard.app import app

    snap = repository.use_database(db_url).snapshot(max_age=0)
    if not snap.ok:
        raise SystemExit(f"the dashboard cannot read {db_url}: {snap.message}")
    client = app.server.test_client()
    recorded: list[tuple[str, bytes]] = []

    class Recording:
        def post(self, path: str, json: dict) -> Any:  # noqa: A002 - the test client's own keyword
            recorded.append((Driver.name(json), _dumps(json)))
            return client.post(path, json=json)

    driver = Driver(Recording(), client.get("/_dash-dependencies").get_json(), client.get("/_dash-layout").get_json())
    driver.initial(record=False)
    sync = driver.find("f-family.value")
    fact_ids = snap.facts["fact_id"].astype(str).tolist()
    for k, query in enumerate(scenarios(snap, views)):
        driver.store[("url", "search")] = query
        driver.cascade(driver.fire(sync, ["url.search"]), skip={"f-family.value"})
        driver.store[("facts-grid", "getRowsRequest")] = {"startRow": 100 * (k % 3), "endRow": 100 * (k % 3) + 100,
                                                          "sortModel": []}
        driver.fire(driver.find("facts-grid.getRowsResponse"), ["facts-grid.getRowsRequest"])
        driver.store[("g-compare", "clickData")] = {"points": [{"customdata": fact_ids[(k * 7919) % len(fact_ids)]}]}
        driver.cascade([("g-compare", "clickData")])
    return recorded


def _dumps(body: dict) -> bytes:
    from plotly.io.json import to_json_plotly  # what Dash itself uses for its JSON

    return to_json_plotly(body).encode("utf-8")


def procfile_web() -> str:
    for line in (PROJECT_ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit("the Procfile has no web: line")


def start_gunicorn(db_url: str, port: int, workers: int, extra_args: str, auth: bool) -> subprocess.Popen:
    """The Procfile's web process; `extra_args` reach gunicorn through GUNICORN_CMD_ARGS."""
    env = {**os.environ, "DATABASE_URL": db_url, "PORT": str(port), "WEB_CONCURRENCY": str(workers),
           "GUNICORN_CMD_ARGS": extra_args, "PYTHONPATH": str(PROJECT_ROOT)}
    env["DASHBOARD_AUTH"] = "on" if auth else "off"
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-load-{port}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(["sh", "-c", f"exec {procfile_web()}"], cwd=PROJECT_ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


class Client:
    """One analyst's browser: a keep-alive connection (reopened when the server closes it) and its cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        headers = {**HEADERS, **(headers or {})}
        if self.cookie:
            headers["Cookie"] = self.cookie
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        if response.will_close:
            self.conn.close()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, data, response

    def sign_in(self, name: str, password: str) -> None:
        plain = {"Accept": "text/html", "Accept-Encoding": "identity"}
        status, page, _ = self.request("GET", "/login", headers=plain)
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        form = urllib.parse.urlencode({"username": name, "password": password,
                                       "csrf_token": token.group(1).decode() if token else ""}).encode()
        status, _, _ = self.request("POST", "/login", form, {**plain, "Content-Type": "application/x-www-form-urlencoded"})
        if status not in (302, 303):
            raise SystemExit(f"sign-in as {name} failed: HTTP {status}")


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            Client(port).request("GET", "/login")
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer")


def hammer(port: int, bodies: list[tuple[str, bytes]], clients: int, seconds: float,
           account: tuple[str, str] | None) -> dict[str, Any]:
    """`clients` threads replaying the bodies back to back; latencies of the calls that finished in time."""
    latencies: list[float] = []
    by_callback: dict[str, list[float]] = {}
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop_at = [0.0]
    ready = threading.Barrier(clients + 1, timeout=600,  # the clock starts as the last one is ready
                              action=lambda: stop_at.__setitem__(0, time.perf_counter() + seconds))
    failures: list[str] = []

    def one(k: int) -> None:
        client = Client(port)
        try:
            if account:
                client.sign_in(*account)
        except (OSError, SystemExit) as exc:
            failures.append(str(exc))
            ready.wait()
            return
        mine, codes, named = [], Counter(), []
        ready.wait()
        i = (k * 37) % len(bodies)
        while True:
            start = time.perf_counter()
            if start >= stop_at[0]:
                break
            try:
                status, _, _ = client.request("POST", UPDATE, bodies[i][1])
            except OSError as exc:
                status = type(exc).__name__
            end = time.perf_counter()
            if end <= stop_at[0]:
                mine.append(1000 * (end - start))
                named.append((bodies[i][0], mine[-1]))
                codes[status] += 1
            i = (i + 1) % len(bodies)
        with lock:
            latencies.extend(mine)
            statuses.update(codes)
            for name, ms in named:
                by_callback.setdefault(name, []).append(ms)

    threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join(timeout=seconds + 180)
    if failures:
        raise SystemExit(f"{len(failures)} clients could not sign in: {failures[0]}")
    ok = sum(n for code, n in statuses.items() if code in (200, 204))
    return {"clients": clients, "seconds": seconds, "completed": sum(statuses.values()), "ok": ok,
            "idle_client_seconds": round(clients * seconds - sum(latencies) / 1000, 1),  # ~0: every client kept busy
            "statuses": {str(k): v for k, v in statuses.items()},
            "throughput_rps": round(ok / seconds, 1),
            "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1), "max_ms": round(max(latencies, default=0), 1),
            "by_callback": {name: {"calls": len(ms), "p50_ms": round(percentile(ms, 50), 1),
                                   "p99_ms": round(percentile(ms, 99), 1)} for name, ms in sorted(by_callback.items())}}


def measure_variant(db_url: str, bodies: list[tuple[str, bytes]], variant: str, clients: int, seconds: float,
                    account: tuple[str, str] | None) -> dict[str, Any]:
    """One server configuration: 'sync:2' (class:workers) or 'gthread:2x4' (class:workers x threads)."""
    from tests.processes import free_port

    kind, _, size = variant.partition(":")
    workers, _, threads = size.partition("x")
    extra = f"--worker-class {kind}" + (f" --threads {threads}" if threads else "")
    port = free_port()
    server = start_gunicorn(db_url, port, int(workers), extra, account is not None)
    try:
        wait_until_up(port, server)
        load_average = os.getloadavg()[0]
        hammer(port, bodies, max(4 * int(workers), 8), 8 + 4 * int(workers), account)  # every worker loads its data
        result = hammer(port, bodies, clients, seconds, account)
    finally:
        stop(server)
    return {"variant": variant, "worker_class": kind, "workers": int(workers), "threads": int(threads or 1),
            "signed_in": account is not None, "load_before": round(load_average, 2), **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--variants", default="sync:2", help="comma-separated class:workers[xthreads]")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--views", type=int, default=40, help="different views whose callbacks are replayed")
    parser.add_argument("--account", default=None, help="NAME:PASSWORD to sign in with (default: sign-in off)")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    bodies = record_bodies(args.db, args.views)
    account = tuple(args.account.split(":", 1)) if args.account else None
    results = []
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        result = measure_variant(args.db, bodies, variant, args.clients, args.seconds, account)
        results.append(result)
        print(f"{variant:14s} {result['throughput_rps']:7.1f} callbacks/s  p50 {result['p50_ms']:7.0f} ms  "
              f"p99 {result['p99_ms']:7.0f} ms  statuses {result['statuses']}", flush=True)
    payload = {"procfile_web": procfile_web(), "bodies": len(bodies), "callbacks": dict(Counter(n for n, _ in bodies)),
               "results": results, "command": shlex.join(sys.argv)}
    args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())


def render(data: dict[str, Any]) -> list[str]:
    """RESULTS.md's section: callbacks per second and latency per database and worker setting."""
    lines = ["", "## Serving many analysts at once (`python -m bench.load`)", "",
             "gunicorn started from the Procfile's `web:` line, the worker class and count set through "
             "`GUNICORN_CMD_ARGS` and `WEB_CONCURRENCY`; 50 clients, each signed in with its own session and "
             "keep-alive connection, replay the callback requests of 40 different views (state, every view, table "
             "blocks, quote panels) back to back, with `Accept-Encoding: gzip, br`. The load generator shares the "
             "machine's 2 cores with the server, and the 1-minute load average before each run says how busy the "
             "machine was with other people's jobs: compare rows measured at similar load.", "",
             "| database | code | workers | callbacks/s | p50 ms | p95 ms | p99 ms | max ms | not 2xx | load |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for entry in [data.get("load_before", {}), data.get("load", {})]:
        for database, measured in entry.get("databases", {}).items():
            code = entry.get("code", "this version")
            for r in measured.get("results", []):
                bad = sum(n for code_, n in r["statuses"].items() if code_ not in ("200", "204"))
                lines.append(f"| {database} | {code} | {r['variant']} | {r['throughput_rps']:.1f} | {r['p50_ms']:.0f} "
                             f"| {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} | {bad} | {r['load_before']:.1f} |")
    if data.get("load", {}).get("reading"):
        lines += ["", data["load"]["reading"]]
    return lines
