"""Command line: `python -m etl run | refresh | schedule | export`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from etl.paths import CURATED_DIR, RAW_DIR, resolve_db_url

console = Console(stderr=True)


def print_summary(summary) -> None:
    table = Table(title="抽取结果 Extraction summary (article figures)", show_header=True)
    table.add_column("family 指标族")
    table.add_column("facts 事实数", justify="right")
    for family, count in sorted(summary.facts_by_family.items(), key=lambda kv: -kv[1]):
        table.add_row(family, str(count))
    console.print(table)
    console.print(f"articles read 读取文章: {summary.articles_read}   "
                  f"set aside 搁置: {len(summary.rejections)}   facts 事实: {summary.facts_total}   "
                  f"needing review 待复核: {summary.facts_needing_review}   "
                  f"official statistics 官方统计: {summary.statistics_facts}")
    for rejection in summary.rejections:
        console.print(f"[yellow]set aside[/yellow] {rejection.file} ({rejection.reason}): {rejection.detail}")
    console.print(f"database: {summary.db_url}\nCSV: {summary.curated_dir}")


def cmd_run(args: argparse.Namespace) -> int:
    from etl.jobs.refresh import run

    db_url = resolve_db_url(args.db, Path(args.curated))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[file]}"), console=console, transient=True) as bar:
        task = bar.add_task("extracting 抽取", total=None, file="")

        def progress(done: int, total: int, file: str) -> None:
            bar.update(task, completed=done, total=total, file=file)

        try:
            summary = run(Path(args.raw), Path(args.curated), db_url, progress)
        except Exception as exc:  # noqa: BLE001 - the operator needs the reason, nothing was published
            console.print(f"[red]run failed, nothing was published:[/red] {exc}")
            return 1
    print_summary(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description="Zhejiang talent indicators ETL")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="extract every article in the raw folder and publish the tables")
    run_p.add_argument("--raw", default=str(RAW_DIR), help="folder of articles and manifest.csv")
    run_p.add_argument("--curated", default=str(CURATED_DIR), help="folder for the curated CSV files")
    run_p.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL, else SQLite in --curated)")
    run_p.set_defaults(func=cmd_run)
    from etl.workbook.cli import add_export_command

    add_export_command(sub)
    from etl.jobs.cli import add_refresh_commands

    add_refresh_commands(sub)
    return parser


def stop_on_sigterm(signum: int, _frame: object) -> None:
    """A process manager stops us with SIGTERM: unwind like an exception, so the open transaction rolls
    back, the lock row and the scratch folder are removed, and the exit status says why."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
