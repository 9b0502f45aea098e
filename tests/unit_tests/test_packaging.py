"""The wheel ships exactly our four packages and their data files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contents(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("signoff-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.startswith("signoff-")}
    assert top == {"tui", "store", "providers", "keymaps"}
    data = sorted(n for n in names if not n.endswith(".py") and not n.startswith("signoff-"))
    assert data == sorted(
        [f"keymaps/{name}.toml" for name in ("default", "emacs", "vim")]
        + ["tui/app.tcss", "tui/demo_plants.jsonl", "tui/demo_queue.jsonl"]
    )
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    meta = next(n for n in names if n.endswith("entry_points.txt"))
    points = zipfile.ZipFile(wheel).read(meta).decode()
    assert "signoff = tui.launch:main" in points
    # Built-in providers are registered exactly as a third-party adapter would be.
    for name in ("openai", "anthropic", "ollama", "http", "jsonl"):
        assert f"\n{name} = providers." in points


def test_the_bundled_demo_queue_is_valid_and_varied() -> None:
    from providers.files import Parsed, read_records

    with (ROOT / "tui" / "demo_queue.jsonl").open("rb") as stream:
        results = list(read_records(stream, "jsonl", default_source="demo"))
    drafts = [r.draft for r in results if isinstance(r, Parsed)]
    assert len(drafts) == len(results) >= 40
    assert {d.stakes for d in drafts} == {"low", "medium", "high"}
    assert {d.kind for d in drafts} >= {"reply", "summary", "score", "label"}
    assert {d.confidence_basis for d in drafts} == {"logprobs", "self-report", "provider", "none"}
    assert sum(d.confidence is None for d in drafts) >= 5
    assert {lim.severity for d in drafts for lim in d.data_limits} == {"info", "warn", "high"}
    assert sum(not d.data_limits for d in drafts) >= 5


def test_ctrl_c_while_the_modules_load_is_quiet(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Before any command's handler is in place, Ctrl+C still exits 130 without a traceback."""
    from tui import launch

    def interrupted(argv: list[str]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(launch, "quick_review", interrupted)
    with pytest.raises(SystemExit) as exited:
        launch.main()
    assert exited.value.code == 130
    assert capfd.readouterr() == ("", "")
