"""Measure the whole product at scale: ETL, refresh, dashboard, export, on SQLite and PostgreSQL.

    python -m bench.bench                      # full run: 1,000 / 10,000 / 50,000 articles, both databases
    python -m bench.bench --sizes 1000,10000   # smaller
    python -m bench.bench --quick              # a couple of minutes, results in the work folder
    python -m bench.bench --parts dashboard --redo dashboard   # re-measure one part

Results are saved after every measurement to `bench/results.json` and rendered to `bench/RESULTS.md`;
a second run resumes, measuring only what is missing or was skipped (a part that could not be measured, e.g.
without a PostgreSQL server, is recorded as "not measured" and tried again next time).
Not a pytest test: it takes tens of minutes at full size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # `python bench/bench.py` as well as `python -m bench.bench`
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.corpus import build_corpus, ensure_corpus  # noqa: E402
from bench.dash_bench import first_chart_section  # noqa: E402
from bench.load import render as load_section  # noqa: E402
from bench.write_floor import write_floor  # noqa: E402

BENCH_DIR = PROJECT_ROOT / "bench"
DESIGN_FIGURES = BENCH_DIR / "design_figures.md"  # hand-kept figures, appended to RESULTS.md as they are
FLOOR_PATTERN = re.compile(r"\d+(?:\.\d+)?[万亿千]?[人名个家项元%]")
FLOOR_PATTERN_TEXT = r"\d+(?:\.\d+)?[万亿千]?[人名个家项元%]"
MIB = 1024 * 1024
REFRESH_REPEATS = 3  # "+1 article" is measured this many times, each with a new article; the best counts

TARGETS = {
    "etl_vs_floor": 10.0,        # full ETL pass within 10x of one regex pass
    "refresh_1_seconds": 3.0,    # 1 new article on the 10,000-article corpus
    "callback_p95_ms": 300.0,    # every dashboard callback at 100,000 facts
    "export_seconds": 10.0,      # workbook of 100,000 facts
    "etl_peak_mib": 1024.0,      # ETL at 50,000 articles
}


# ----------------------------------------------------------------------------------------------- helpers

@dataclass
class Measured:
    """One child process: wall time, CPU time, peak resident memory, exit code and log tail.

    `peak_mib` is the command's own maximum RSS (os.wait4 in bench/launch.py; with worker processes it is
    the largest single process). `peak_tree_mib` is the largest proportional set size (PSS) of the child and
    all its descendants together, sampled from /proc every 0.5 s: the memory the whole command needs when
    the ETL uses worker processes (pages shared after fork counted once).
    """

    seconds: float
    cpu_seconds: float
    peak_mib: float
    returncode: int
    log_tail: str = ""
    peak_tree_mib: float = 0.0
    load_before: float = 0.0  # the machine's 1-minute load average when the command started (2 CPUs: >2 = busy)
    speed_s: float = 0.0  # `machine_speed()` just before the command: how fast the shared machine ran then

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3),
                "peak_mib": round(self.peak_mib, 1), "peak_tree_mib": round(self.peak_tree_mib, 1),
                "returncode": self.returncode, "load_before": round(self.load_before, 2),
                "load_after": round(os.getloadavg()[0], 2), "speed_s": round(self.speed_s, 3)}


SPEED_WORK = 300_000


def machine_speed() -> float:
    """Seconds a fixed pure-Python workload takes now (best of 3, about 0.3 s in all).

    The machine is shared and its speed drifts by a third over a day; a figure is comparable with another
    only alongside this. Lower is faster.
    """
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        table: dict[str, int] = {}
        for i in range(SPEED_WORK):
            key = f"区{i % 997}:{i}"
            table[key] = table.get(key[:4], 0) + i * i
        timings.append(time.perf_counter() - start)
    return min(timings)


def tree_pids(root: int) -> set[int]:
    """`root` and every descendant process, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text[text.rfind(")") + 2:].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return tree


def tree_pss_mib(root: int) -> float:
    """Proportional set size of `root` and its descendants: forked workers' shared pages counted once."""
    total_kib = 0
    for pid in tree_pids(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
                    break
        except (OSError, ValueError):
            continue
    return total_kib / 1024


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for child commands: no stray DATABASE_URL, the project importable."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONHASHSEED", "0")
    env.update(extra or {})
    return env


MEMORY_GUARD_MIB = float(os.environ.get("BENCH_MEMORY_GUARD_MIB", 16_000))


def run_measured(cmd: list[str], log: Path, env: dict[str, str] | None = None, timeout: float | None = None) -> Measured:
    """Run `cmd` through bench/launch.py, which reports the command's own wall time and rusage (os.wait4):
    peak RSS is this command's, not the benchmark process's size when it spawned it.

    The child runs in its own process group, killed with its workers if the benchmark is interrupted,
    exceeds `timeout`, or needs more than BENCH_MEMORY_GUARD_MIB (default 16,000) so a runaway ETL cannot
    exhaust a machine other people use."""
    log.parent.mkdir(parents=True, exist_ok=True)
    load_before, speed = os.getloadavg()[0], machine_speed()
    guard_note = ""
    report = log.with_suffix(".usage.json")
    report.unlink(missing_ok=True)
    launched = [sys.executable, "-I", "-S", str(BENCH_DIR / "launch.py"), str(report), *cmd]
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(launched, cwd=PROJECT_ROOT, env=env or child_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = None if timeout is None else start + timeout
        tree_peak, next_sample = 0.0, 0.0
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                now = time.perf_counter()
                if deadline is not None and now > deadline:
                    guard_note = f"killed after the {timeout:.0f} s timeout"
                    os.killpg(proc.pid, signal.SIGKILL)
                if now >= next_sample:
                    tree_peak = max(tree_peak, tree_pss_mib(proc.pid))
                    next_sample = now + 0.5
                    if tree_peak > MEMORY_GUARD_MIB and not guard_note:
                        guard_note = f"killed by the benchmark's memory guard at {tree_peak:,.0f} MiB"
                        os.killpg(proc.pid, signal.SIGKILL)
                time.sleep(0.02)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = log.read_text(errors="replace")[-3000:] + (f"\n[bench] {guard_note}" if guard_note else "")
    own = (json.loads(report.read_text()) if report.exists()  # missing when the launcher was killed
           else {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss})
    return Measured(own["seconds"], own["cpu_seconds"], own["maxrss_kib"] / 1024, proc.returncode, tail,
                    tree_peak, load_before, speed)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True).stdout.strip()
    return done.stdout.strip() + ("+uncommitted" if dirty else "")


def count_facts(db_url: str) -> int:
    from sqlalchemy import text

    from etl.paths import resolve_db_url
    from etl.store.schema import make_engine

    engine = make_engine(resolve_db_url(db_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM facts")).scalar_one())
    finally:
        engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_count(path: Path, table: str = "facts") -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------- results

class Results:
    """results.json, saved after each measurement; `pending(key)` says what still needs measuring."""

    def __init__(self, path: Path, fresh: bool, redo: set[str]):
        self.path = path
        self.data: dict[str, Any] = {}
        if path.exists() and not fresh:
            self.data = json.loads(path.read_text())
        self.redo = redo

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def pending(self, key: str) -> bool:
        """True unless an earlier run measured `key` (entries marked not measured are tried again)."""
        if any(key == r or key.startswith(r + ".") for r in self.redo):
            return True
        entry = self.get(key)
        return not (isinstance(entry, dict) and entry.get("status") == "ok")

    def put(self, key: str, value: dict[str, Any]) -> None:
        node = self.data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        value.setdefault("measured_at", datetime.now(UTC).isoformat(timespec="seconds"))
        value.setdefault("commit", git_commit())  # other people commit while a long run goes on
        node[parts[-1]] = value
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
        os.replace(tmp, self.path)


def not_measured(reason: str) -> dict[str, Any]:
    return {"status": "not measured", "reason": reason}


def say(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------------------- postgresql

@dataclass
class Postgres:
    """Where PostgreSQL databases for the benchmark come from: a given server or a throwaway one."""

    admin_url: str | None = None
    server: Any = None
    problem: str = ""
    created: list[str] = field(default_factory=list)

    @classmethod
    def connect(cls, explicit: str | None, workdir: Path) -> Postgres:
        url = explicit or os.environ.get("DATABASE_URL_TEST")
        if url:
            return cls(admin_url=url)
        from tests.pgserver import PgServer, find_pg_bin

        if find_pg_bin() is None:
            return cls(problem="no PostgreSQL: pass --pg-url, set DATABASE_URL_TEST, or install Debian's postgresql")
        try:
            server = PgServer.start(base=workdir / "pg")
        except Exception as exc:  # noqa: BLE001 - reported in the results, the SQLite parts go on
            return cls(problem=f"could not start a throwaway PostgreSQL server: {exc}")
        say(f"started a throwaway PostgreSQL server at {server.url()}")
        return cls(admin_url=server.url(), server=server)

    @property
    def ok(self) -> bool:
        return bool(self.admin_url)

    def fresh_database(self, name: str) -> str:
        """Drop and create database `name`; its URL."""
        from tests.pgserver import create_database, drop_database

        assert self.admin_url
        drop_database(self.admin_url, name)
        return create_database(self.admin_url, name)

    def has_database(self, name: str) -> bool:
        from tests.pgserver import psycopg_connect

        assert self.admin_url
        with psycopg_connect(self.admin_url) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def clone_database(self, source: str, name: str) -> str:
        """CREATE DATABASE name TEMPLATE source (a file copy: seconds, not a re-run); its URL."""
        from sqlalchemy.engine import make_url

        from tests.pgserver import drop_database, psycopg_connect

        assert self.admin_url
        drop_database(self.admin_url, name)
        with psycopg_connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def database_size_mib(self, url: str) -> float:
        from sqlalchemy import text

        from etl.paths import resolve_db_url
        from etl.store.schema import make_engine

        engine = make_engine(resolve_db_url(url))
        try:
            with engine.connect() as conn:
                size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        finally:
            engine.dispose()
        return round(size / MIB, 1)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


# ------------------------------------------------------------------------------------------------ the ETL

def regex_floor(raw: Path, repeats: int = 3) -> dict[str, Any]:
    """One compiled regular expression over every article, files read and decoded: the floor."""
    timings = []
    matches = chars = files = 0
    for _ in range(repeats):
        start = time.perf_counter()
        matches = chars = files = 0
        for path in sorted(raw.glob("*.txt")):
            text = path.read_bytes().decode("utf-8")
            chars += len(text)
            files += 1
            for _match in FLOOR_PATTERN.finditer(text):
                matches += 1
        timings.append(time.perf_counter() - start)
    return {"seconds": round(statistics.median(timings), 4), "repeats": repeats, "files": files,
            "chars": chars, "matches": matches, "pattern": FLOOR_PATTERN_TEXT}


def measure_etl(raw: Path, curated: Path, db_url: str, log: Path) -> dict[str, Any]:
    """`python -m etl run` as a child process: wall time, CPU, peak RSS, facts."""
    if curated.exists():
        shutil.rmtree(curated)
    curated.mkdir(parents=True)
    cmd = [sys.executable, "-m", "etl", "run", "--raw", str(raw), "--curated", str(curated), "--db", db_url]
    measured = run_measured(cmd, log)
    entry: dict[str, Any] = {"command": " ".join(cmd[1:]), **measured.as_dict()}
    if measured.returncode != 0:
        return {"status": "failed", **entry, "log_tail": measured.log_tail}
    entry["facts"] = count_facts(db_url)
    return {"status": "ok", **entry}


def part_etl(args: argparse.Namespace, results: Results, pg: Postgres) -> None:
    for size in args.sizes:
        raw = ensure_corpus(args.workdir, size)
        key = f"etl.sqlite.{size}"
        measured = results.pending(key)
        if measured:
            floor = regex_floor(raw)
            say(f"regex floor at {size:,} articles: {floor['seconds']:.2f} s; running the ETL on SQLite …")
            db = args.workdir / f"etl-{size}.sqlite"
            if db.exists():
                db.unlink()
            entry = measure_etl(raw, args.workdir / f"curated-{size}", sqlite_url(db), args.workdir / f"logs/etl-sqlite-{size}.log")
            entry.update(articles=size, floor=floor)
            if entry["status"] == "ok":
                entry["articles_per_second"] = round(size / entry["seconds"], 1)
                entry["ms_per_article"] = round(1000 * entry["seconds"] / size, 2)
                entry["vs_floor"] = round(entry["seconds"] / floor["seconds"], 1)
                entry["cpu_vs_floor"] = round(entry["cpu_seconds"] / floor["seconds"], 1)
                entry["db_mib"] = round(db.stat().st_size / MIB, 1)
            results.put(key, entry)
            say(f"ETL SQLite {size:,}: {entry.get('seconds')} s, {entry.get('peak_mib')} MiB, "
                f"{entry.get('facts')} facts, ×{entry.get('vs_floor')} the floor")
        measure_write_floor(args, results, size, again=measured)
    if "postgresql" not in args.backends:
        return
    for size in args.pg_sizes:
        key = f"etl.postgresql.{size}"
        if not results.pending(key):
            continue
        if not pg.ok:
            results.put(key, not_measured(pg.problem))
            continue
        raw = ensure_corpus(args.workdir, size)
        say(f"running the ETL on PostgreSQL at {size:,} articles …")
        url = pg.fresh_database(f"bench_etl_{size}")
        entry = measure_etl(raw, args.workdir / f"curated-pg-{size}", url, args.workdir / f"logs/etl-pg-{size}.log")
        entry.update(articles=size)
        floor = results.get(f"etl.sqlite.{size}.floor") or regex_floor(raw)
        entry["floor"] = floor
        if entry["status"] == "ok":
            entry["articles_per_second"] = round(size / entry["seconds"], 1)
            entry["ms_per_article"] = round(1000 * entry["seconds"] / size, 2)
            entry["vs_floor"] = round(entry["seconds"] / floor["seconds"], 1)
            entry["cpu_vs_floor"] = round(entry["cpu_seconds"] / floor["seconds"], 1)
            entry["db_mib"] = pg.database_size_mib(url)
        results.put(key, entry)
        say(f"ETL PostgreSQL {size:,}: {entry.get('seconds')} s, {entry.get('peak_mib')} MiB")


def measure_write_floor(args: argparse.Namespace, results: Results, size: int, again: bool) -> None:
    """The write floor of the database the SQLite run at `size` left behind (see bench/write_floor.py);
    `again` when that run was just measured, so its database is new."""
    key, db = f"writefloor.{size}", args.workdir / f"etl-{size}.sqlite"
    etl = results.get(f"etl.sqlite.{size}") or {}
    if not (again or results.pending(key)) or etl.get("status") != "ok" or not db.exists():
        return
    say(f"write floor at {size:,} articles …")
    entry = {"status": "ok", "articles": size, "speed_s": machine_speed(), **write_floor(db, args.workdir / "scratch")}
    entry["vs_regex_floor"] = round(entry["seconds"] / etl["floor"]["seconds"], 1)
    results.put(key, entry)
    say(f"write floor at {size:,}: {entry['seconds']:.2f} s, ×{entry['vs_regex_floor']} the regex floor")


# -------------------------------------------------------------------------------------------- profile

def profile_rows(stats: Any, total: float, top: int, sort: str, only_project: bool) -> list[dict[str, Any]]:
    """The `top` functions of a pstats.Stats by own ('own_s') or cumulative ('cum_s') time."""
    entries = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        if str(PROJECT_ROOT) in filename:
            where = str(Path(filename).relative_to(PROJECT_ROOT))
        elif only_project:
            continue
        else:
            where = "builtin" if filename == "~" else filename.split("site-packages/")[-1].split("lib/python3.11/")[-1]
        entries.append({"function": f"{where}:{line}({func})", "calls": nc, "own_s": round(tt, 4),
                        "cum_s": round(ct, 4), "own_share": round(tt / total, 3) if total else 0.0,
                        "cum_share": round(ct / total, 3) if total else 0.0})
    return sorted(entries, key=lambda e: -e[sort])[:top]


def cli_profile(raw: Path, workdir: Path, top: int = 25) -> dict[str, Any]:
    """cProfile of the real `python -m etl run` in one process (ZJ_WORKERS=1): where a full run's time goes."""
    import pstats
    import tempfile

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        prof = Path(tmp) / "run.prof"
        cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "etl", "run", "--raw", str(raw),
               "--curated", str(Path(tmp) / "curated"), "--db", sqlite_url(Path(tmp) / "p.sqlite")]
        measured = run_measured(cmd, workdir / "logs/profile-run.log", env=child_env({"ZJ_WORKERS": "1"}))
        if measured.returncode != 0 or not prof.exists():
            return {"error": measured.log_tail[-1500:]}
        stats = pstats.Stats(str(prof))
    total = stats.total_tt
    return {"articles": len(list(raw.glob("*.txt"))), "profiled_wall_seconds": round(measured.seconds, 2),
            "profiled_seconds": round(total, 2), "workers": 1,
            "by_cumulative_time": profile_rows(stats, total, top, "cum_s", True),
            "by_own_time": profile_rows(stats, total, 15, "own_s", False)}


def hot_spots(raw: Path, sample: int, top: int = 15) -> dict[str, Any]:
    """cProfile of `extract_article` over the first `sample` articles: own time and cumulative time."""
    import cProfile
    import pstats

    from etl.extract.facts import extract_article
    from etl.extract.indicators import load_taxonomy
    from etl.extract.regions import load_gazetteer
    from etl.extract.sources import load_articles

    names = sorted(p.name for p in raw.glob("*.txt"))[:sample]
    articles = load_articles(raw, only=names).articles
    gazetteer, taxonomy = load_gazetteer(), load_taxonomy()
    start = time.perf_counter()
    for article in articles:
        extract_article(article, gazetteer, taxonomy)
    plain = time.perf_counter() - start
    profiler = cProfile.Profile()
    profiler.enable()
    for article in articles:
        extract_article(article, gazetteer, taxonomy)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max([stats.total_tt] + [ct for (_f, _l, name), (_c, _n, _t, ct, _r) in stats.stats.items()
                                     if name == "extract_article"])

    return {"articles": len(articles), "ms_per_article": round(1000 * plain / max(1, len(articles)), 2),
            "profiled_seconds": round(total, 3), "by_own_time": profile_rows(stats, total, top, "own_s", False),
            "by_cumulative_time": profile_rows(stats, total, top, "cum_s", True)}


def part_profile(args: argparse.Namespace, results: Results) -> None:
    if not results.pending("profile"):
        return
    size = args.profile_size or (10_000 if 10_000 in args.sizes else min(args.sizes))
    raw = ensure_corpus(args.workdir, size)
    say(f"profiling: `python -m etl run` on {size:,} articles under cProfile, and etl.extract on "
        f"{args.profile_sample} articles …")
    results.put("profile", {"status": "ok", "corpus": size, "run": cli_profile(raw, args.workdir),
                            "extract": hot_spots(raw, args.profile_sample)})


# -------------------------------------------------------------------------------------- facts database

def facts_source(args: argparse.Namespace, results: Results, wanted: int) -> Path:
    """The smallest ETL SQLite database with at least `wanted` facts, running the ETL if none is big enough."""
    candidates = []
    for path in args.workdir.glob("etl-*.sqlite"):
        try:
            n = sqlite_count(path)
        except sqlite3.Error:
            continue
        if n >= wanted:
            candidates.append((n, path))
    if candidates:
        return min(candidates)[1]
    size = max(100, math.ceil(wanted / 30))
    say(f"no ETL database with {wanted:,} facts yet; running the ETL on {size:,} articles to make one …")
    raw = ensure_corpus(args.workdir, size)
    db = args.workdir / f"etl-{size}.sqlite"
    entry = measure_etl(raw, args.workdir / f"curated-{size}", sqlite_url(db), args.workdir / f"logs/etl-sqlite-{size}.log")
    if entry["status"] != "ok":
        raise RuntimeError(f"the ETL failed on {size} articles: {entry.get('log_tail', '')[-800:]}")
    return db


def facts_db(args: argparse.Namespace, results: Results, wanted: int) -> Path:
    """A SQLite copy of an ETL database trimmed to exactly `wanted` facts (whole articles, then the rest)."""
    target = args.workdir / f"facts-{wanted}.sqlite"
    if target.exists():
        if sqlite_count(target) == wanted:
            return target
        target.unlink()
    source = facts_source(args, results, wanted)
    tmp = target.with_suffix(".tmp")
    sqlite_copy(source, tmp)
    conn = sqlite3.connect(tmp)
    try:
        keep, total = [], 0
        for article_id, n in conn.execute(
                "SELECT article_id, count(*) FROM facts GROUP BY article_id ORDER BY article_id"):
            keep.append(article_id)
            total += n
            if total >= wanted:
                break
        conn.execute("CREATE TEMP TABLE keep(article_id TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO keep VALUES (?)", [(a,) for a in keep])
        conn.execute("DELETE FROM facts WHERE article_id NOT IN (SELECT article_id FROM keep)")
        conn.execute("DELETE FROM articles WHERE article_id NOT IN (SELECT article_id FROM keep)")
        extra = total - wanted
        if extra > 0:
            conn.execute("DELETE FROM facts WHERE fact_id IN (SELECT fact_id FROM facts WHERE article_id = ? "
                         "ORDER BY fact_id LIMIT ?)", (keep[-1], extra))
        conn.execute("UPDATE articles SET n_facts = (SELECT count(*) FROM facts f "
                     "WHERE f.article_id = articles.article_id)")
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()
    os.replace(tmp, target)
    return target


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (WAL included) in rollback-journal mode."""
    for stale in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        if stale.exists():
            stale.unlink()
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        src.close()
        dst.close()


def copy_to_postgres(sqlite_path: Path, pg_url: str) -> None:
    """Every table of the SQLite database into a fresh PostgreSQL database, through etl.store.publish."""
    import pandas as pd
    from sqlalchemy import inspect

    from etl.paths import resolve_db_url
    from etl.store.publish import write_tables
    from etl.store.schema import CURATED_TABLES, make_engine, metadata

    source = make_engine(sqlite_url(sqlite_path))
    target = make_engine(resolve_db_url(pg_url))
    try:
        present = set(inspect(source).get_table_names())
        tables = {}
        for name in CURATED_TABLES:
            if name in present:
                tables[name] = pd.read_sql_table(name, source)
        write_tables(target, tables)
        with target.begin() as conn:
            for table in metadata.sorted_tables:
                if table.name in CURATED_TABLES or table.name == "schema_info" or table.name not in present:
                    continue
                frame = pd.read_sql_table(table.name, source)
                if len(frame):
                    columns = [c.name for c in table.columns if c.name in frame.columns]
                    rows = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
                    conn.execute(table.delete())
                    conn.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()


def facts_db_urls(args: argparse.Namespace, results: Results, pg: Postgres, wanted: int) -> dict[str, str]:
    """The `wanted`-fact database on each backend asked for (PostgreSQL only when a server is there)."""
    urls = {"sqlite": sqlite_url(facts_db(args, results, wanted))}
    if "postgresql" in args.backends and pg.ok:
        name = f"bench_facts_{wanted}"
        marker = args.workdir / f".{name}.copied"
        if marker.exists() and pg.admin_url and marker.read_text() == pg.admin_url:
            from sqlalchemy.engine import make_url
            urls["postgresql"] = make_url(pg.admin_url).set(database=name).render_as_string(hide_password=False)
        else:
            url = pg.fresh_database(name)
            say(f"copying {wanted:,} facts into PostgreSQL …")
            copy_to_postgres(Path(urls["sqlite"][len("sqlite:///"):]), url)
            marker.write_text(pg.admin_url or "")
            urls["postgresql"] = url
    return urls


# ---------------------------------------------------------------------------------------------- export

def part_export(args: argparse.Namespace, results: Results, pg: Postgres) -> None:
    keys = {b: f"export.{b}" for b in args.backends}
    if not any(results.pending(k) for k in keys.values()):
        return
    urls = facts_db_urls(args, results, pg, args.export_facts)
    for backend, key in keys.items():
        if not results.pending(key):
            continue
        if backend not in urls:
            results.put(key, not_measured(pg.problem or "no PostgreSQL server"))
            continue
        out = args.workdir / f"export-{backend}-{args.export_facts}.xlsx"
        if out.exists():
            out.unlink()
        say(f"exporting {args.export_facts:,} facts from {backend} …")
        cmd = [sys.executable, "-m", "etl", "export", "--out", str(out), "--db", urls[backend]]
        runs = [run_measured(cmd, args.workdir / f"logs/export-{backend}.log") for _ in range(args.export_repeats)]
        best = min(runs, key=lambda m: m.seconds)
        entry: dict[str, Any] = {"facts": args.export_facts, "command": " ".join(cmd[1:]), **best.as_dict(),
                                 "all_seconds": [round(m.seconds, 2) for m in runs]}
        if best.returncode != 0 or not out.exists():
            results.put(key, {"status": "failed", **entry, "log_tail": best.log_tail})
            continue
        entry["xlsx_mib"] = round(out.stat().st_size / MIB, 1)
        results.put(key, {"status": "ok", **entry})
        say(f"export {backend}: {entry['seconds']} s, {entry['peak_mib']} MiB, {entry['xlsx_mib']} MiB file")


# --------------------------------------------------------------------------------------------- refresh

def part_refresh(args: argparse.Namespace, results: Results, pg: Postgres) -> None:
    for backend in args.backends:
        key = f"refresh.{backend}"
        if not results.pending(key):
            continue
        if backend == "postgresql" and not pg.ok:
            results.put(key, not_measured(pg.problem))
            continue
        results.put(key, measure_refresh(args, backend, pg))


def measure_refresh(args: argparse.Namespace, backend: str, pg: Postgres) -> dict[str, Any]:
    """Copy the base corpus and its ETL database, then time refreshes that add 1 and 100 articles."""
    base = args.refresh_base
    source_raw = ensure_corpus(args.workdir, base)
    work = args.workdir / f"refresh-{backend}"
    if work.exists():
        shutil.rmtree(work)
    raw, curated = work / "raw", work / "curated"
    shutil.copytree(source_raw, raw)
    curated.mkdir(parents=True)
    if backend == "sqlite":
        source_db = args.workdir / f"etl-{base}.sqlite"
        if not source_db.exists():
            say(f"no ETL database for {base:,} articles yet; running the ETL …")
            entry = measure_etl(source_raw, args.workdir / f"curated-{base}", sqlite_url(source_db),
                                args.workdir / f"logs/etl-sqlite-{base}.log")
            if entry["status"] != "ok":
                return {"status": "failed", "reason": "the base ETL run failed", **entry}
        db = curated / "talent.sqlite"
        sqlite_copy(source_db, db)
        db_url = sqlite_url(db)
    else:
        name = f"bench_refresh_{base}"
        db_url = pg.clone_database(f"bench_etl_{base}", name) if pg.has_database(f"bench_etl_{base}") else None
        if db_url is None:
            db_url = pg.fresh_database(name)
            say(f"refresh on PostgreSQL: full run of {base:,} articles as the starting point …")
            entry = measure_etl(raw, curated, db_url, args.workdir / f"logs/refresh-pg-base-{base}.log")
            if entry["status"] != "ok":
                return {"status": "failed", "reason": "the base ETL run failed", **entry}
    cmd = [sys.executable, "-m", "etl", "refresh", "--raw", str(raw), "--curated", str(curated), "--db", db_url]
    quiet = [*cmd, "--no-export"]
    entry = {"corpus": base, "backend": backend, "command": " ".join(quiet[1:])}
    steps = [("first_refresh", quiet, 0, 1), ("no_change", quiet, 0, 1), ("add_1", quiet, 1, REFRESH_REPEATS),
             ("add_100", quiet, 100, 1), ("add_1_with_workbook", cmd, 1, 1)]
    added = base
    for name, command, n, repeats in steps:
        tries = []
        for _ in range(repeats):  # the shared machine's speed drifts: the best of a few new articles
            if n:
                build_corpus(raw, n, start=added, append=True)
                added += n
            measured = run_measured(command, args.workdir / f"logs/refresh-{backend}-{name}.log")
            if measured.returncode != 0:
                return {"status": "failed", **entry, name: measured.as_dict(), "log_tail": measured.log_tail}
            tries.append(measured)
        best = min(tries, key=lambda m: m.seconds)
        entry[name] = {**best.as_dict(), "all_seconds": [round(m.seconds, 2) for m in tries]}
        say(f"refresh {backend} {name}: {best.seconds:.2f} s (of {', '.join(f'{m.seconds:.2f}' for m in tries)}), "
            f"{best.peak_mib:.0f} MiB")
    entry["facts_after"] = count_facts(db_url)
    entry["articles_after"] = added
    return {"status": "ok", **entry}


# ------------------------------------------------------------------------------------------- dashboard

def part_dashboard(args: argparse.Namespace, results: Results, pg: Postgres) -> None:
    keys = {b: f"dashboard.{b}" for b in args.backends}
    if not any(results.pending(k) for k in keys.values()):
        return
    urls = facts_db_urls(args, results, pg, args.dashboard_facts)
    for backend, key in keys.items():
        if not results.pending(key):
            continue
        if backend not in urls:
            results.put(key, not_measured(pg.problem or "no PostgreSQL server"))
            continue
        say(f"dashboard on {backend} with {args.dashboard_facts:,} facts …")
        out = args.workdir / f"logs/dashboard-{backend}.json"
        measured = run_measured([sys.executable, "-m", "bench.dash_bench", "--db", urls[backend], "--reps",
                                 str(args.reps), "--json", str(out)], args.workdir / f"logs/dashboard-{backend}.log",
                                timeout=3600)
        if measured.returncode != 0 or not out.exists():
            results.put(key, {"status": "failed", "log_tail": measured.log_tail})
            continue
        entry = json.loads(out.read_text())
        entry.update(status="ok", facts=args.dashboard_facts, peak_mib=round(measured.peak_mib, 1))
        results.put(key, entry)
        worst = max((c["p95_ms"] for c in entry.get("callbacks", [])), default=None)
        say(f"dashboard {backend}: worst callback p95 {worst} ms")


LOAD_ACCOUNT = ("bench", "a bench-only password")


def part_load(args: argparse.Namespace, results: Results, pg: Postgres) -> None:
    """50 concurrent clients against gunicorn as the Procfile runs it (bench.load), signed in, on the seed
    articles' database and on the dashboard's facts database."""
    if not results.pending("load"):
        return
    from etl.store.accounts import AccountError, set_password
    from etl.store.schema import ensure_schema, make_engine

    seed = args.workdir / "seed" / "talent.sqlite"
    if not seed.exists():
        measure_etl(PROJECT_ROOT / "data" / "raw", seed.parent, sqlite_url(seed), args.workdir / "logs/etl-seed.log")
    databases = {"seed articles": sqlite_url(seed),
                 f"{args.dashboard_facts:,} facts": sqlite_url(facts_db(args, results, args.dashboard_facts))}
    measured = {}
    for name, url in databases.items():
        engine = make_engine(url)
        ensure_schema(engine)
        try:
            set_password(engine, *LOAD_ACCOUNT, create=True)
        except AccountError:
            set_password(engine, *LOAD_ACCOUNT, create=False)
        engine.dispose()
        say(f"load: {args.load_variants} on {name} …")
        out = args.workdir / f"logs/load-{len(measured)}.json"
        run = run_measured([sys.executable, "-m", "bench.load", "--db", url, "--variants", args.load_variants,
                            "--seconds", str(args.load_seconds), "--account", ":".join(LOAD_ACCOUNT), "--json", str(out)],
                           args.workdir / f"logs/load-{len(measured)}.log", timeout=3600)
        if run.returncode != 0 or not out.exists():
            results.put("load", {"status": "failed", "log_tail": run.log_tail})
            return
        measured[name] = json.loads(out.read_text())
    results.put("load", {"status": "ok", "databases": measured, "code": "this version"})


# ---------------------------------------------------------------------------------------------- report

def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("✅ met" if ok else "❌ missed")


def target_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, measured, goal, verdict) for the issue's five targets."""
    rows = []
    etl = data.get("etl", {})
    for backend in ("sqlite", "postgresql"):
        for size, entry in sorted(etl.get(backend, {}).items(), key=lambda kv: int(kv[0])):
            if entry.get("status") == "ok":
                ratio = entry["vs_floor"]
                rows.append((f"ETL {backend} {int(size):,} articles vs regex floor",
                             f"×{ratio:,.1f} ({entry['seconds']:,.1f} s vs {entry['floor']['seconds']:,.2f} s)",
                             f"≤ ×{TARGETS['etl_vs_floor']:.0f}", _verdict(ratio <= TARGETS["etl_vs_floor"])))
    for backend in ("sqlite", "postgresql"):
        entry = etl.get(backend, {}).get("50000")
        if entry and entry.get("status") == "ok":
            peak = max(entry["peak_mib"], entry.get("peak_tree_mib", 0))
            rows.append((f"ETL peak memory, 50,000 articles ({backend})",
                         f"{peak:,.0f} MiB (main process {entry['peak_mib']:,.0f}, with workers {entry.get('peak_tree_mib', 0):,.0f})",
                         f"< {TARGETS['etl_peak_mib']:.0f} MiB", _verdict(peak < TARGETS["etl_peak_mib"])))
    for backend, refresh in data.get("refresh", {}).items():
        if refresh.get("status") == "ok":
            sec = refresh["add_1"]["seconds"]
            rows.append((f"refresh +1 article on {refresh['corpus']:,} ({backend})", f"{sec:.2f} s",
                         f"< {TARGETS['refresh_1_seconds']:.0f} s", _verdict(sec < TARGETS["refresh_1_seconds"])))
        else:
            rows.append((f"refresh +1 article on 10,000 ({backend})", refresh.get("reason", "not measured"), "< 3 s", "–"))
    for backend, entry in data.get("dashboard", {}).items():
        if entry.get("status") == "ok" and entry.get("callbacks"):
            worst = max(entry["callbacks"], key=lambda c: c["p95_ms"])
            rows.append((f"dashboard worst callback p95, {entry['facts']:,} facts ({backend})",
                         f"{worst['p95_ms']:.0f} ms ({worst['name']})", f"< {TARGETS['callback_p95_ms']:.0f} ms",
                         _verdict(worst["p95_ms"] < TARGETS["callback_p95_ms"])))
        else:
            rows.append((f"dashboard callbacks ({backend})", entry.get("reason", "not measured"), "< 300 ms", "–"))
    for backend, entry in data.get("export", {}).items():
        if entry.get("status") == "ok":
            rows.append((f"export {entry['facts']:,} facts ({backend})", f"{entry['seconds']:.1f} s",
                         f"< {TARGETS['export_seconds']:.0f} s", _verdict(entry["seconds"] < TARGETS["export_seconds"])))
        else:
            rows.append((f"export ({backend})", entry.get("reason", entry.get("status", "not measured")), "< 10 s", "–"))
    return rows


def _write_floors(data: dict[str, Any]) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """(articles, write floor, SQLite ETL entry) for every size where both were measured."""
    etl = data.get("etl", {}).get("sqlite", {})
    return [(int(size), wf, etl[size]) for size, wf in sorted(data.get("writefloor", {}).items(), key=lambda kv: int(kv[0]))
            if wf.get("status") == "ok" and etl.get(size, {}).get("status") == "ok"]


def write_floor_reading(data: dict[str, Any]) -> list[str]:
    """What the write floor says about the ETL target, at the largest size where it was measured."""
    floors = _write_floors(data)
    if not floors:
        return []
    size, wf, etl = floors[-1]
    budget = TARGETS["etl_vs_floor"] * etl["floor"]["seconds"]
    left = budget - wf["seconds"]
    extract_ms = data.get("profile", {}).get("extract", {}).get("ms_per_article")
    spent = (f" The extractor alone takes {extract_ms:.1f} ms of CPU per article today (see the profile below)."
             if extract_ms else "")
    room = (f"leaves {left:.1f} s of the budget, {1000 * left / size:.2f} ms per article of wall time on "
            "both cores, for reading, extracting, classifying, validating and per-capita figures" if left > 0 else
            "leaves nothing of the budget for reading and extracting the articles at all")
    return ["", f"**The ETL target against the write floor.** At {size:,} articles, ×{TARGETS['etl_vs_floor']:.0f} the "
            f"regex floor is {budget:.1f} s. Writing that run's own output, {wf['rows'].get('facts', 0):,} facts and "
            f"{wf['rows'].get('derived_facts', 0):,} derived facts, as ready rows into an empty SQLite database "
            f"(indexes built after) and into CSV files takes {wf['seconds']:.1f} s by itself "
            f"(×{wf['vs_regex_floor']:.1f} the regex floor), before one article is read. That {room}."
            f"{spent} The full run took ×{etl['seconds'] / wf['seconds']:.1f} its write floor. "
            "See \"Write floor\" below."]


def write_floor_table(data: dict[str, Any]) -> list[str]:
    floors = _write_floors(data)
    if not floors:
        return []
    lines = ["", "### Write floor (`bench/write_floor.py`)", "",
             "The rows the SQLite run produced (facts and derived facts), copied as ready tuples into an empty "
             "SQLite database of the same schema, in one transaction with the indexes built after the rows, and "
             "written with `csv.writer`. Only the writing is timed. This is what any ETL that keeps these tables "
             "must spend beyond scanning the text, however it finds its facts.", "",
             "| articles | fact rows | derived rows | insert s | indexes s | CSV s | write floor s | ×regex floor "
             "| ETL ×write floor | speed s |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size, wf, etl in floors:
        lines.append(f"| {size:,} | {wf['rows'].get('facts', 0):,} | {wf['rows'].get('derived_facts', 0):,} "
                     f"| {wf['insert_seconds']:.2f} | {wf['indexes_seconds']:.2f} | {wf['csv_seconds']:.2f} "
                     f"| {wf['seconds']:.2f} | ×{wf['vs_regex_floor']:.1f} | ×{etl['seconds'] / wf['seconds']:.1f} "
                     f"| {_speed(wf)} |")
    return lines


def _speed(entry: dict[str, Any]) -> str:
    return f"{entry['speed_s']:.3f}" if entry.get("speed_s") else "\u2013"


def render_markdown(data: dict[str, Any]) -> str:
    meta = data.get("meta", {})
    lines = ["# Benchmark results", "",
             f"Produced by `python -m bench.bench` on {meta.get('machine', '?')}, Python {meta.get('python', '?')} "
             "(the runs that produced these figures are listed at the end). Re-run it to refresh this file; "
             "`bench/results.json` holds every figure with when it was measured.", "",
             "## Targets", "", "| target | measured | goal | verdict |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in target_rows(data)]
    lines += write_floor_reading(data)

    lines += ["", "## Full ETL (`python -m etl run`, child process)", "",
              "Synthetic corpus: the five seed articles re-located to other cities/counties of the gazetteer and "
              "re-dated (manifest date and explicit years shifted into 2016–2025). Floor: one pass of "
              f"`re.compile(r\"{FLOOR_PATTERN_TEXT}\")` `finditer` over every article, files read and decoded "
              "(median of 3).", "",
              "Peak memory: the main process's own maximum RSS (reported by `bench/launch.py`, so the benchmark's "
              "own size does not leak into it), and the largest PSS of the main process and its worker processes "
              "together, extraction and CSV formatting (sampled every 0.5 s). ×floor compares wall time (the ETL uses both "
              "cores, the floor one); ×floor CPU compares CPU time. Load: the machine's 1-minute load average "
              "when the run started (2 CPUs; other people's jobs share the machine). Speed: seconds a fixed pure-Python "
              "workload took just before the command (`machine_speed`; lower is faster): the shared machine's "
              "speed drifts by a third over a day, so compare figures measured at different speeds with care "
              "(\u2013 where the figure predates this column).", "",
              "| backend | articles | facts | wall s | articles/s | ms/article | CPU s | peak RSS MiB | peak PSS all MiB | DB MiB | floor s | ×floor | ×floor CPU | load | speed s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for backend in ("sqlite", "postgresql"):
        for size, e in sorted(data.get("etl", {}).get(backend, {}).items(), key=lambda kv: int(kv[0])):
            if e.get("status") != "ok":
                why = e.get("reason", "") or e.get("log_tail", "")[-200:].replace("\n", " ").replace("|", "/")
                lines.append(f"| {backend} | {int(size):,} | {e.get('status')}: {why} ||||||||||||")
                continue
            lines.append(f"| {backend} | {int(size):,} | {e['facts']:,} | {e['seconds']:,.1f} | {e['articles_per_second']:,.1f} "
                         f"| {e['ms_per_article']:.2f} | {e['cpu_seconds']:,.1f} | {e['peak_mib']:,.0f} "
                         f"| {e.get('peak_tree_mib', 0):,.0f} | {_fmt(e.get('db_mib'), 1)} "
                         f"| {e['floor']['seconds']:.2f} | ×{e['vs_floor']:,.1f} | ×{e.get('cpu_vs_floor', 0):,.1f} "
                         f"| {e.get('load_before', 0):.1f} | {_speed(e)} |")

    lines += write_floor_table(data)

    profile = data.get("profile", {})
    if profile.get("status") == "ok":
        run_p = profile.get("run", {})
        if "by_cumulative_time" in run_p:
            lines += ["", f"## Where a full run's time goes (`python -m etl run` under cProfile, "
                      f"{run_p['articles']:,} articles, one process)", "",
                      f"Profiled run: {run_p['profiled_seconds']:.1f} s of CPU in profiled functions. "
                      "Cumulative time of the project's functions (a function's share includes its callees):", "",
                      "| function | calls | cumulative s | share |", "|---|---:|---:|---:|"]
            lines += [f"| `{r['function']}` | {r['calls']:,} | {r['cum_s']:.2f} | {100 * r['cum_share']:.0f}% |"
                      for r in run_p["by_cumulative_time"]]
            lines += ["", "By own time (all code, including libraries):", "", "| function | calls | own s | share |",
                      "|---|---:|---:|---:|"]
            lines += [f"| `{r['function']}` | {r['calls']:,} | {r['own_s']:.2f} | {100 * r['own_share']:.0f}% |"
                      for r in run_p["by_own_time"]]
        elif run_p:
            lines += ["", f"Profile of the full run failed: {run_p.get('error', '')[-500:]}"]
        ex = profile["extract"]
        lines += ["", f"### Hot spots of `etl.extract` (cProfile, {ex['articles']} articles, "
                  f"{ex['ms_per_article']:.1f} ms/article unprofiled)", "",
                  "By own time (all functions):", "", "| function | calls | own s | share |", "|---|---:|---:|---:|"]
        lines += [f"| `{r['function']}` | {r['calls']:,} | {r['own_s']:.3f} | {100 * r['own_share']:.0f}% |"
                  for r in ex["by_own_time"][:12]]
        lines += ["", "By cumulative time (project code):", "", "| function | calls | cumulative s | share |",
                  "|---|---:|---:|---:|"]
        lines += [f"| `{r['function']}` | {r['calls']:,} | {r['cum_s']:.3f} | {100 * r['cum_share']:.0f}% |"
                  for r in ex["by_cumulative_time"][:12]]

    lines += ["", "## Incremental refresh (`python -m etl refresh`)", ""]
    for backend, refresh in data.get("refresh", {}).items():
        if refresh.get("status") != "ok":
            lines.append(f"- {backend}: **not measured**: {refresh.get('reason', refresh.get('status', 'not run'))}")
            continue
        lines += [f"### {backend}, corpus of {refresh['corpus']:,} articles", "",
                  f"`{refresh['command']}`", "", "| step | wall s | CPU s | peak RSS MiB | speed s |",
                  "|---|---:|---:|---:|---:|"]
        for label, k in (("first refresh after the full run", "first_refresh"), ("no change", "no_change"),
                         ("+1 article", "add_1"), ("+100 articles", "add_100"),
                         ("+1 article, also rewriting the officials' workbook (default)", "add_1_with_workbook")):
            if k in refresh:
                tries = refresh[k].get("all_seconds", [])
                seconds = f"{refresh[k]['seconds']:.2f}" + (
                    f" (best of {', '.join(f'{t:.2f}' for t in tries)})" if len(tries) > 1 else "")
                lines.append(f"| {label} | {seconds} | {refresh[k]['cpu_seconds']:.2f} "
                             f"| {refresh[k]['peak_mib']:,.0f} | {_speed(refresh[k])} |")
        lines += ["", f"After: {refresh.get('articles_after', 0):,} articles, {refresh.get('facts_after', 0):,} facts.", ""]
    if not data.get("refresh"):
        lines.append("**Not measured**: not run")

    lines += ["", "## Dashboard", ""]
    for backend, e in data.get("dashboard", {}).items():
        if e.get("status") != "ok":
            lines += [f"- {backend}: **not measured**: {e.get('reason', e.get('status'))}", ""]
            continue
        lines += [f"### {backend}, {e['facts']:,} facts", "", e.get("method", ""), "",
                  "| callback (first output) | timed calls | no-update calls | p50 ms | p95 ms | max ms | response KiB (p50) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| `{c['name']}` | {c['calls']} | {c.get('no_update_calls', 0)} | {c['p50_ms']:.1f} | {c['p95_ms']:.1f} "
                  f"| {c['max_ms']:.1f} | {c.get('kib_p50', 0):.1f} |" for c in e.get("callbacks", [])]
        if e.get("downloads"):
            lines += ["", "Downloads (not interactive callbacks; the whole table, then one view's table):", "",
                      "| download | calls | p50 ms | p95 ms |", "|---|---:|---:|---:|"]
            lines += [f"| `{c['name']}` | {c['calls']} | {c['p50_ms']:.0f} | {c['p95_ms']:.0f} |" for c in e["downloads"]]
        lines += ["", "| page load | loads | p50 ms | p95 ms | note |", "|---|---:|---:|---:|---|"]
        for name, p in e.get("page", {}).items():
            note = p.get("note", "")
            if p.get("first_callback_p50_ms"):
                note += f" First callback sent at {p['first_callback_p50_ms']:.0f} ms (p50)."
            lines.append(f"| {name} | {p.get('calls', 0)} | {p.get('p50_ms', 0):.0f} | {p.get('p95_ms', 0):.0f} | {note} |")
        lines += ["", f"- first load of the data version in a fresh process ({e['facts']:,} facts): "
                  f"{e.get('first_load_ms', 0):,.0f} ms; peak RSS of the measuring process "
                  f"{e.get('peak_mib', 0):,.0f} MiB (one web worker holds about as much).", ""]

    lines += first_chart_section(data)
    lines += load_section(data)
    lines += ["", "## Excel export (`python -m etl export`)", ""]
    for backend, e in data.get("export", {}).items():
        if e.get("status") == "ok":
            lines.append(f"- {backend}: {e['facts']:,} facts in {e['seconds']:.2f} s (best of {len(e['all_seconds'])}: "
                         f"{', '.join(f'{s:.2f}' for s in e['all_seconds'])}), peak RSS {e['peak_mib']:,.0f} MiB, "
                         f"workbook {e['xlsx_mib']:.1f} MiB, machine speed {_speed(e)} s")
        else:
            lines.append(f"- {backend}: **{e.get('status')}**: {e.get('reason', '')}{e.get('log_tail', '')[-300:]}")
    lines += ["", "## Machine and runs", "", f"- {meta.get('machine', '?')}, shared with other people's jobs "
              "(see the load column); every entry in `results.json` records when it was measured."]
    for run in data.get("runs", []):
        lines.append(f"- `{run.get('command', '').strip()}`: {run.get('started', '?')} → {run.get('finished', '?')}, "
                     f"{_fmt(run.get('wall_seconds'), 0)} s wall" + (f"; {run['note']}" if run.get("note") else ""))
    lines.append("")
    if DESIGN_FIGURES.exists():
        lines += [DESIGN_FIGURES.read_text(encoding="utf-8")]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ main

def parse_sizes(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=None, help="corpus sizes for the ETL (default 1000,10000,50000)")
    parser.add_argument("--pg-sizes", type=parse_sizes, default=None, help="sizes for the ETL on PostgreSQL (default: --sizes)")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repetitions; results in the work folder")
    parser.add_argument("--parts", default="etl,profile,refresh,dashboard,load,export",
                        help="comma-separated: etl, profile, refresh, dashboard, load, export")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--pg-url", default=None, help="admin URL of a PostgreSQL server (default: $DATABASE_URL_TEST, "
                        "else a throwaway server started from the local binaries)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/zj-bench"), help="corpora, databases and logs")
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default bench/results.json)")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--render", action="store_true", help="only render RESULTS.md from the results JSON")
    parser.add_argument("--redo", default="", help="comma-separated result keys to measure again, e.g. etl.sqlite.1000,dashboard")
    parser.add_argument("--dashboard-facts", type=int, default=None)
    parser.add_argument("--export-facts", type=int, default=None)
    parser.add_argument("--export-repeats", type=int, default=None)
    parser.add_argument("--refresh-base", type=int, default=None)
    parser.add_argument("--reps", type=int, default=None, help="calls per dashboard callback")
    parser.add_argument("--load-variants", default="sync:2,sync:4,gthread:2x4,gthread:2x8",
                        help="gunicorn settings for the load part: class:workers[xthreads], comma-separated")
    parser.add_argument("--load-seconds", type=float, default=None, help="seconds of load per setting")
    parser.add_argument("--profile-sample", type=int, default=300, help="articles for the cProfile of etl.extract")
    parser.add_argument("--profile-size", type=int, default=None,
                        help="corpus for the cProfile of `python -m etl run` (default 10000 if measured, else the smallest)")
    return parser


def apply_defaults(args: argparse.Namespace) -> None:
    quick = args.quick
    args.sizes = args.sizes or ([200, 1000] if quick else [1000, 10000, 50000])
    args.pg_sizes = args.pg_sizes or args.sizes
    args.dashboard_facts = args.dashboard_facts or (20_000 if quick else 100_000)
    args.export_facts = args.export_facts or (20_000 if quick else 100_000)
    args.export_repeats = args.export_repeats or (1 if quick else 2)
    args.refresh_base = args.refresh_base or (1000 if quick else 10_000)
    args.reps = args.reps or (5 if quick else 30)
    args.load_seconds = args.load_seconds or (10 if quick else 40)
    if args.out is None:
        args.out = args.workdir / "results-quick.json" if quick else BENCH_DIR / "results.json"
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.workdir.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    apply_defaults(args)
    if args.render:
        results = Results(args.out, False, set())
        markdown = render_markdown(results.data)
        (args.out.with_name("RESULTS.md") if args.out.parent == BENCH_DIR else args.out.with_suffix(".md")).write_text(markdown)
        print(markdown)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the PostgreSQL server
    results = Results(args.out, args.fresh, {r.strip() for r in args.redo.split(",") if r.strip()})
    started = time.perf_counter()
    results.data["meta"] = {
        "command": "python -m bench.bench " + " ".join(argv), "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f} GiB RAM, {platform.system()}",
        "commit": git_commit(), "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": args.sizes, "pg_sizes": args.pg_sizes, "quick": args.quick,
    }
    pg = Postgres.connect(args.pg_url, args.workdir) if "postgresql" in args.backends else Postgres(problem="not asked for")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("etl", lambda: part_etl(args, results, pg)),
        ("profile", lambda: part_profile(args, results)),
        ("refresh", lambda: part_refresh(args, results, pg)),
        ("dashboard", lambda: part_dashboard(args, results, pg)),
        ("load", lambda: part_load(args, results, pg)),
        ("export", lambda: part_export(args, results, pg)),
    ]
    try:
        for name, step in steps:
            if name in args.parts:
                step()
    finally:
        meta = results.data["meta"]
        meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        meta["wall_seconds"] = round(time.perf_counter() - started, 1)
        history = results.data.setdefault("runs", [])
        history.append({k: meta[k] for k in ("command", "started", "finished", "wall_seconds", "commit")})
        results.save()
        pg.close()
    markdown = render_markdown(results.data)
    md_path = args.out.with_name("RESULTS.md") if args.out.parent == BENCH_DIR else args.out.with_suffix(".md")
    md_path.write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
