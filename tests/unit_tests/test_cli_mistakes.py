"""The command line does what it says: options anywhere, one line per mistake, clean bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from store import Store
from tests.conftest import make_draft
from tests.unit_tests.test_cli import run, status, write_jsonl

pytestmark = pytest.mark.slow

HOSTILE = "evil\x1b[2J\u202eoverride\u200b\ufeff\x85end"


def one_line_error(result: object, code: int, *, contains: str) -> None:
    """Exit `code`, one line on stderr that says `contains`, no traceback anywhere."""
    assert result.returncode == code, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    lines = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stderr  # type: ignore[attr-defined]
    assert contains in lines[0]
    assert lines[0].startswith("signoff: ")
    assert "Traceback" not in result.stdout + result.stderr  # type: ignore[attr-defined]


@pytest.fixture
def db_with_a_decision(tmp_path: Path) -> Path:
    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1")])
        claim = store.claim_next("alice")
        assert claim is not None
        store.decide(claim, "approve", "Checked the refund against the invoice")
    return db


def test_options_before_the_command_are_used_or_refused(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    records = write_jsonl(tmp_path / "f.jsonl", ['{"id": "T-1", "draft": "Hello there"}'])
    assert run("--db", str(db), "import", str(records)).returncode == 0
    assert status(db)["totals"]["total"] == 1  # written where --db said, not the default
    shown = run("--reviewer", "carol", "status", "--json", "--db", str(db))
    assert json.loads(shown.stdout)["reviewer"] == "carol"
    # The command's own option wins over one given before it.
    shown = run("--reviewer", "carol", "status", "--json", "--db", str(db), "--reviewer", "dan")
    assert json.loads(shown.stdout)["reviewer"] == "dan"
    assert "j, down" in run("--keymap", "vim", "keys").stdout
    one_line_error(run("--keymap", "vim", "import", str(records)), 2,
                   contains="--keymap does not apply to `signoff import`")  # fmt: skip
    # export --reviewer is a filter, not "who you are": refused, not reinterpreted.
    one_line_error(run("--reviewer", "bob", "export", "--db", str(db)), 2,
                   contains="--reviewer does not apply to `signoff export`")  # fmt: skip


def test_a_mistyped_db_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    records = write_jsonl(tmp_path / "f.jsonl", ['{"id": "T-1", "draft": "Hello there"}'])
    one_line_error(run("import", str(records), "--db", str(tmp_path / "typo" / "q.db")), 1,
                   contains="typo does not exist")  # fmt: skip
    assert not (tmp_path / "typo").exists()
    one_line_error(run("status", "--db", str(tmp_path / "q.bd")), 2,
                   contains="q.bd: no such database")  # fmt: skip
    assert not (tmp_path / "q.bd").exists()
    one_line_error(run("status", "--db", str(tmp_path)), 1, contains="is a folder")
    # A team database that does not answer (port 1 on loopback: refused at once).
    one_line_error(run("status", "--db", "postgresql://team:secret@127.0.0.1:1/signoff"), 1,
                   contains="postgresql://team@127.0.0.1:1/signoff: cannot connect")  # fmt: skip


def test_unwritable_outputs_are_one_line_and_leave_nothing_behind(
    db_with_a_decision: Path, tmp_path: Path
) -> None:
    db = str(db_with_a_decision)
    a_file = write_jsonl(tmp_path / "file.jsonl", ["{}"])
    folder = tmp_path / "out"
    folder.mkdir()
    for args, code, says in [
        (("export", "-o", "/proc/nope.csv"), 1, "/proc/nope.csv: cannot write"),
        (("export", "-o", f"{a_file}/x.csv"), 2, "file.jsonl is not a folder"),
        (("backup", "/proc/x.db"), 1, "/proc/x.db: cannot write the backup"),
        (("backup", f"{a_file}/x.db"), 2, "file.jsonl is not a folder"),
        (("backup", "--force", str(folder)), 2, "is a folder; give a file name"),
    ]:
        one_line_error(run(*args, "--db", db), code, contains=says)
    assert list(folder.iterdir()) == []  # no .partial left behind
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("q.db"))
    assert left == ["file.jsonl", "out"]


def test_export_says_when_nothing_matched_and_never_overwrites_silently(
    db_with_a_decision: Path, tmp_path: Path
) -> None:
    db = str(db_with_a_decision)
    one_line_error(run("export", "--reviewer", "nobody", "--db", db), 1,
                   contains="no events match (1 event in the ledger)")  # fmt: skip
    target = tmp_path / "out.jsonl"
    one_line_error(run("export", "-f", "csv", "-o", str(target), "--db", db), 2,
                   contains="-f csv would write CSV into")  # fmt: skip
    assert run("export", "-o", str(target), "--db", db).returncode == 0
    before = target.read_bytes()
    one_line_error(run("export", "-o", str(target), "--db", db), 2,
                   contains="exists; pass --force")  # fmt: skip
    assert target.read_bytes() == before
    assert run("export", "-o", str(target), "--force", "--db", db).returncode == 0


def test_hostile_text_is_escaped_in_json_and_on_standard_output(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1", source=HOSTILE, draft="Refund sent " + HOSTILE)])
        claim = store.claim_next("alice")
        assert claim is not None
        store.decide(claim, "approve", "Checked the refund " + HOSTILE)
    for args in (("status", "--json"), ("stats", "--json"), ("export",)):
        result = run(*args, "--db", str(db))
        assert result.returncode == 0, result.stderr
        for char in "\x1b\u202e\u200b\ufeff\x85":
            assert char not in result.stdout, (args, repr(char))
        if args[0] == "stats":
            continue  # figures only: no text from the queue in it
        data = json.loads(result.stdout.splitlines()[0] if args[0] == "export" else result.stdout)
        # Escaped, not lost: a JSON reader gets the very text back.
        assert any(HOSTILE in text for text in strings(data)), args


def strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in strings(value)]
    if isinstance(data, list):
        return [s for value in data for s in strings(value)]
    return []


def test_words_and_help_read_as_english(db_with_a_decision: Path) -> None:
    shown = run("status", "--db", str(db_with_a_decision)).stdout
    assert "1 event (1 approve)" in shown
    helped = run("--help").stdout
    assert "Database file, or postgresql://… for a team's shared" in helped
    assert "<bool>" not in helped
    assert " ." not in helped
    assert run("-h").stdout == helped
    assert run("--version").stdout.startswith("signoff ")
    keys = run("keys").stdout
    for line in ("app.help           ?, f1", "queue.search       /", "item.escalate      !"):
        assert line in keys
    assert "[providers.NAME]" in run("providers").stdout
    stats = run("stats", "--json", "--db", str(db_with_a_decision)).stdout
    assert "00000000" not in stats


def test_config_is_checked_and_has_a_schema_for_editors(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[oversight.friction]\nstreak = "many"\n', encoding="utf-8")
    one_line_error(run("config", "--config", str(config)), 2,
                   contains="[oversight.friction] streak: must be a whole number")  # fmt: skip
    config.write_text('[providers.support]\ntype = "openai"\nmodel = "m"\ninputs = "i.jsonl"\n'
                      'prompt = "p.md"\n', encoding="utf-8")  # fmt: skip
    assert run("config", "--config", str(config)).stdout.endswith("valid; providers: support\n")
    schema = json.loads(run("config", "--schema").stdout)
    assert schema["properties"]["oversight"]["$ref"].endswith("OversightTable")
    kinds = {
        part["properties"]["type"]["const"]: part
        for part in schema["properties"]["providers"]["additionalProperties"]["anyOf"]
    }
    assert set(kinds) == {"openai", "anthropic", "ollama", "http", "jsonl"}
    assert kinds["openai"]["properties"]["token_limit_param"]["enum"] == [
        "auto", "max_tokens", "max_completion_tokens",
    ]  # fmt: skip
    assert kinds["ollama"]["properties"]["num_ctx"]["anyOf"][0]["minimum"] == 256
