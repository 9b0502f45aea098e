"""Opening the app without Typer reads a command line exactly as the Typer CLI does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tui import cli, launch
from tui.config import Settings

ROOT = Path(__file__).resolve().parents[2]

Opened = tuple[object, object, object, object]


def _recorder(calls: list[Opened]) -> object:
    def run_app(db: object, settings: Settings, reviewer: object, keymap: object) -> None:
        calls.append((db, settings.path, reviewer, keymap))

    return run_app


def _by_typer(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Opened:
    calls: list[Opened] = []
    monkeypatch.setattr(cli, "run_app", _recorder(calls))
    result = CliRunner().invoke(cli.app, argv)
    assert result.exit_code == 0, result.output
    (call,) = calls
    return call


def _by_launch(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Opened:
    calls: list[Opened] = []
    monkeypatch.setattr(launch, "run_app", _recorder(calls))
    monkeypatch.setattr(sys, "argv", ["signoff", *argv])
    monkeypatch.setattr(cli, "main", lambda: pytest.fail("left to Typer"))
    launch.main()
    (call,) = calls
    return call


CONFIG = "{config}"

OPENING = [
    [],
    ["review"],
    ["--db", "a.db"],
    ["--db=a.db", "--reviewer", "carol"],
    ["review", "--db", "a.db", "--keymap", "vim"],
    ["--db", "a.db", "review", "--db", "b.db"],  # the command's own option wins
    ["--reviewer", "carol", "review", "--keymap=emacs", "--db", "x.db"],
    ["--db", "a.db", "--db", "b.db"],  # the last one wins
    ["review", "--reviewer", "dan", "--reviewer", "erin"],
    ["--config", CONFIG, "--db", "postgresql://signoff@127.0.0.1/q"],
    ["review", "--config=" + CONFIG],
    ["--db", "with space.db", "--reviewer", "ünïcode"],
]


@pytest.mark.parametrize("argv", OPENING, ids=lambda a: " ".join(a) or "(none)")
def test_an_app_opening_line_is_read_as_typer_reads_it(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('reviewer = "from-config"\n')
    argv = [word.replace(CONFIG, str(config)) for word in argv]
    assert launch.quick_review(argv) is not None
    assert _by_launch(argv, monkeypatch) == _by_typer(argv, monkeypatch)


LEFT_TO_TYPER = [
    ["--help"],
    ["-h"],
    ["review", "--help"],
    ["--version"],
    ["status"],
    ["--db", "a.db", "status"],
    ["import", "f.jsonl"],
    ["--db"],
    ["--db="],
    ["review", "--db"],
    ["review", "extra"],
    ["review", "review"],
    ["--reviewer", "-x"],
    ["--nope", "1"],
    ["--db", "a.db", "--", "review"],
    ["-d", "a.db"],
]


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert launch.quick_review(argv) is None


def _run(module: str, *args: str, home: Path) -> tuple[int, str, str]:
    env = {**os.environ, "COLUMNS": "200", "HOME": str(home), "XDG_DATA_HOME": str(home / "d"),
           "XDG_CONFIG_HOME": str(home / "c")}  # fmt: skip
    env.pop("SIGNOFF_DB", None)
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["--db", "{tmp}/typo/q.db"],
        ["review", "--db", "{tmp}/missing.db"],
        ["--keymap", "nope", "--db", "{tmp}/missing.db"],
        ["--config", "{tmp}/none.toml"],
        ["--config", "{tmp}/bad.toml", "review"],
        ["--reviewer", "x" * 101, "--db", "{tmp}/q.db"],
    ],
    ids=["typo-folder", "missing-db", "bad-keymap", "missing-config", "bad-config", "long-name"],
)
def test_mistakes_get_the_same_line_and_status_either_way(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("reviewer = [\n")
    from store import Store

    Store(tmp_path / "q.db").close()
    argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
    assert launch.quick_review(argv) is not None
    quick = _run("tui", *argv, home=tmp_path)
    full = _run("tui.cli", *argv, home=tmp_path)
    assert quick == full
    code, _, stderr = quick
    assert code in (1, 2)
    assert stderr.startswith("signoff: ")
    assert len(stderr.splitlines()) == 1


def test_opening_the_app_loads_neither_typer_nor_pydantic() -> None:
    probe = (
        "import sys\n"
        "from tui import launch\n"
        "launch.run_app = lambda *args: None\n"
        "sys.argv = ['signoff', 'review', '--db', 'x.db']\n"
        "launch.main()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'pydantic', 'click')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    assert done.stdout.strip() == "[]"


LATER = ("statistics", "importlib.resources", "hashlib", "textual.widgets._text_area", "typer",
         "pydantic")  # fmt: skip
"""Modules only later screens and commands need: each was measured in the start to the
first row (the text area ~3 ms, `hashlib` ~2, `statistics` ~1.5, `importlib.resources` ~1.5)."""


def _open_app(tmp_path: Path, on_screen: str, after: str) -> list[str]:
    """Open the app as `signoff` does, headless, on a one-item queue; what it printed.

    `on_screen` runs (with `pilot`) once the queue is shown, `after` once the app closed.
    """
    from store import Store
    from tests.conftest import make_draft

    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1")])
    probe = (
        "import sys, textual.app\n"
        "run = textual.app.App.run\n"
        "async def shown(pilot):\n"
        "    await pilot.pause()\n"
        f"    {on_screen}\n"
        "    pilot.app.exit()\n"
        "textual.app.App.run = lambda app: run(app, headless=True, auto_pilot=shown)\n"
        "from tui import launch\n"
        f"sys.argv = ['signoff', '--db', {str(db)!r}, '--reviewer', 'probe']\n"
        "launch.main()\n"
        f"{after}\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d"),
           "XDG_CONFIG_HOME": str(tmp_path / "c")}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          env=env, check=True, timeout=60)  # fmt: skip
    return done.stdout.split("\n")


def test_the_queue_on_screen_has_not_loaded_what_only_later_screens_need(tmp_path: Path) -> None:
    printed = _open_app(
        tmp_path,
        "print(len(pilot.app.screen.query_one('#queue').rows))",
        f"print(sorted(m for m in {LATER!r} if m in sys.modules))",
    )
    assert printed[:2] == ["1", "[]"], printed


def test_the_app_hands_the_gil_to_its_terminal_writer_soon(tmp_path: Path) -> None:
    """While the app runs, a thread waits at most `SWITCH_INTERVAL_S` for the GIL."""
    interval = "print(sys.getswitchinterval())"
    printed = _open_app(tmp_path, interval, interval)  # while it runs, and after
    assert printed[:2] == [str(launch.SWITCH_INTERVAL_S), str(sys.getswitchinterval())], printed


def test_a_new_database_is_made_without_importing_pandas_or_numpy(tmp_path: Path) -> None:
    # sqlite-utils imports both when installed (statsmodels installs them): ~0.2 s of
    # every new or upgraded database. They must stay importable for the agreement figures.
    probe = (
        "import sys\n"
        "from store import Store\n"
        f"Store({str(tmp_path / 'new.db')!r}).close()\n"
        "import store.migrations\n"
        "print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))\n"
        "import numpy, pandas\n"
        "print(pandas.Timestamp(0).year)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=60)  # fmt: skip
    assert done.stdout.split("\n")[:2] == ["[]", "1970"]
