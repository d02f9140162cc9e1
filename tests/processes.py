"""Stopping what a test started, whatever happened in it."""

from __future__ import annotations

import os
import signal
import subprocess

GRACE = 60  # seconds a process group gets to stop on SIGTERM before it is killed


def stop_group(process: subprocess.Popen) -> None:
    """End a process started with `start_new_session=True` and everything it started (gunicorn's workers,
    honcho's children): SIGTERM to the group, then SIGKILL if it is still there after GRACE seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
