"""How long a refresh takes that adds one article to a corpus of 10,000 (not a test; takes a few minutes).

    python scripts/time_refresh.py                 # 10,000 articles in a temporary folder
    python scripts/time_refresh.py --size 2000     # smaller
    python scripts/time_refresh.py --workdir /tmp/zj-refresh-bench --keep   # reuse the corpus next time

The corpus is the seed articles copied under new names, each with a line appended that carries a counter,
so every copy has its own hash (and its own facts), with manifest rows copied from the seed's. The script
builds it, runs `python -m etl run` once (the set-up, timed but not the point), then adds one article and
times `python -m etl refresh` as an operator runs it (a new process: interpreter start and imports
included) and the same refresh in-process, and finally a refresh that finds nothing new.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from etl.jobs.plan import Options  # noqa: E402
from etl.jobs.refresh import update  # noqa: E402
from etl.paths import RAW_DIR  # noqa: E402 - after the path set-up above


def build_corpus(raw: Path, size: int) -> None:
    """`size` distinct articles made from the seed ones, plus the statistics folder and a manifest."""
    raw.mkdir(parents=True, exist_ok=True)
    seeds = sorted(RAW_DIR.glob("*.txt"))
    with (RAW_DIR / "manifest.csv").open(encoding="utf-8") as fh:
        rows = {row["file"]: row for row in csv.DictReader(fh)}
    fields = list(next(iter(rows.values())).keys())
    texts = [p.read_text(encoding="utf-8") for p in seeds]
    with (raw / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for k in range(size):
            seed = seeds[k % len(seeds)]
            name = f"c{k:06d}_{seed.stem[:3]}.txt"
            (raw / name).write_text(texts[k % len(seeds)] + f"\n（编号 {k}）\n", encoding="utf-8")
            writer.writerow({**rows[seed.name], "file": name})
    if (RAW_DIR / "statistics").is_dir():
        shutil.copytree(RAW_DIR / "statistics", raw / "statistics", dirs_exist_ok=True)


def add_article(raw: Path, k: int) -> None:
    seed = sorted(RAW_DIR.glob("*.txt"))[0]
    name = f"new_{k:06d}.txt"
    (raw / name).write_text(seed.read_text(encoding="utf-8") + f"\n（新增 {k}）\n", encoding="utf-8")
    with (raw / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{name},新增文章 {k},,2024-10,,嘉兴市\n")


def cli_refresh(raw: Path, curated: Path, db_url: str) -> tuple[str, str]:
    """Wall time and CPU time (user + system: what the wall time would be on an idle core) of one refresh."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "etl", "refresh", "--raw", str(raw), "--curated", str(curated),
                           "--db", db_url, "--no-export"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"refresh failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return f"{elapsed:.2f} s wall, {cpu:.2f} s CPU", " ".join(done.stderr.split())[:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (default: delete it)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="zj-refresh-"))
    raw, curated = work / "raw", work / "curated"
    db_url = f"sqlite:///{work / 'talent.sqlite'}"
    try:
        if not (raw / "manifest.csv").exists():
            started = time.perf_counter()
            build_corpus(raw, args.size)
            print(f"corpus: {args.size} articles in {time.perf_counter() - started:.1f} s ({raw})")
            started = time.perf_counter()
            summary = update(Options(raw_dir=raw, curated_dir=curated, db_url=db_url, full=True, kind="run",
                                     export=False, lock_wait=60))
            print(f"full run: {time.perf_counter() - started:.1f} s, {summary.facts_total} facts")
        time.sleep(2.5)  # let the files age past the refresh's "changed too recently to trust" window
        k = int(time.time())
        add_article(raw, k)
        elapsed, said = cli_refresh(raw, curated, db_url)
        print(f"refresh adding 1 article to {args.size} (python -m etl refresh, new process): {elapsed}")
        print(f"  {said}")
        add_article(raw, k + 1)
        started, cpu = time.perf_counter(), time.process_time()
        summary = update(Options(raw_dir=raw, curated_dir=curated, db_url=db_url, export=False))
        print(f"the same, in-process (no interpreter start or imports): {time.perf_counter() - started:.2f} s wall, "
              f"{time.process_time() - cpu:.2f} s CPU ({summary.outcome}, +{summary.facts_added} facts)")
        elapsed, said = cli_refresh(raw, curated, db_url)
        print(f"refresh with nothing new (new process): {elapsed}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
