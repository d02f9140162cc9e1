"""A database password never reaches a message, a log line, the run log or the page."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from etl.jobs.cli import main
from etl.paths import PROJECT_ROOT, RedactingFormatter, redact

SECRET = "s3cr3t-Pa55"
UNREACHABLE = [  # nothing listens on port 1; a port that is no number; a password with an @ in it
    f"postgresql://talent:{SECRET}@127.0.0.1:1/talent",
    f"postgresql://talent:{SECRET}@127.0.0.1:notaport/talent",
    f"postgres://talent:x@{SECRET}@127.0.0.1:1/talent",
]


@pytest.mark.parametrize(("text", "shown"), [
    (f"postgresql://u:{SECRET}@h:5432/db", "postgresql://u:***@h:5432/db"),
    (f"postgresql+psycopg://u:a@b:{SECRET}@h/db", "postgresql+psycopg://u:***@h/db"),
    (f"could not parse 'postgresql://u:{SECRET}@h/db' (see docs)", "could not parse 'postgresql://u:***@h/db' (see docs)"),
    (f"host=h password={SECRET} user=u", "host=h password=*** user=u"),
    ("sqlite:////data/curated/talent.sqlite", "sqlite:////data/curated/talent.sqlite"),
    ("postgresql://u@h/db and https://example.org/a@b", "postgresql://u@h/db and https://example.org/a@b"),
])
def test_redact_masks_passwords_and_nothing_else(text, shown):
    assert redact(text) == shown


def test_migrate_with_an_unreachable_database_prints_no_password():
    """The Procfile's release step, as the deploy log shows it."""
    done = subprocess.run([sys.executable, "-m", "etl", "migrate", "--db", UNREACHABLE[0]], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "migrate failed" in done.stderr and "talent:***@127.0.0.1" not in done.stdout
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize("url", UNREACHABLE)
@pytest.mark.parametrize("command", [["migrate"], ["run"], ["refresh", "--no-export"], ["export"], ["users", "list"]])
def test_no_command_prints_the_password_whatever_the_error(command, url, tmp_path, capsys):
    words = [*command, "--db", url]
    if command[0] in ("run", "refresh"):
        words += ["--curated", str(tmp_path)]
    if command[0] == "export":
        words += ["--out", str(tmp_path / "x.xlsx")]
    assert main(words) != 0
    said = capsys.readouterr()
    assert said.err.strip(), "the failure is reported"
    assert SECRET not in said.out + said.err


def test_log_lines_and_their_tracebacks_are_masked():
    record = logging.LogRecord("etl.refresh", logging.ERROR, __file__, 1, "cannot open %s", (UNREACHABLE[0],), None)
    try:
        raise ConnectionError(f"connection to {UNREACHABLE[0]} refused")
    except ConnectionError:
        record.exc_info = sys.exc_info()
    line = RedactingFormatter("%(message)s").format(record)
    assert "talent:***@127.0.0.1" in line and "ConnectionError" in line and SECRET not in line
