"""The dashboard as a service beyond loopback: sign-in, sessions, refused requests, headers, limits.

The app's own Flask server through its test client (no socket, the whole request path), on a copy of the
seed database with one account; `test_procfile_web_*` start gunicorn exactly as the Procfile does.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import brotli
import pytest

from dashboard import auth, repository
from dashboard.app import app
from dashboard.security import MAX_BODY_BYTES, callback_problem
from dashboard.tables import MAX_GRID_ROWS
from etl.paths import PROJECT_ROOT
from etl.store.accounts import set_password
from etl.store.schema import ensure_schema, make_engine
from tests.processes import free_port, stop

NAME, PASSWORD = "analyst", "correct horse battery"


@pytest.fixture(scope="module")
def accounts_db(seed_db_url, tmp_path_factory) -> str:
    """A copy of the seed database with one account."""
    path = tmp_path_factory.mktemp("service") / "talent.sqlite"
    shutil.copy(seed_db_url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    ensure_schema(engine)
    set_password(engine, NAME, PASSWORD, create=True)
    engine.dispose()
    return url


@pytest.fixture
def client(accounts_db):
    """The app with sign-in required, a fresh limiter, on the accounts database."""
    repository.use_database(accounts_db)
    saved = auth.GATE.required, auth.GATE.limiter
    auth.GATE.required, auth.GATE.limiter = True, auth.SignInLimiter()
    auth.GATE.book.accounts(fresh=True)
    yield app.server.test_client()
    auth.GATE.required, auth.GATE.limiter = saved
    repository.use_database(None)


def sign_in(client, name: str = NAME, password: str = PASSWORD, next_url: str = "/"):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token,
                                       "next": next_url})


def callback_body(output: str = "..g-compare.figure...n-compare.children...cc-compare.children..") -> dict:
    return {"output": output, "outputs": [{"id": "g-compare", "property": "figure"},
                                          {"id": "n-compare", "property": "children"},
                                          {"id": "cc-compare", "property": "children"}],
            "inputs": [{"id": "view-state", "property": "data", "value": {"tab": "compare"}}],
            "changedPropIds": ["view-state.data"], "state": []}


def test_without_signing_in_nothing_of_the_data_is_served(client):
    page = client.get("/?ind=postdocs&reg=330400")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/?ind=postdocs&reg=330400"
    for path in ("/_dash-layout", "/_dash-dependencies", "/boundaries/zhejiang_cities.geojson"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.headers["X-Sign-In"] == "/login", path
    assert client.post("/_dash-update-component", json=callback_body()).status_code == 401
    assert client.get("/assets/10-dashboard.css").status_code == 200, "the sign-in page's style is public"
    form = client.get("/login")
    assert form.status_code == 200 and "登录" in form.get_data(as_text=True)


def test_a_signed_in_analyst_gets_the_page_and_its_callbacks(client):
    done = sign_in(client, next_url="/?ind=postdocs")
    assert done.status_code == 302 and done.headers["Location"] == "/?ind=postdocs"
    cookie = done.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and NAME in layout.get_data(as_text=True), "the header names who is signed in"
    assert client.post("/_dash-update-component", json=callback_body()).status_code in (200, 204)
    assert client.get("/logout").status_code == 302
    assert client.get("/_dash-layout").status_code == 401, "signed out"


def test_a_wrong_password_or_a_forged_form_is_refused_and_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="dashboard.auth"):
        wrong = sign_in(client, password="wrong password!")
        unknown = sign_in(client, name="nobody")
        forged = client.post("/login", data={"username": NAME, "password": PASSWORD, "csrf_token": "forged"})
    assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.get_data(as_text=True)
    assert unknown.status_code == 401 and forged.status_code == 400
    failures = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) == 2 and "'analyst'" in failures[0] and "'nobody'" in failures[1]
    assert all(PASSWORD not in r.getMessage() and "wrong password" not in r.getMessage() for r in caplog.records)
    assert client.get("/_dash-layout").status_code == 401


def test_failed_sign_ins_are_rate_limited_per_name(client, caplog):
    for _ in range(auth.GATE.limiter.per_name):
        assert sign_in(client, password="not the password").status_code == 401
    with caplog.at_level(logging.WARNING, logger="dashboard.auth"):
        blocked = sign_in(client)  # even the right password, until the window passes
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "失败次数过多" in blocked.get_data(as_text=True)
    assert any("too many failures" in r.getMessage() for r in caplog.records)
    assert client.get("/_dash-layout").status_code == 401


def test_the_limiter_forgets_failures_older_than_its_window():
    now = [1000.0]
    limiter = auth.SignInLimiter(per_name=3, per_address=10, window=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.failed("Analyst", "10.0.0.1")
    assert limiter.wait("analyst", "10.0.0.2") == pytest.approx(60), "names compare without case"
    assert limiter.wait("someone", "10.0.0.1") == 0, "the address has failures left"
    now[0] += 61
    assert limiter.wait("analyst", "10.0.0.1") == 0
    for _ in range(10):
        limiter.failed(f"user{_}", "10.0.0.9")
    assert limiter.wait("fresh", "10.0.0.9") > 0, "one address trying many names is limited too"


def test_a_session_ends_after_its_hours_and_after_a_password_change(client, accounts_db, monkeypatch):
    sign_in(client)
    assert client.get("/_dash-layout").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] -= auth.session_hours() * 3600 + 1
    assert client.get("/_dash-layout").status_code == 401, "expired"

    sign_in(client)
    assert client.get("/_dash-layout").status_code == 200
    engine = make_engine(accounts_db)
    set_password(engine, NAME, "a brand new password", create=False)
    monkeypatch.setattr(auth, "ACCOUNTS_TTL", 0.0)  # as if the accounts had been re-read since
    assert client.get("/_dash-layout").status_code == 401, "the old password's session ended"
    set_password(engine, NAME, PASSWORD, create=False)
    engine.dispose()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", ""])
def test_after_sign_in_the_analyst_never_leaves_for_another_site(client, target):
    assert sign_in(client, next_url=target).headers["Location"] == "/"


def test_every_response_carries_the_security_headers(client):
    sign_in(client)
    for path in ("/", "/login", "/_dash-layout"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_malformed_callbacks_are_answered_400_in_one_log_line(client, caplog):
    sign_in(client)
    bad = [b"not json", json.dumps({"output": "nope"}).encode(), json.dumps({}).encode(),
           json.dumps({**callback_body(), "inputs": []}).encode(),
           json.dumps({**callback_body(), "inputs": [{"id": "other", "property": "data"}]}).encode(),
           json.dumps({**callback_body(), "inputs": [{"id": "view-state", "property": "data", "value": "x"}]}).encode()]
    with caplog.at_level(logging.WARNING):
        answers = [client.post("/_dash-update-component", data=body, content_type="application/json") for body in bad]
    assert [a.status_code for a in answers] == [400] * len(bad)
    assert all("bad callback request" in a.get_json()["error"] for a in answers)
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    assert len([r for r in caplog.records if "callback refused" in r.getMessage()]) == len(bad)


def test_a_huge_body_and_a_path_outside_the_libraries_are_refused(client):
    sign_in(client)
    huge = client.post("/_dash-update-component", data=b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}",
                       content_type="application/json")
    assert huge.status_code == 413
    assert client.get("/_dash-component-suites/../etc/passwd").status_code == 404
    assert client.get("/_dash-component-suites/dash/deps/nothing.v1m1.js").status_code == 404


def test_a_grid_request_gets_at_most_a_few_blocks(client):
    sign_in(client)
    body = {"output": "..facts-grid.getRowsResponse...table-count.children...facts-grid.style..",
            "outputs": [{"id": "facts-grid", "property": "getRowsResponse"},
                        {"id": "table-count", "property": "children"}, {"id": "facts-grid", "property": "style"}],
            "inputs": [{"id": "facts-grid", "property": "getRowsRequest",
                        "value": {"startRow": 0, "endRow": 1_000_000_000, "sortModel": []}}],
            "state": [{"id": "table-key", "property": "data", "value": None}],
            "changedPropIds": ["facts-grid.getRowsRequest"]}
    answer = client.post("/_dash-update-component", json=body)
    rows = answer.get_json()["response"]["facts-grid"]["getRowsResponse"]
    assert 0 < len(rows["rowData"]) <= MAX_GRID_ROWS and rows["rowCount"] >= len(rows["rowData"])
    body["inputs"][0]["value"] = {"startRow": "zero", "endRow": 10}
    assert client.post("/_dash-update-component", json=body).status_code == 400


def test_the_check_of_a_callback_body_names_the_problem():
    spec = app.callback_map
    assert callback_problem(callback_body(), spec) is None
    assert "names no callback" in callback_problem({**callback_body(), "output": "x.y"}, spec)
    assert "does not match" in callback_problem({**callback_body(), "state": [{}]}, spec)
    assert "'outputs'" in callback_problem({**callback_body(), "outputs": [{}]}, spec)


# ------------------------------------------------------------------------ gunicorn, as the Procfile runs it


def procfile_web() -> str:
    line = next(x for x in (PROJECT_ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    return line.split(":", 1)[1].strip()


@contextmanager
def gunicorn(db_url: str, **env: str) -> Iterator[str]:
    """The Procfile's web process on a free port; yields its base URL, stops it whatever happens."""
    port = free_port()
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARD_", "DATABASE_URL"))},
                   "DATABASE_URL": db_url, "PORT": str(port), "PYTHONPATH": str(PROJECT_ROOT), **env}
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"gunicorn-test-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["sh", "-c", f"exec {procfile_web()}"], cwd=PROJECT_ROOT, env=environment,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while not _answers(base + "/login"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield base
    finally:
        stop(process)
        log.unlink(missing_ok=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def fetch(url: str, **headers: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


@pytest.mark.slow
def test_procfile_web_refuses_the_layout_without_signing_in(accounts_db):
    with gunicorn(accounts_db) as base:
        status, headers, _ = fetch(base + "/_dash-layout")
        assert status == 401 and headers["X-Sign-In"] == "/login"
        status, _, body = fetch(base + "/")
        assert status == 200 and b'id="login-form"' in body, "the page is the sign-in form"


@pytest.mark.slow
def test_procfile_web_with_sign_in_off_is_hardened_compressed_and_offline(accounts_db):
    with gunicorn(accounts_db, DASHBOARD_AUTH="off") as base:
        status, headers, page = fetch(base + "/", **{"Accept-Encoding": "br, gzip"})
        assert status == 200 and headers["Content-Encoding"] == "br"
        assert "default-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
        assert not re.search(r"\d", headers.get("Server", "")), f"no version: {headers.get('Server')}"
        html = brotli.decompress(page).decode()
        scripts = re.findall(r'src="(/_dash-component-suites/[^"]+\.js)"', html)
        assert len(scripts) > 3
        for script in scripts:
            status, headers, body = fetch(base + script, **{"Accept-Encoding": "gzip"})
            plain = fetch(base + script)[2]
            assert status == 200 and headers["Content-Encoding"] == "gzip" and len(body) < len(plain), script
        status, _, layout = fetch(base + "/_dash-layout")
        configs = [node["props"]["config"] for node in _walk(json.loads(layout)) if node.get("type") == "Graph"]
        assert status == 200 and len(configs) == 4
        for config in configs:
            assert config["showSendToCloud"] is False and config["showEditInChartStudio"] is False
            assert config["plotlyServerURL"] == "" and config["showLink"] is False and config["displaylogo"] is False
            assert {"sendChartToCloud", "sendDataToCloud", "editInChartStudio"} <= set(config["modeBarButtonsToRemove"])


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in (node.get("props") or {}).values():
            yield from _walk(value)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)
