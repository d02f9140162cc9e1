"""What every response carries and every request must respect once the dashboard is served beyond this machine.

- Headers (flask-talisman): a Content-Security-Policy that lets the page load and connect to this server only
  (Dash's inline scripts allowed by their hashes), no framing by other sites, no MIME sniffing, no referrer
  sent to other sites, and HSTS on HTTPS. No server version is announced.
- Compression (flask-compress): brotli or gzip for scripts, styles, JSON callback answers and the map's
  boundary files; a script or boundary file, which never changes at its URL, is compressed once per process.
- Limits: a request body of at most `MAX_BODY_BYTES` (413 beyond); the grids' pages are capped where they are
  served (tables.grid_window).
- A malformed or unusable callback request is answered 400 with a one-line reason, logged in one line; a
  request for a library file that does not exist is answered 404. No traceback for either.
"""

from __future__ import annotations

import json
import logging
import os

from dash import Dash
from dash.exceptions import DependencyException
from flask import Response, request
from flask_compress import Compress
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

MAX_BODY_BYTES = 1024 * 1024  # the largest callback the page sends is a few kilobytes
PROXIES_ENV = "DASHBOARD_TRUSTED_PROXIES"  # proxies in front whose X-Forwarded-For/-Proto are believed
UNUSABLE_INPUT = (TypeError, ValueError, KeyError, AttributeError, IndexError)
log = logging.getLogger("dashboard.security")


def content_security_policy(app: Dash) -> dict[str, str | list[str]]:
    """Only this server, for everything; call after every callback is registered (their inline scripts)."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],  # plotly and the grids set style attributes and sheets
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "worker-src": ["'self'", "blob:"],  # the map's renderer runs in workers made from blobs
        "child-src": ["'self'", "blob:"],
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


class _ImmutableCache:
    """flask-compress's cache, kept for responses whose URL names one version of a file (see `_cache_key`)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";"):
            self.data[key] = value


def _cache_key(req) -> str:
    """Dash's fingerprinted scripts, the assets (their URL carries the file's time) and the boundary files:
    compressed once; everything else (callback answers, the page) every time."""
    if req.path.startswith(("/_dash-component-suites/", "/assets/", "/boundaries/")) and req.method == "GET":
        return req.full_path
    return ""


def harden(app: Dash) -> None:
    """Headers, compression, limits and the callback guard on the app's Flask server."""
    server = app.server
    server.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_BR_LEVEL=5, COMPRESS_LEVEL=6, COMPRESS_MIN_SIZE=1024,
        COMPRESS_STREAMS=False, COMPRESS_CACHE_BACKEND=_ImmutableCache, COMPRESS_CACHE_KEY=_cache_key,
        COMPRESS_MIMETYPES=["text/html", "text/css", "application/javascript", "text/javascript",
                            "application/json", "application/geo+json", "image/svg+xml"],
    )
    Compress(server)
    Talisman(server, force_https=False, session_cookie_secure=False, frame_options="DENY",
             referrer_policy="same-origin", content_security_policy=content_security_policy(app),
             permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"})
    proxies = int(os.environ.get(PROXIES_ENV, "0") or 0)
    if proxies:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=proxies, x_proto=proxies)
    server.register_error_handler(DependencyException, lambda _error: ("no such file", 404))
    guard_callbacks(app)


def guard_callbacks(app: Dash) -> None:
    """Check a callback request before Dash dispatches it; answer 400 for one it cannot use."""
    endpoint = app.config.routes_pathname_prefix + "_dash-update-component"
    dispatch = app.server.view_functions[endpoint]

    def guarded():
        problem = callback_problem(request.get_json(silent=True), app.callback_map)
        if problem is None:
            try:
                return dispatch()
            except UNUSABLE_INPUT as exc:
                problem = f"its input could not be used ({type(exc).__name__})"
        log.warning("callback refused (400) from %s: %s", request.remote_addr, problem)
        return Response(json.dumps({"error": f"bad callback request: {problem}"}), 400,
                        mimetype="application/json")

    app.server.view_functions[endpoint] = guarded


def callback_problem(body: object, callback_map: dict) -> str | None:
    """Why a callback request's body does not fit the callback it names; None when it fits."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    spec = callback_map.get(output) if isinstance(output, str) else None
    if spec is None:
        return "it names no callback of this page"
    outputs, many = body.get("outputs"), output.startswith("..")
    if not (isinstance(outputs, list) and len(outputs) == len(output.split("...")) if many else
            isinstance(outputs, dict)) or not isinstance(body.get("changedPropIds", []), list):
        return "'outputs' or 'changedPropIds' does not match the callback's"
    for part in ("inputs", "state"):
        declared, given = spec.get(part, []), body.get(part, [])
        if not isinstance(given, list) or len(given) != len(declared):
            return f"'{part}' does not match the callback's"
        for item, wanted in zip(given, declared, strict=True):
            items = item if isinstance(item, list) else [item]  # a pattern (ALL) sends a list
            if not all(isinstance(i, dict) and "id" in i and isinstance(i.get("property"), str) for i in items):
                return f"'{part}' holds an item without id and property"
            if not isinstance(item, list) and isinstance(item["id"], str) and \
                    (item["id"], item["property"]) != (wanted["id"], wanted["property"]):
                return f"'{part}' names {item['id']}.{item['property']}, not {wanted['id']}.{wanted['property']}"
    return None


class QuietRequestHandler(WSGIRequestHandler):
    """The development server (`python -m dashboard`) without its version banner."""

    def version_string(self) -> str:
        return "dashboard"


def follow_server_log() -> None:
    """Under gunicorn, the dashboard's own log lines (sign-ins, refused requests) go to its error log."""
    served = logging.getLogger("gunicorn.error")
    ours = logging.getLogger("dashboard")
    if served.handlers and not ours.handlers:
        ours.handlers = served.handlers
        ours.setLevel(served.level)
        ours.propagate = False
