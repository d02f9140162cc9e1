"""One writer at a time: a lock held as a row in the database's `locks` table.

The row is claimed with an INSERT that fails on the primary key when someone else holds it, so the
database itself arbitrates between processes on any host. The row records who holds it (pid, host,
command, start) and a heartbeat a background thread renews. A holder is presumed dead, and its lock taken
over, when it ran on this host and its process is gone (a `kill -9` or a crash), or when its heartbeat is
older than `stale_after` (a host that vanished). Release deletes only our own row, by token, so a process
whose lock was taken over never deletes its successor's.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from etl.store.schema import locks

DEFAULT_STALE_SECONDS = 900
HEARTBEAT_SECONDS = 30.0
POLL_SECONDS = 0.5
_held_tokens: set[str] = set()  # tokens this process holds, so its own pid is not mistaken for a live rival


@dataclass(frozen=True)
class LockHolder:
    token: str
    pid: int
    host: str
    command: str
    started_at: datetime
    heartbeat_at: datetime

    def describe(self) -> str:
        return (f"{self.command} (pid {self.pid} on {self.host}, started {self.started_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"last heartbeat {self.heartbeat_at:%H:%M:%S} UTC)")


class LockBusy(RuntimeError):
    """Someone else holds the lock and is alive."""

    def __init__(self, holder: LockHolder | None):
        self.holder = holder
        super().__init__(f"another job holds the lock: {holder.describe() if holder else 'unknown holder'}")


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def process_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


class DatabaseLock:
    """`with DatabaseLock(engine, "refresh").acquire(wait=60):` … released on exit, even after an error."""

    def __init__(self, engine: Engine, name: str = "refresh", command: str = "refresh",
                 stale_after: float | None = None):
        self.engine = engine
        self.name = name
        self.command = command
        self.stale_after = timedelta(seconds=stale_after if stale_after is not None else
                                     float(os.environ.get("REFRESH_LOCK_STALE_SECONDS", DEFAULT_STALE_SECONDS)))
        self.token = str(uuid.uuid4())
        self.host = socket.gethostname()
        self.taken_over: LockHolder | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None

    # --- acquiring -----------------------------------------------------------------------------------------

    def holder(self) -> LockHolder | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(locks).where(locks.c.name == self.name)).mappings().first()
        if row is None:
            return None
        return LockHolder(row["token"], row["pid"], row["host"], row["command"], _utc(row["started_at"]),
                          _utc(row["heartbeat_at"]))

    def is_stale(self, holder: LockHolder, now: datetime | None = None) -> bool:
        """Dead on this host, or silent for longer than `stale_after`."""
        now = now or datetime.now(UTC)
        if holder.host == self.host:
            if holder.pid == os.getpid():
                return holder.token not in _held_tokens  # an earlier life of this pid, e.g. a restarted container
            if not process_alive(holder.pid):
                return True
        return now - holder.heartbeat_at > self.stale_after

    def try_acquire(self) -> bool:
        """One attempt: True when the lock is now ours; a stale holder's row is removed first."""
        holder = self.holder()
        if holder is not None:
            if not self.is_stale(holder):
                return False
            with self.engine.begin() as conn:
                gone = conn.execute(delete(locks).where(locks.c.name == self.name, locks.c.token == holder.token))
            if gone.rowcount:
                self.taken_over = holder
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(locks).values(name=self.name, token=self.token, pid=os.getpid(), host=self.host,
                                                  command=self.command, started_at=now, heartbeat_at=now))
        except IntegrityError:
            return False
        _held_tokens.add(self.token)
        return True

    def acquire(self, wait: float = 0.0) -> DatabaseLock:
        """Claim the lock, polling for up to `wait` seconds; raises LockBusy naming the holder."""
        deadline = time.monotonic() + wait
        while True:
            try:
                if self.try_acquire():
                    break
            except OperationalError:  # SQLite busy beyond its timeout: the holder is writing, count it as held
                pass
            if time.monotonic() >= deadline:
                raise LockBusy(self.holder())
            time.sleep(POLL_SECONDS)
        self._thread = threading.Thread(target=self._beat, name=f"lock-heartbeat-{self.name}", daemon=True)
        self._thread.start()
        return self

    # --- holding -------------------------------------------------------------------------------------------

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            if self._paused.is_set():
                continue
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(locks).where(locks.c.name == self.name, locks.c.token == self.token)
                                 .values(heartbeat_at=datetime.now(UTC)))
            except Exception:  # noqa: BLE001 - a missed heartbeat is harmless; the next one retries
                pass

    def pause_heartbeat(self) -> None:
        """Hold the heartbeat while we keep a write transaction open (SQLite has one writer)."""
        self._paused.set()

    def resume_heartbeat(self) -> None:
        self._paused.clear()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.engine.begin() as conn:
            conn.execute(delete(locks).where(locks.c.name == self.name, locks.c.token == self.token))
        _held_tokens.discard(self.token)

    def __enter__(self) -> DatabaseLock:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
