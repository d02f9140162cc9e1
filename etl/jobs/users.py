"""`python -m etl users add | passwd | remove | list | signout-all`: the dashboard's accounts (etl.store.accounts).

A password is typed twice at a prompt that does not echo it, or read from standard input with
`--password-stdin` (for scripts); it never appears on the command line, where `ps` and shell history would
show it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from etl.paths import CURATED_DIR, redact, resolve_db_url


def add_user_commands(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="the dashboard's sign-in accounts")
    actions = users.add_subparsers(dest="action", required=True)
    for action, text in (("add", "create an account"), ("passwd", "give an account a new password")):
        parser = actions.add_parser(action, help=text)
        parser.add_argument("name")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    actions.add_parser("remove", help="delete an account (its sessions end within a minute)").add_argument("name")
    actions.add_parser("list", help="the accounts and when they were created or changed")
    actions.add_parser("signout-all", help="a new session key: everyone signs in again")
    for parser in actions.choices.values():
        parser.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL, else SQLite)")
        parser.add_argument("--curated", default=str(CURATED_DIR), help="folder of the embedded SQLite file")
    users.set_defaults(func=cmd_users)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 Password: ")
    if getpass.getpass("再次输入 Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from etl.store import accounts
    from etl.store.schema import ensure_schema, make_engine

    db_url = resolve_db_url(args.db, Path(args.curated))
    engine = make_engine(db_url)
    try:
        ensure_schema(engine)
        if args.action in ("add", "passwd"):
            accounts.check_name(args.name)
            accounts.set_password(engine, args.name, read_password(args.password_stdin), create=args.action == "add")
            print(f"{'created' if args.action == 'add' else 'changed the password of'} {args.name} in {redact(db_url)}")
        elif args.action == "remove":
            accounts.remove_account(engine, args.name)
            print(f"removed {args.name}")
        elif args.action == "signout-all":
            accounts.renew_session_key(engine)
            print("new session key: everyone signs in again (within a minute)")
        else:
            listed = accounts.list_accounts(engine)
            print(listed.to_string(index=False) if len(listed) else "no accounts: `python -m etl users add NAME`")
    except ValueError as exc:
        print(f"users {args.action}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0
