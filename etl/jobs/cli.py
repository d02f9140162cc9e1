"""The command line: `python -m etl run | refresh | schedule | export | migrate`.

Building the parser loads no pandas, SQLAlchemy or openpyxl: each command imports the job it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from etl.jobs.schedule import cron_trigger, next_run_time, schedule
from etl.jobs.users import add_user_commands
from etl.paths import CURATED_DIR, RAW_DIR, REFERENCE_DIR, RedactingFormatter, redact, resolve_db_url
from etl.workbook.cli import add_export_command

if TYPE_CHECKING:  # the job's modules load when a command runs, not to build the parser
    from etl.jobs.batches import RunSummary

console = Console(stderr=True)
log = logging.getLogger("etl.refresh")


def print_summary(summary: RunSummary) -> None:
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
    console.print(f"database: {redact(summary.db_url)}\nCSV: {summary.curated_dir}")


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
            console.print(f"[red]run failed, nothing was published:[/red] {redact(exc)}")
            return 1
    print_summary(summary)
    return 0


def print_run(summary: RunSummary) -> None:
    """One line on what happened, then what was set aside and any orphaned correction."""
    colour = {"success": "green", "nothing_new": "cyan", "skipped": "yellow"}.get(summary.outcome, "red")
    console.print(f"[{colour}]{summary.kind} {summary.outcome}[/{colour}] (run {summary.run_id}): {summary.message}")
    console.print(f"facts 事实: {summary.facts_total}   needing review 待复核: {summary.facts_needing_review}   "
                  f"corrections applied 已更正: {summary.corrections_applied}")
    for rejection in summary.rejections:
        console.print(f"[yellow]set aside[/yellow] {rejection.file} ({rejection.reason}): {rejection.detail}")
    if summary.error:
        console.print(f"[red]error:[/red] {summary.error}")


def options_from(args: argparse.Namespace):
    from etl.jobs.plan import Options

    curated = Path(args.curated)
    return Options(raw_dir=Path(args.raw), curated_dir=curated, db_url=resolve_db_url(args.db, curated),
                   reference_dir=Path(args.reference),
                   corrections_path=Path(args.corrections) if args.corrections else None,
                   export_dir=Path(args.export_dir) if args.export_dir else None, export=not args.no_export,
                   full=getattr(args, "full", False), lock_wait=args.wait)


def cmd_refresh(args: argparse.Namespace) -> int:
    from etl.jobs.refresh import update

    try:
        summary = update(options_from(args))
    except Exception as exc:  # noqa: BLE001 - the operator needs the reason; nothing was published
        console.print(f"[red]refresh failed, nothing was published:[/red] {type(exc).__name__}: {redact(exc)}")
        return 1
    print_run(summary)
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from etl.jobs.refresh import update

    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    opts = options_from(args)
    try:
        cron_trigger(args.cron)
    except ValueError as exc:
        console.print(f"[red]REFRESH_CRON / --cron is not a five-field cron expression:[/red] {exc}")
        return 2

    def job() -> None:
        try:
            summary = update(opts)
        except Exception:  # noqa: BLE001 - logged by update; the schedule goes on
            return
        log.info("refresh %s (run %s): %s", summary.outcome, summary.run_id, summary.message)

    console.print(f"refresh scheduled; next run {next_run_time() if not args.cron else 'per --cron'}")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the schedule quietly
        schedule(job, args.cron, run_now=args.now)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from etl.store.schema import ensure_schema, make_engine

    db_url = resolve_db_url(args.db, Path(args.curated))
    if db_url.startswith("sqlite:///"):
        Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(db_url)
    try:
        ensure_schema(engine, check_all=True)
    finally:
        engine.dispose()
    console.print(f"schema is current: {redact(db_url)}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", default=str(RAW_DIR), help="folder of articles and manifest.csv")
    parser.add_argument("--curated", default=str(CURATED_DIR), help="folder for the curated CSV files")
    parser.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL, else SQLite in --curated)")
    parser.add_argument("--reference", default=str(REFERENCE_DIR), help="reference data folder")
    parser.add_argument("--corrections", default=None,
                        help="analysts' corrections file (default: corrections.csv in the reference folder)")
    parser.add_argument("--export-dir", default=None,
                        help="folder for the officials' workbook (default: $EXPORT_DIR, else <curated>/exports)")
    parser.add_argument("--no-export", action="store_true", help="do not write the workbook")
    parser.add_argument("--wait", type=float, default=0.0,
                        help="seconds to wait for a running job's lock (default: exit at once)")


def add_refresh_commands(sub: argparse._SubParsersAction) -> None:
    refresh_p = sub.add_parser("refresh", help="publish what changed in the raw folder since the last run")
    _common(refresh_p)
    refresh_p.add_argument("--full", action="store_true", help="re-read and re-extract every article")
    refresh_p.set_defaults(func=cmd_refresh)

    schedule_p = sub.add_parser("schedule", help="run the refresh on REFRESH_CRON (default 06:00 Asia/Shanghai)")
    _common(schedule_p)
    schedule_p.add_argument("--cron", default=None, help="five-field cron expression (default: $REFRESH_CRON)")
    schedule_p.add_argument("--now", action="store_true", help="also refresh once at start")
    schedule_p.set_defaults(func=cmd_schedule)

    migrate_p = sub.add_parser("migrate", help="create or upgrade the database schema (idempotent)")
    migrate_p.add_argument("--curated", default=str(CURATED_DIR), help="folder of the embedded SQLite file")
    migrate_p.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL, else SQLite)")
    migrate_p.set_defaults(func=cmd_migrate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description="Zhejiang talent indicators ETL")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="extract every article in the raw folder and publish the tables")
    run_p.add_argument("--raw", default=str(RAW_DIR), help="folder of articles and manifest.csv")
    run_p.add_argument("--curated", default=str(CURATED_DIR), help="folder for the curated CSV files")
    run_p.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL, else SQLite in --curated)")
    run_p.set_defaults(func=cmd_run)
    add_export_command(sub)
    add_refresh_commands(sub)
    add_user_commands(sub)
    return parser


def stop_on_sigterm(signum: int, _frame: object) -> None:
    """A process manager stops us with SIGTERM: unwind like an exception, so the open transaction rolls
    back, the lock row and the scratch folder are removed, and the exit status says why."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - a reason, never a traceback that may quote the database URL
        console.print(f"[red]{args.command} failed:[/red] {type(exc).__name__}: {redact(exc)}")
        return 1
