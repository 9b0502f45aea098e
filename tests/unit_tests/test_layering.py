"""The architecture: tui -> store -> providers, tui -> keymaps; only tui imports Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"tui", "store", "providers", "keymaps"}
ALLOWED = {
    "providers": set(),
    "keymaps": set(),
    "store": {"providers"},
    "tui": {"store", "providers", "keymaps"},
}
UI_ONLY = {"textual"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_downward(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        used = _imports(path)
        wrong = (used & OURS) - ALLOWED[package] - {package}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
        if package != "tui":
            assert not used & UI_ONLY, f"{path.relative_to(ROOT)} imports Textual"


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("package", ["store", "providers", "keymaps"])
def test_importing_a_lower_layer_loads_no_textual_at_run_time(package: str) -> None:
    modules = [p.relative_to(ROOT).with_suffix("") for p in (ROOT / package).rglob("*.py")]
    code = "\n".join(f"import {'.'.join(m.parts).removesuffix('.__init__')}" for m in modules)
    loaded = _loaded_after(code)
    assert not {m for m in loaded if m.split(".")[0] in UI_ONLY | {"tui"}}


def test_the_cli_starts_without_textual() -> None:
    # import/status/export must start fast: Textual loads only when the app opens.
    assert "textual" not in _loaded_after("import tui.cli")


def test_listing_provider_names_imports_no_adapter() -> None:
    loaded = _loaded_after(
        "from providers.registry import available\n"
        "assert set(available()) >= {'openai', 'anthropic', 'ollama', 'http', 'jsonl'}"
    )
    adapters = {"providers.openai", "providers.anthropic", "providers.ollama",
                "providers.http_pull", "providers.jsonl_watch", "httpx"}  # fmt: skip
    assert not adapters & loaded
