"""The Dash app and its WSGI server (`gunicorn dashboard.app:server`), hardened (dashboard.security) and
behind sign-in unless DASHBOARD_AUTH=off (dashboard.auth). Nothing else lives here."""

from __future__ import annotations

from pathlib import Path

from dash import Dash
from flask import send_file

from dashboard import auth, callbacks, geo, layout, repository, security

ASSETS = Path(__file__).resolve().parent / "assets"

app = Dash(
    __name__,
    title="浙江人才指标看板 Zhejiang Talent Indicators",
    assets_folder=str(ASSETS),
    serve_locally=True,
    suppress_callback_exceptions=True,
    update_title=None,
    meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
)
app.layout = lambda: layout.build(repository.current().snapshot(), auth.signed_in_name())
callbacks.register(app)
server = app.server
security.harden(app)  # after every callback is registered: the policy lists their inline scripts
auth.install(server, required=auth.required_by_environment())
security.follow_server_log()


@server.route(f"{geo.BOUNDARY_ROUTE}<name>")
def boundary_file(name: str):
    """The map's boundary files, served from data/reference so nothing comes from outside the app."""
    level = next((lvl for lvl, file in geo.BOUNDARY_FILES.items() if file == name), None)
    if level is None:
        return "no such boundary file", 404
    return send_file(geo.boundary_path(level), mimetype="application/geo+json", max_age=3600)
