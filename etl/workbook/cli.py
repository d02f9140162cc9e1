"""`python -m etl export`: the command's arguments, kept apart from the workbook modules so that building
the parser for any command does not import pandas, SQLAlchemy and openpyxl."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from etl.paths import resolve_db_url


def add_export_command(subparsers: argparse._SubParsersAction) -> None:
    """Register `python -m etl export`."""
    parser = subparsers.add_parser(
        "export", help="write the officials' Excel workbook",
        description="Write the Excel workbook (cover, summary, chart, per-capita values, facts, cross-check, "
                    "sources, indicators, regions). "
                    "Repeat a filter or give it several values; filters of different kinds all apply.")
    parser.add_argument("--out", required=True, type=Path,
                        help="the .xlsx file to write (replaced atomically)")
    parser.add_argument("--db", default=None,
                        help="database URL (default: $DATABASE_URL, else the SQLite file)")
    parser.add_argument("--family", nargs="+", action="extend", default=[], metavar="F",
                        help="indicator family code, e.g. talent_total")
    parser.add_argument("--indicator", nargs="+", action="extend", default=[], metavar="I",
                        help="indicator code, e.g. new_graduates")
    parser.add_argument("--region", nargs="+", action="extend", default=[], metavar="CODE_OR_NAME",
                        help="region code, name or alias; includes the regions beneath it")
    parser.add_argument("--year-from", type=int, default=None, metavar="Y")
    parser.add_argument("--year-to", type=int, default=None, metavar="Y")
    parser.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from etl.workbook.data import ExportFilters
    from etl.workbook.export import export_to_file

    filters = ExportFilters(args.family, args.indicator, args.region, args.year_from, args.year_to)
    try:
        path = export_to_file(resolve_db_url(args.db), args.out, filters)
    except ValueError as exc:
        print(f"export failed, nothing was written: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0
