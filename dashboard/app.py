"""The Dash app and its WSGI server (`gunicorn dashboard.app:server`). Nothing else lives here."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from dashboard import callbacks, data, layout

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
app.layout = lambda: layout.build(data.repository().snapshot())
callbacks.register(app)
server = app.server
