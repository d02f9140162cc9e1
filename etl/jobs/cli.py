"""The command line: `python -m etl run | add | refresh | schedule | export | migrate`.

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
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from etl.jobs.schedule import cron_trigger, next_run_time, schedule
from etl.jobs.users import add_user_commands
from etl.paths import CURATED_DIR, RAW_DIR, REFERENCE_DIR, RedactingFormatter, redact, resolve_db_url
from etl.workbook.cli import add_export_command

if TYPE_CHECKING:  # the job's modules load when a command runs, not to build the parser
    from etl.jobs.batches import RunSummary

console = Console(stderr=True)
RUN_LOCK_WAIT_SECONDS = 600.0  # `add` waits this long for a running refresh, then publishes its own
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
                  f"statistics 统计数字: {summary.statistics_facts}")
    for rejection in summary.rejections:
        console.print(f"[yellow]set aside[/yellow] {escape(rejection.file)} ({rejection.reason}): {escape(rejection.detail)}")
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
            summary = run(Path(args.raw), Path(args.curated), db_url, progress, limits=input_limits(args))
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
        console.print(f"[yellow]set aside[/yellow] {escape(rejection.file)} ({rejection.reason}): {escape(rejection.detail)}")
    if summary.error:
        console.print(f"[red]error:[/red] {summary.error}")


def input_limits(args: argparse.Namespace):
    """How big an article may be: --max-article-mb, else ZJ_MAX_ARTICLE_MB, else the default."""
    from etl.extract.sources import InputLimits

    return InputLimits(args.max_article_mb) if args.max_article_mb else InputLimits.from_env()


def options_from(args: argparse.Namespace):
    from etl.jobs.plan import Options

    curated = Path(args.curated)
    return Options(raw_dir=Path(args.raw), curated_dir=curated, db_url=resolve_db_url(args.db, curated),
                   reference_dir=Path(args.reference),
                   corrections_path=Path(args.corrections) if args.corrections else None,
                   export_dir=Path(args.export_dir) if args.export_dir else None, export=not args.no_export,
                   full=getattr(args, "full", False), lock_wait=args.wait, limits=input_limits(args))


def cmd_refresh(args: argparse.Namespace) -> int:
    from etl.jobs.refresh import update

    try:
        summary = update(options_from(args))
    except Exception as exc:  # noqa: BLE001 - the operator needs the reason; nothing was published
        console.print(f"[red]refresh failed, nothing was published:[/red] {type(exc).__name__}: {redact(exc)}")
        return 1
    print_run(summary)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from etl.extract.manifest import parse_published
    from etl.jobs.intake import bring_in

    overrides = {"title": args.title, "published": args.published, "outlet": args.outlet,
                 "primary_region": args.region}
    if len(args.inputs) > 1 and any(overrides.values()):
        console.print("[red]--title, --published, --outlet and --region describe one article: give one URL or "
                      "file with them[/red]")
        return 2
    try:
        if args.published:
            parse_published(args.published)
        limits = input_limits(args)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    raw = Path(args.raw)
    if not raw.is_dir():
        console.print(f"[red]the raw folder {raw} does not exist[/red]")
        return 2
    intakes = [bring_in(given, raw, limits, overrides) for given in args.inputs]
    for intake in intakes:
        if intake.status == "refused":
            console.print(f"[red]not added 未添加[/red] {escape(redact(intake.message))}")
        else:
            console.print(f"[green]{intake.status}[/green] {escape(str(raw / intake.file))} ← {escape(redact(intake.given))}")
    saved = [i for i in intakes if i.status != "refused"]
    if saved and not args.no_refresh:
        code = cmd_refresh(args)
        if code:
            return code
        print_added(resolve_db_url(args.db, Path(args.curated)), [i.file for i in saved])
    return 0 if len(saved) == len(intakes) else 1


def print_added(db_url: str, files: list[str]) -> None:
    """What the refresh made of the files just added: title, date and where it came from, outlet, URL."""
    from etl.store.publish import read_rows
    from etl.store.schema import articles, make_engine, rejected_inputs
    from etl.vocabulary import PUBLISHED_SOURCE_LABELS

    engine = make_engine(db_url)
    try:
        found = read_rows(engine, articles, "file", files).set_index("file")
        set_aside = read_rows(engine, rejected_inputs, "file", files).drop_duplicates("file").set_index("file")
    finally:
        engine.dispose()
    for file in files:
        if file not in found.index:
            detail = set_aside.loc[file, "detail"] if file in set_aside.index else "not published"
            console.print(f"[yellow]set aside 搁置[/yellow] {escape(file)}: {escape(str(detail))}")
            continue
        row = found.loc[file]
        zh, en = PUBLISHED_SOURCE_LABELS.get(row["published_source"], (row["published_source"], ""))
        console.print(f"[bold]{escape(row['title'])}[/bold]\n  发布 published {row['published']} ({zh} {en})"
                      f"   来源 outlet {escape(row['outlet'] or '—')}   事实 facts {row['n_facts']}"
                      f"\n  网址 URL {escape(row['url'] or '—')}")


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
    _limit_option(parser)


def _limit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-article-mb", type=float, default=None, metavar="MB",
                        help="set aside articles with more text than this (default: $ZJ_MAX_ARTICLE_MB, else 2)")


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


def add_intake_command(sub: argparse._SubParsersAction) -> None:
    add_p = sub.add_parser("add", help="save web pages or files into the raw folder with their manifest row, "
                                       "then refresh",
                           description="Fetch each URL (http/https) or copy each file (.txt, .html, .pdf, .docx) "
                                       "into the raw folder unchanged, fill in its manifest row (title, outlet, URL), "
                                       "then run the refresh that publishes it.")
    add_p.add_argument("inputs", nargs="+", metavar="URL|FILE", help="web addresses or files to add")
    add_p.add_argument("--title", default="", help="the article's title (one input only)")
    add_p.add_argument("--published", default="", help="its publication date, e.g. 2024-10-26 (one input only)")
    add_p.add_argument("--outlet", default="", help="the newspaper or site (one input only)")
    add_p.add_argument("--region", default="", help="its primary region, any gazetteer name (one input only)")
    add_p.add_argument("--no-refresh", action="store_true", help="only save; the next refresh publishes")
    _common(add_p)
    add_p.set_defaults(func=cmd_add, wait=RUN_LOCK_WAIT_SECONDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description="Zhejiang talent indicators ETL")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="extract every article in the raw folder and publish the tables")
    run_p.add_argument("--raw", default=str(RAW_DIR), help="folder of articles and manifest.csv")
    run_p.add_argument("--curated", default=str(CURATED_DIR), help="folder for the curated CSV files")
    run_p.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL, else SQLite in --curated)")
    _limit_option(run_p)
    run_p.set_defaults(func=cmd_run)
    add_intake_command(sub)
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
