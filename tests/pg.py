"""A throwaway PostgreSQL cluster for the tests, from the installed Debian binaries.

`initdb` and `pg_ctl` refuse to run as root (and CI runs as root), so as root they run
as the `postgres` OS user on a data folder it owns. The cluster listens on a free port
on 127.0.0.1 and a socket in a temporary folder, with fsync off (a test cluster).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL bin folder, if any."""
    for folder in BIN_DIRS:
        if (folder / "pg_ctl").exists() and (folder / "initdb").exists():
            return folder
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster in a new temporary folder; yields the URL of its `postgres` database.

    The folder is made here, not under pytest's tmp_path: that one is private to root
    (0700), and the server runs as the `postgres` user.
    """
    binaries = pg_bin()
    if binaries is None:
        raise RuntimeError("no PostgreSQL binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="signoff-pg-"))
    try:
        with _started(binaries, root) as conninfo:
            yield conninfo
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _started(binaries: Path, root: Path) -> Iterator[str]:
    data, sockets = root / "data", root / "sockets"
    data.mkdir(parents=True)
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sockets, "postgres")
        root.chmod(0o755)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    user = "postgres" if os.geteuid() == 0 else getpass.getuser()
    made = subprocess.run(
        _as_owner([str(binaries / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
                   "--no-sync", "-E", "UTF8", "--locale=C"]),
        capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    if made.returncode:
        raise RuntimeError(f"initdb failed: {made.stderr.strip()[-500:]}")
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
    )
    log = root / "server.log"
    started = subprocess.run(
        _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                   "-w", "-t", "60", "start"]),
        capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    if started.returncode:
        raise RuntimeError(f"pg_ctl start failed: {log.read_text()[-500:] if log.exists() else ''}")
    try:
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )  # fmt: skip


class RoundTrips:
    """A psycopg connection that counts its waits for the server, as psycopg sends them.

    A statement outside a pipeline waits for its answer: one round trip. A pipeline
    sends all its statements and waits once, when it ends. Put in place of a
    `PgConnection`'s own (`_raw`) to count what one store call costs on a network.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._piped = False
        self.trips = 0
        """Round trips so far."""
        self.sent: list[str] = []
        """Each statement's start, `|` before one that went in a pipeline."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a statement, counted."""
        self.trips += 0 if self._piped else 1
        self.sent.append(("| " if self._piped else "") + " ".join(str(query).split())[:50])
        return self._raw.execute(query, *args, **kwargs)

    @contextmanager
    def pipeline(self) -> Iterator[Any]:
        """A pipeline: one round trip, however many statements."""
        self.trips += 1
        self._piped = True
        try:
            with self._raw.pipeline() as pipeline:
                yield pipeline
        finally:
            self._piped = False

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        """Not counted: the store's decisions and claims do not use one (a scan does)."""
        raise AssertionError("RoundTrips does not count a cursor's trips")
