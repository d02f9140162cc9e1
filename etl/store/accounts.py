"""The dashboard's accounts: a name and a salted, deliberately slow password hash (werkzeug's scrypt) for
each analyst, in the curated database, so every web process on every machine sees the same accounts and
the same session key without a file to copy around. Written only by `python -m etl users`; the dashboard
reads them to check a sign-in. A password is never stored, logged or shown."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from etl.store.schema import dashboard_accounts, dashboard_keys

NAME_PATTERN = re.compile(r"^[\w.@-]{1,64}$")  # letters (Chinese too), digits, . _ @ -
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
SESSION_KEY = "session"


class AccountError(ValueError):
    """A name or password the accounts cannot take, or an account that is not there; the message says which."""


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str

    @property
    def stamp(self) -> str:
        """Changes with the password, so a new password ends the sessions signed in with the old one."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def checks(self, password: str) -> bool:
        from werkzeug.security import check_password_hash

        return check_password_hash(self.password_hash, password)


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise AccountError(f"account name {name!r}: use 1–64 letters, digits, '.', '_', '@' or '-', no spaces")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")


def set_password(engine: Engine, name: str, password: str, create: bool) -> None:
    """Create the account (`create`) or give an existing one a new password; the session key is made with
    the first account."""
    from werkzeug.security import generate_password_hash

    check_name(name)
    check_password(password)
    now = pd.Timestamp.now(tz="UTC")
    hashed = generate_password_hash(password)
    with engine.begin() as conn:
        exists = conn.execute(select(dashboard_accounts.c.name).where(dashboard_accounts.c.name == name)).first()
        if create and exists:
            raise AccountError(f"account {name!r} exists already; `python -m etl users passwd {name}` changes its password")
        if not create and not exists:
            raise AccountError(f"no account {name!r}; `python -m etl users add {name}` creates it")
        if exists:
            conn.execute(update(dashboard_accounts).where(dashboard_accounts.c.name == name)
                         .values(password_hash=hashed, updated_at=now))
        else:
            conn.execute(insert(dashboard_accounts).values(name=name, password_hash=hashed, created_at=now,
                                                           updated_at=now))
        if conn.execute(select(dashboard_keys.c.name).where(dashboard_keys.c.name == SESSION_KEY)).first() is None:
            conn.execute(insert(dashboard_keys).values(name=SESSION_KEY, value=secrets.token_hex(32), created_at=now))


def remove_account(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        if conn.execute(delete(dashboard_accounts).where(dashboard_accounts.c.name == name)).rowcount == 0:
            raise AccountError(f"no account {name!r}")


def renew_session_key(engine: Engine) -> None:
    """A new key for signing sessions: everyone signed in is signed out."""
    now = pd.Timestamp.now(tz="UTC")
    with engine.begin() as conn:
        conn.execute(delete(dashboard_keys).where(dashboard_keys.c.name == SESSION_KEY))
        conn.execute(insert(dashboard_keys).values(name=SESSION_KEY, value=secrets.token_hex(32), created_at=now))


def list_accounts(engine: Engine) -> pd.DataFrame:
    """Names and dates; never the hashes."""
    with engine.connect() as conn:
        return pd.read_sql(select(dashboard_accounts.c.name, dashboard_accounts.c.created_at,
                                  dashboard_accounts.c.updated_at).order_by(dashboard_accounts.c.name), conn)


def read_accounts(engine: Engine) -> tuple[dict[str, Account], str | None]:
    """Every account and the session key, as the dashboard reads them; none in a database whose schema
    predates accounts (run `python -m etl migrate`)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(dashboard_accounts.c.name, dashboard_accounts.c.password_hash)).all()
            key = conn.execute(select(dashboard_keys.c.value).where(dashboard_keys.c.name == SESSION_KEY)).scalar()
    except (OperationalError, ProgrammingError):  # no such table yet
        return {}, None
    return {name: Account(name, hashed) for name, hashed in rows}, key
