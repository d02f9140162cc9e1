"""Sign-in, for a dashboard served beyond this machine.

Accounts are names with scrypt-hashed passwords in the curated database (etl.store.accounts), managed with
`python -m etl users`; every web process on every machine reads the same accounts and the same session key,
so a round-robin load balancer needs no sticky sessions. A signed-in analyst holds a signed session cookie
(Flask's, through Flask-Login): HttpOnly, SameSite=Lax, Secure over HTTPS, ending `DASHBOARD_SESSION_HOURS`
(default 12) after sign-in; changing the password or `python -m etl users signout-all` ends it sooner.
Without a session, the page, its layout, every callback and the boundary files are refused: a page
request goes to the sign-in form, anything else gets 401. Failed sign-ins are logged and limited per name
and per client address (`SignInLimiter`).

`dashboard.app:server` (what gunicorn serves) requires sign-in unless `DASHBOARD_AUTH=off`;
`python -m dashboard` on 127.0.0.1 is open for development (see dashboard.__main__).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, redirect, render_template_string, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from itsdangerous import URLSafeTimedSerializer

from dashboard import repository
from etl.store.accounts import Account, read_accounts

AUTH_ENV, SECRET_ENV, HOURS_ENV = "DASHBOARD_AUTH", "DASHBOARD_SECRET_KEY", "DASHBOARD_SESSION_HOURS"
PUBLIC_PATHS = {"/login", "/logout", "/_favicon.ico"}
PUBLIC_PREFIXES = ("/assets/",)  # the house style and scripts: no data in them
API_PREFIXES = ("/_dash-", "/boundaries/")  # answered 401 rather than sent to the form
ACCOUNTS_TTL = 30.0  # seconds an account list is trusted: a removed account loses access within this
DUMMY = Account("", "scrypt:32768:8:1$0000000000000000$" + "0" * 128)  # checked for unknown names, for equal time
log = logging.getLogger("dashboard.auth")


def required_by_environment() -> bool:
    """`DASHBOARD_AUTH`: on (the default) or off; anything else stops the server with the reason."""
    value = os.environ.get(AUTH_ENV, "on").strip().lower()
    if value in ("on", "1", "true", "yes", ""):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    raise SystemExit(f"{AUTH_ENV}={value!r}: use 'on' (sign-in required, the default) or 'off' (a trusted network)")


def session_hours() -> float:
    return float(os.environ.get(HOURS_ENV, "12") or 12)


@dataclass
class SignInLimiter:
    """Failed sign-ins in a sliding window, per account name and per client address; a key with too many is
    refused until its oldest failure leaves the window. Kept per process: with N workers a guesser gets N
    times the limit, still a handful of guesses an hour against passwords of 10 or more characters."""

    per_name: int = 5
    per_address: int = 20
    window: float = 900.0
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _failures: dict[tuple[str, str], deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, name: str, address: str) -> float:
        """Seconds until a sign-in as `name` from `address` is allowed again (0: allowed now)."""
        now, waits = self.clock(), [0.0]
        with self._lock:
            for key, limit in ((("name", name.lower()), self.per_name), (("address", address), self.per_address)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[0] + self.window - now)
        return max(waits)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:  # bounded memory: forget the oldest keys
                for key in list(self._failures)[: self.max_keys // 10]:
                    del self._failures[key]
            for key in (("name", name.lower()), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name.lower()), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


class AccountBook:
    """The accounts and session key from the database, re-read at most every `ACCOUNTS_TTL` seconds."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._key: str | None = None
        self._read_at = -ACCOUNTS_TTL
        self._lock = threading.Lock()
        self._fallback = secrets.token_hex(32)

    def accounts(self, fresh: bool = False) -> dict[str, Account]:
        with self._lock:
            if fresh or time.monotonic() - self._read_at >= ACCOUNTS_TTL:
                repo = repository.current()
                missing = repo.sqlite_path is not None and not repo.sqlite_path.exists()  # never create it
                self._accounts, self._key = ({}, None) if missing else read_accounts(repo.engine())
                self._read_at = time.monotonic()
            return self._accounts

    def session_key(self) -> str:
        """DASHBOARD_SECRET_KEY, else the database's key (made with the first account), else one of this
        process's own (then there is no account to sign in with anyway)."""
        self.accounts()
        return os.environ.get(SECRET_ENV) or self._key or self._fallback


class Analyst(UserMixin):
    def __init__(self, account: Account) -> None:
        self.name, self.stamp = account.name, account.stamp

    def get_id(self) -> str:
        return f"{self.stamp}:{self.name}"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, signed with the book's current key, Secure whenever the request came over HTTPS."""

    def __init__(self, book: AccountBook) -> None:
        self.book = book

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.book.session_key(), salt=self.salt, serializer=self.serializer,
                                      signer_kwargs={"key_derivation": self.key_derivation,
                                                     "digest_method": self.digest_method})

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


@dataclass
class Gate:
    """Whether sign-in is required now (`python -m dashboard` opens it on loopback after import)."""

    required: bool
    book: AccountBook = field(default_factory=AccountBook)
    limiter: SignInLimiter = field(default_factory=SignInLimiter)


GATE = Gate(required=True)


def install(server: Flask, required: bool) -> Gate:
    """Sign-in on `server`: sessions, the form's routes and the check before every request."""
    GATE.required = required
    hours = session_hours()
    server.session_interface = SessionInterface(GATE.book)
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         SESSION_COOKIE_NAME="zj_session", SESSION_REFRESH_EACH_REQUEST=False,
                         PERMANENT_SESSION_LIFETIME=timedelta(hours=hours))
    manager = LoginManager(server)
    manager.user_loader(load_analyst)
    server.before_request(check_signed_in)
    server.add_url_rule("/login", "login", sign_in, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", sign_out, methods=["GET", "POST"])
    return GATE


def load_analyst(user_id: str) -> Analyst | None:
    stamp, _, name = user_id.partition(":")
    account = GATE.book.accounts().get(name)
    return Analyst(account) if account is not None and hmac.compare_digest(account.stamp, stamp) else None


def signed_in_name() -> str | None:
    """The analyst signed in on this request, when sign-in is required."""
    return current_user.name if GATE.required and current_user.is_authenticated else None


def check_signed_in() -> Response | None:
    """Before every request: the sign-in form, the style and the icon are public; the rest needs a session."""
    if not GATE.required or request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return None
    started = session.get("signed_in_at", 0)
    if current_user.is_authenticated and time.time() - started < session_hours() * 3600:
        return None
    if current_user.is_authenticated:
        log.info("session of %s ended after %.0f hours", current_user.name, session_hours())
        logout_user()
        session.clear()
    if request.method == "GET" and not request.path.startswith(API_PREFIXES):
        return redirect(f"/login?next={request.full_path.rstrip('?')}")
    return Response(json.dumps({"error": "sign in first: /login"}), 401, mimetype="application/json",
                    headers={"X-Sign-In": "/login"})


def safe_next(target: str | None) -> str:
    """Only a path on this server: never another site (`//evil.example`, `https://…`)."""
    parts = urlsplit(target or "/")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or parts.netloc:
        return "/"
    return target


def sign_in() -> Response | str | tuple:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_next(request.args.get("next")))
        return form()
    if not hmac.compare_digest(str(request.form.get("csrf_token", "")), str(session.get("csrf", "x"))):
        return form("表单已过期，请重试 The form expired: please try again.", status=400)
    name, password = request.form.get("username", "").strip(), request.form.get("password", "")
    address = request.remote_addr or "?"
    wait = GATE.limiter.wait(name, address)
    if wait > 0:
        log.warning("sign-in refused for %r from %s: too many failures (retry in %.0f s)", name, address, wait)
        minutes = max(1, round(wait / 60))
        return form(f"失败次数过多，请 {minutes} 分钟后再试 Too many failed sign-ins: try again in {minutes} min.",
                    status=429, name=name, headers={"Retry-After": str(int(wait) + 1)})
    account = GATE.book.accounts(fresh=True).get(name)
    if not (account or DUMMY).checks(password) or account is None:
        GATE.limiter.failed(name, address)
        log.warning("sign-in failed for %r from %s", name, address)
        return form("用户名或密码不正确 Wrong name or password.", status=401, name=name)
    GATE.limiter.succeeded(name)
    session.clear()
    login_user(Analyst(account))
    session.permanent = True
    session["signed_in_at"] = time.time()
    log.info("signed in: %s from %s", name, address)
    return redirect(safe_next(request.form.get("next")))


def sign_out() -> Response:
    if current_user.is_authenticated:
        log.info("signed out: %s", current_user.name)
    logout_user()
    session.clear()
    return redirect("/login")


def form(message: str = "", status: int = 200, name: str = "", headers: dict | None = None) -> tuple:
    session["csrf"] = session.get("csrf") or secrets.token_urlsafe(24)
    page = render_template_string(FORM, message=message, name=name, csrf=session["csrf"],
                                  next=safe_next(request.values.get("next")), hours=f"{session_hours():g}",
                                  no_accounts=not GATE.book.accounts())
    return page, status, headers or {}


FORM = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 Sign in · 浙江人才指标看板</title>
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"><link rel="stylesheet" href="/assets/10-dashboard.css">
</head><body class="login-page"><main class="card login-card">
<div class="login-brand"><div class="brand-mark">浙</div>
<h1>浙江人才指标看板 <span class="en">Zhejiang Talent Indicators</span></h1></div>
{% if message %}<div class="alert alert-warning py-2" role="alert" id="login-message">{{ message }}</div>{% endif %}
{% if no_accounts %}<div class="alert alert-info py-2 small" id="login-no-accounts">还没有账户。管理员在服务器上运行
<code>python -m etl users add 名字</code> 创建账户。 No accounts yet: an administrator creates one with
<code>python -m etl users add NAME</code>.</div>{% endif %}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
<label class="form-label" for="username">用户名 <span class="en">Name</span></label>
<input class="form-control mb-3" id="username" name="username" autocomplete="username" required autofocus value="{{ name }}">
<label class="form-label" for="password">密码 <span class="en">Password</span></label>
<input class="form-control mb-3" id="password" name="password" type="password" autocomplete="current-password" required>
<button class="btn btn-primary w-100" type="submit">登录 <span class="en">Sign in</span></button>
</form>
<p class="login-note">登录 {{ hours }} 小时后需重新登录 <span class="en">Sessions end {{ hours }} hours after sign-in.</span></p>
</main></body></html>"""
