"""A throwaway PostgreSQL server on loopback, for the tests and the benchmark.

`find_pg_bin` locates Debian's server binaries (`initdb`, `pg_ctl`); `PgServer.start` creates a data
directory under a temporary folder, starts a server on 127.0.0.1 with trust authentication and returns
URLs for databases in it; `stop` shuts it down and removes the folder. As root the server runs as the
`postgres` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import free_port

PG_SEARCH = ("/usr/lib/postgresql",)
SUPERUSER = "postgres"


def find_pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: $PG_BIN, Debian's newest version, else what PATH offers."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    for root in PG_SEARCH:
        base = Path(root)
        if base.is_dir():
            versions = sorted((p for p in base.iterdir() if p.name.replace(".", "").isdigit()),
                              key=lambda p: float(p.name), reverse=True)
            candidates.extend(v / "bin" for v in versions)
    for tool in ("pg_ctl", "initdb"):
        found = shutil.which(tool)
        if found:
            candidates.append(Path(os.path.realpath(found)).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _as_server_user(cmd: list[str]) -> list[str]:
    """Run as `postgres` when we are root; unchanged otherwise."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SUPERUSER, "--", *cmd]
    return ["su", SUPERUSER, "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]


@dataclass
class PgServer:
    """A running throwaway server; `url(db)` names a database in it."""

    bin_dir: Path
    base: Path
    port: int
    user: str = SUPERUSER
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.base / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    @classmethod
    def start(cls, bin_dir: Path | None = None, port: int | None = None, base: Path | None = None,
              timeout: float = 60.0) -> PgServer:
        """initdb + pg_ctl start; raises RuntimeError with the server log when it does not come up."""
        bin_dir = bin_dir or find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found; install Debian's postgresql")
        base = base or Path(tempfile.mkdtemp(prefix="pgtest-"))
        base.mkdir(parents=True, exist_ok=True)
        server = cls(bin_dir=bin_dir, base=base, port=port or free_port())
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SUPERUSER)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        user = SUPERUSER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        server.user = user
        subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(server.data_dir), "-U", user,
                                        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True, timeout=timeout)
        options = (f"-k {base} -h 127.0.0.1 -p {server.port} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        done = subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-l",
                                               str(server.log), "-o", options, "-w", "-t", str(int(timeout)),
                                               "start"]),
                              capture_output=True, text=True, timeout=timeout + 10)
        if done.returncode != 0:
            log = server.log.read_text(errors="replace") if server.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log}")
        server.wait_ready(timeout)
        return server

    def wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """Fast shutdown, then remove the data folder."""
        subprocess.run(_as_server_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                                        "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)


def psycopg_connect(url: str, **kwargs):
    """A psycopg connection from a libpq or SQLAlchemy-style URL."""
    import psycopg

    return psycopg.connect(_libpq(url), connect_timeout=10, **kwargs)


def create_database(admin_url: str, name: str | None = None) -> str:
    """CREATE DATABASE in the server `admin_url` points at; returns the new database's URL."""
    from sqlalchemy.engine import make_url

    name = name or f"t_{uuid.uuid4().hex[:12]}"
    with psycopg_connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg_connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    """A SQLAlchemy-style URL (postgresql+psycopg://) as a plain libpq URL."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url
