"""A throwaway PostgreSQL cluster for the tests and benchmarks: Debian's ``postgresql``
binaries, a fresh data folder, trust sign-in on 127.0.0.1 only, stopped and removed at
the end. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user that Debian's package creates.

    .venv/bin/python -m devtools.postgres   # start one, print its URL, stop on Ctrl-C
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL is not installed, and the tests run every store, worker and page test "
    "against it as well as SQLite. `make test` installs it (Debian's `postgresql` "
    "package); by hand: apt-get install -y postgresql"
)


class PostgresMissing(RuntimeError):
    pass


def binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest installed version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresMissing(INSTALL_HINT)


class Cluster:
    def __init__(self, folder: Path, port: int, run_as: list[str]):
        self.folder, self.port, self._run_as = folder, port, run_as
        self._bin = binaries()

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new, empty database (or a copy of ``template``); returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            extra = f" TEMPLATE {template}" if template else ""
            conn.execute(f"CREATE DATABASE {name}{extra}")
        return self.url(name)

    def _pg(self, *args: str) -> None:
        subprocess.run(
            [*self._run_as, str(self._bin / args[0]), *args[1:]],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd="/",
        )

    def start(self) -> None:
        data = self.folder / "data"
        self._pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._pg(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every session is cut, then the server is back."""
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """Start a cluster in a fresh folder; stop it and remove the folder afterwards."""
    binaries()  # says how to install PostgreSQL before anything else happens
    folder = Path(tempfile.mkdtemp(prefix="severity-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(folder, _free_port(), run_as)
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        log = folder / "log"
        detail = log.read_text()[-2000:] if log.exists() else exc.stderr.decode()[-2000:]
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"The throwaway PostgreSQL did not start:\n{detail}") from exc
    try:
        yield cluster
    finally:
        cluster.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except ValueError:
        return 0.0


if __name__ == "__main__":
    with throwaway_cluster() as cluster:
        print(cluster.create_database("severity"), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
