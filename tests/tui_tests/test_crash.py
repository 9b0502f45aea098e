"""An unexpected error in the app: claims released, one line, a private crash file."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from store import Store
from tests.conftest import make_draft
from tests.pty_run import run_in_pty

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DRAFT = "Dear Ms Novak, your refund of 412.50 EUR was approved on 3 March."


def test_a_crash_releases_claims_exits_non_zero_and_prints_no_draft(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1", draft=DRAFT)])
    data = tmp_path / "xdg-data"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "HOME": str(tmp_path)}
    run = run_in_pty(
        [sys.executable, "-m", "tests.tui_tests.crash_app", "review", "--db", str(db),
         "--reviewer", "alice"],
        keys=[(2.5, b"\r")], env=env, cwd=ROOT,
    )  # fmt: skip
    screen = run.output.decode("utf-8", "replace")
    assert run.returncode == 70, screen[-2000:]
    assert "unexpected error (RuntimeError)" in screen
    assert "your claims were released" in screen
    assert "412.50" not in screen
    assert "secret_draft" not in screen
    assert "Traceback" not in screen
    (crash_file,) = (data / "signoff" / "crashes").iterdir()
    assert str(crash_file) in screen.replace("\r\n", "")
    assert stat.S_IMODE(crash_file.stat().st_mode) == 0o600
    assert "planted bug" in crash_file.read_text()
    with Store(db) as store:
        item = store.find_item("support", "T-1")
        assert item is not None
        assert item.state == "pending"  # not held for a lease after the crash
