"""Processes a test starts: a port for them, and stopping them whatever happened in the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

GRACE = 60  # seconds a process gets to stop on SIGTERM before it is killed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it is still there after GRACE seconds. A process started with
    `start_new_session=True` is stopped with everything it started (gunicorn's workers, honcho's children)."""
    if process.poll() is not None:
        return
    group = os.getpgid(process.pid) == process.pid
    send = (lambda sig: os.killpg(process.pid, sig)) if group else process.send_signal
    send(signal.SIGTERM)
    try:
        process.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()
