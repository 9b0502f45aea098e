"""Shared fixtures: every test gets its own config/data dirs and a controllable clock."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.base import DataLimit, Draft
from store import JustificationPolicy, Store

T0 = dt.datetime(2026, 11, 24, 9, 0, 0, tzinfo=dt.UTC)


MAX_WORKERS = 4
"""`make test` runs `pytest -n auto`: one worker per core, at most this many. Each worker
starts its own PostgreSQL cluster; measured only on two cores (537 s → 277 s)."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for `-n auto`: the cores this process may use, capped at `MAX_WORKERS`.

    `sched_getaffinity` is Linux's (a CI runner's share of the machine); macOS has only
    the machine's count.
    """
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cores = len(usable) if usable is not None else (os.cpu_count() or 1)
    return max(1, min(MAX_WORKERS, cores))


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's own config, data or database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SIGNOFF_DB", raising=False)
    monkeypatch.delenv("SIGNOFF_REVIEWER", raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the whole run (the URL of its `postgres` db).

    Without the binaries the PostgreSQL tests skip, loudly: the reason names the package.
    """
    from tests.pg import cluster, pg_bin

    if pg_bin() is None:
        pytest.skip(
            "PostgreSQL binaries not installed (apt-get install postgresql): "
            "the team-mode tests did not run"
        )
    with cluster() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A new, empty database on the test cluster, dropped after the test."""
    import psycopg

    name = f"t{next(_DATABASES)}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield pg_server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_DATABASES = itertools.count(1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_target(request: pytest.FixtureRequest, db_path: Path) -> Path | str:
    """The database a store test runs on: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return db_path
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def sqlite_store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    """A store on SQLite only, for tests of SQLite's own machinery."""
    with Store(db_path, now=clock, policy=JustificationPolicy()) as opened:
        yield opened


@pytest.fixture
def store(db_target: Path | str, clock: FakeClock) -> Iterator[Store]:
    with Store(db_target, now=clock, policy=JustificationPolicy()) as opened:
        yield opened


def make_draft(external_id: str = "T-1", **fields: Any) -> Draft:
    """A valid draft with overridable fields."""
    values: dict[str, Any] = {
        "source": "support",
        "external_id": external_id,
        "draft": f"Hello, your refund for order {external_id} has been issued today.",
        "kind": "reply",
        "title": f"Refund {external_id}",
        "confidence": 0.9,
        "confidence_basis": "logprobs",
        "data_limits": (DataLimit("stale", "CRM snapshot is a day old", "warn"),),
    }
    values.update(fields)
    return Draft(**values)


def query_plans(conn: Any, run: Any, contains: str) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement `run()` executes whose SQL has `contains`.

    Traces the real statements (values bound in), so a plan test checks the query the
    code runs, not a copy of it.
    """
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    return [
        " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        for sql in seen
        if contains in sql and sql.lstrip().upper().startswith(("SELECT", "WITH"))
    ]
