"""`python -m dashboard`: serve the dashboard for a local user on 127.0.0.1:8050.

On loopback it is open, for development; on any other address it asks for sign-in like the production
server, unless DASHBOARD_AUTH says otherwise (`on` also asks on loopback, `off` never asks).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Zhejiang talent indicators dashboard")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--debug", action="store_true", help="Dash debug mode: reloader and dev tools (off by default)")
    parser.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL, else data/curated/talent.sqlite)")
    return parser


def sign_in_required(host: str) -> bool:
    from dashboard.auth import AUTH_ENV, required_by_environment

    if os.environ.get(AUTH_ENV, "").strip():
        return required_by_environment()
    return host not in LOOPBACK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    required = sign_in_required(args.host)
    from dashboard import repository, snapshot

    repo = repository.use_database(args.db)
    snap = repo.snapshot(max_age=0)  # load once now, so the first page is quick
    if not snap.ok:
        print(f"{snap.message}. Run `{snapshot.ETL_HINT}` to create the data; the dashboard explains this too.",
              file=sys.stderr)
    from dashboard.app import app
    from dashboard.auth import GATE
    from dashboard.security import QuietRequestHandler

    GATE.required = required
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"Dashboard on http://{args.host}:{args.port}/  (data: {repo.db_label}; "
          f"sign-in {'required' if required else 'off'})", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=args.debug, request_handler=QuietRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
