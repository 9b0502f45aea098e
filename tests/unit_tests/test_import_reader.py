"""A large import file is read by a child process: same rows, same rejections, clean stops."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import pytest

from providers.base import Stakes
from store import Store
from tui import import_reader
from tui.import_reader import Chunk, ImportPlan, ReaderError, ReadSpec, chunks

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, n: int, *, bad_every: int = 0, pad: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            if bad_every and i % bad_every == 0:
                out.write('{"id": "broken", "draft": \n')
                continue
            out.write(json.dumps({
                "id": f"T-{i}", "draft": f"Draft {i} " + "x" * pad, "confidence": 0.5,
                "data_limits": ["stale record"] if i % 3 == 0 else [], "meta": {"n": i},
                "created_at": "2026-11-01T10:00:00Z" if i % 5 == 0 else None,
            }) + "\n")  # fmt: skip
    return path


def _read_all(spec: ReadSpec) -> tuple[list[Chunk], list[int]]:
    seen: list[int] = []
    with chunks(spec, seen.append) as read:
        return list(read), seen


def test_the_child_sends_what_reading_here_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "t.jsonl", 1_234, bad_every=97)
    spec = ReadSpec(ImportPlan(str(path), "jsonl", "t"), "high", 100)
    here, here_progress = _read_all(spec)
    monkeypatch.setattr(import_reader, "WORKER_MIN_BYTES", 0)
    child, child_progress = _read_all(spec)
    assert child == here
    assert [len(c.rows) for c in child] == [100] * 12 + [21]
    assert sum(len(c.rejected) for c in child) == 13
    assert child[0].rejected[0].line == 1
    assert child_progress[-1] == here_progress[-1] == path.stat().st_size


def test_a_file_the_child_cannot_read_is_an_os_error(tmp_path: Path) -> None:
    spec = ReadSpec(ImportPlan(str(tmp_path / "gone.jsonl"), "jsonl", "t"), "medium", 500)
    with import_reader._child(spec) as child, pytest.raises(FileNotFoundError):
        list(import_reader._received(child, spec, None))


def test_a_child_that_fails_or_dies_is_a_reader_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", 10)
    broken = ReadSpec(
        ImportPlan(str(path), "jsonl", "t"), cast(Stakes, "extreme"), 500
    )  # no such stakes
    with import_reader._child(broken) as child, pytest.raises(ReaderError) as failed:
        list(import_reader._received(child, broken, None))
    assert "the reading process failed" in str(failed.value)
    big = ReadSpec(ImportPlan(str(_write(tmp_path / "big.jsonl", 20_000)), "jsonl", "t"), "low", 50)
    with import_reader._child(big) as child:
        assert child is not None
        received = import_reader._received(child, big, None)
        next(received)
        child.process.kill()
        with pytest.raises(ReaderError, match=r"stopped \(exit status -9\)"):
            list(received)


def test_a_child_that_cannot_start_leaves_the_reading_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ReadSpec(ImportPlan(str(_write(tmp_path / "t.jsonl", 1_000)), "jsonl", "t"), "low", 300)
    here, _ = _read_all(spec)
    monkeypatch.setattr(import_reader, "WORKER_MIN_BYTES", 0)
    # A Python that fails before it reads anything (its stderr says why), then none at all.
    monkeypatch.setattr(sys, "executable", str(_write_script(tmp_path / "py", "exit 3")))
    assert _read_all(spec)[0] == here
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert _read_all(spec)[0] == here


def _write_script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\necho 'ModuleNotFoundError: tui' >&2\n{body}\n")
    path.chmod(0o755)
    return path


def test_leaving_early_stops_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_reader, "WORKER_MIN_BYTES", 0)
    path = _write(tmp_path / "t.jsonl", 20_000)
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def recorded(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        process = real(*args, **kwargs)  # type: ignore[call-overload]
        started.append(process)
        return process  # type: ignore[no-any-return]

    monkeypatch.setattr(subprocess, "Popen", recorded)
    with chunks(ReadSpec(ImportPlan(str(path), "jsonl", "t"), "low", 50)) as read:
        next(read)
    assert started
    assert started[0].returncode is not None


def test_a_large_import_through_the_cli_matches_and_ctrl_c_keeps_batches(tmp_path: Path) -> None:
    # Long drafts make a file over the threshold from few records.
    path = _write(tmp_path / "big.jsonl", 1_500, bad_every=500, pad=1_500)
    assert path.stat().st_size >= import_reader.WORKER_MIN_BYTES
    db = tmp_path / "q.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SIGNOFF_DB": "",
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    command = [sys.executable, "-m", "tui", "import", str(path), "--db", str(db)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1  # rejected records
    assert [line.split(": ")[0] for line in done.stderr.splitlines()] == [
        f"{path}:{n}" for n in (1, 501, 1001)
    ]
    assert "1,497 added, 0 updated, 0 unchanged, 0 skipped, 3 rejected" in done.stdout
    with Store(db) as store:
        item = store.find_item("big", "T-5")
        assert item is not None
        assert item.meta == {"n": 5}
        assert item.created_at.isoformat() == "2026-11-01T10:00:00+00:00"

    # Ctrl-C at a terminal reaches the whole process group: the child ignores it, the
    # parent stops it and keeps the batches it committed.
    many = _write(tmp_path / "many.jsonl", 60_000)
    db2 = tmp_path / "q2.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "import", str(many), "--db", str(db2)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
        # As a terminal's shell starts it: a run launched in the background of a
        # non-interactive shell inherits Ctrl-C ignored, and Python keeps it so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while _stored(db2) < 1_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted: batches already committed are kept" in err
    assert "Traceback" not in err
    kept = _stored(db2)
    assert 1_000 <= kept < 60_000
    assert _group_alive(process.pid) == []  # the child did not outlive the import
    again = subprocess.run([*command[:4], str(many), "--db", str(db2)],
                           capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert f"{60_000 - kept:,} added, 0 updated, {kept:,} unchanged" in again.stdout


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def _group_alive(group: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == group and stat[0] != "Z":  # pgrp, state
                alive.append(int(entry.name))
    return alive


def test_a_child_that_dies_after_sending_says_why_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "python"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import pickle, sys\n"
        "pickle.dump(('chunk', [], [], 10), sys.stdout.buffer); sys.stdout.flush()\n"
        "sys.exit('MemoryError: out of memory')\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    monkeypatch.setattr(import_reader, "WORKER_MIN_BYTES", 0)
    spec = ReadSpec(ImportPlan(str(_write(tmp_path / "t.jsonl", 10)), "jsonl", "t"), "low", 500)
    with pytest.raises(ReaderError) as stopped:
        _read_all(spec)
    assert (
        str(stopped.value)
        == "the reading process stopped (exit status 1: MemoryError: out of memory)"
    )
