"""A throwaway PostgreSQL server for integration tests: initdb in a temp dir, 127.0.0.1 only, trust auth.

PostgreSQL refuses to run as root, so under root the server commands run as the `postgres` user
(`runuser -u postgres --`). Missing server binaries fail the session with how to install them: the
PostgreSQL tests are part of the suite, never skipped.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.integration.hardhat import free_port

__all__ = ["PostgresServer", "create_database", "postgres_url", "start_postgres"]

#: The database the fixture creates; its URL is what `postgres_url` yields.
DATABASE = "curation"
_SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
_INSTALL_HINT = (
    "the PostgreSQL tests need the PostgreSQL server binaries (initdb, pg_ctl, postgres): "
    "install them with `apt-get install postgresql` (or put their directory, e.g. "
    "/usr/lib/postgresql/15/bin, on PATH)"
)


def _bin_dir() -> Path:
    """The directory holding initdb, pg_ctl and postgres: PATH first, then /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(os.path.realpath(found)).parent)
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    versions.sort(key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")])
    candidates += [Path(p) for p in reversed(versions)]
    for directory in candidates:
        if all((directory / tool).is_file() for tool in _SERVER_TOOLS):
            return directory
    pytest.fail(f"{_INSTALL_HINT}; looked on PATH and in /usr/lib/postgresql/*/bin", pytrace=False)


class PostgresServer:
    """A running server: `url(database)` is a SQLAlchemy URL for one of its databases."""

    def __init__(self, bin_dir: Path, root: Path, port: int, as_user: list[str]) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.port = port
        self.as_user = as_user
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a server tool as the server's user; failures carry the tool's output."""
        return subprocess.run(
            [*self.as_user, str(self.bin_dir / tool), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            done = self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            if done.returncode != 0:
                self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _as_server_user(root: Path) -> list[str]:
    """The command prefix that runs the server tools: `runuser -u postgres --` when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "PostgreSQL refuses to run as root and there is no `postgres` user to run it as: "
            "`apt-get install postgresql` creates it (or run the tests as an ordinary user)",
            pytrace=False,
        )
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail(
            "running the tests as root needs `runuser` (util-linux) to start PostgreSQL", pytrace=False
        )
    for path in (root, *root.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid)
    return [runuser, "-u", "postgres", "--"]


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start -w on a free 127.0.0.1 port, then create the `curation` database."""
    bin_dir = _bin_dir()
    # Not under pytest's basetemp: that is mode 0700 and owned by us, so the postgres user could not enter it.
    root = Path(tempfile.mkdtemp(prefix="curation-pg-"))
    (root / "sockets").mkdir()
    as_user = _as_server_user(root)
    server = PostgresServer(bin_dir, root, 0, as_user)
    init = server.run(
        "initdb",
        "-D",
        str(server.data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}", pytrace=False)
    last = ""
    for _attempt in range(3):  # another process may take the free port between the probe and the bind
        server.port = free_port()
        options = (
            f"-p {server.port} -k {server.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = server.run(
            "pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w", "-t", "60", "-o", options, "start"
        )
        if started.returncode == 0:
            break
        last = f"{started.stdout}\n{started.stderr}\n{server.log_tail()}"
    else:
        server.stop()
        pytest.fail(f"PostgreSQL did not start:\n{last}", pytrace=False)
    try:
        create_database(server.url("postgres"), DATABASE)
    except Exception as exc:
        tail = server.log_tail()
        server.stop()
        pytest.fail(f"could not create database {DATABASE}: {exc}\n{tail}", pytrace=False)
    return server


def create_database(url: str, name: str) -> str:
    """CREATE DATABASE `name` on the server of `url`; returns the new database's URL."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the whole session, stopped and deleted afterwards."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """`postgresql+psycopg://postgres@127.0.0.1:PORT/curation` on the session's throwaway server."""
    return postgres_server.url()
