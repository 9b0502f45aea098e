"""The real `signoff` command, run as a user would (subprocess, real files)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=60,
    )


def status(db: Path) -> dict[str, Any]:
    result = run("status", "--json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_stores_good_records_and_reports_bad_lines(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    src = write_jsonl(
        tmp_path / "tickets.jsonl",
        [
            '{"id": "T-1", "draft": "Hello, refund issued.", "confidence": 0.8}',
            '{"id": "T-2", "draft": "Bad confidence", "confidence": NaN}',
            '{"id": "T-3", "draft": "Fine too", "stakes": "high"}',
            "{oops",
            '{"draft": "no id here"}',
            '{"id": "T-6", "draft": "x", "confidence": "0.9"}',
            '{"id": "T-7", "draft": "Also good"}',
        ],
    )
    result = run("import", str(src), "--db", str(db))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in errors] == [
        f"{src}:2", f"{src}:4", f"{src}:5", f"{src}:6",
    ]  # fmt: skip
    assert "NaN" in errors[0]
    assert "missing id" in errors[2]
    assert "3 added, 0 updated, 0 unchanged, 0 skipped, 4 rejected" in result.stdout
    counts = status(db)
    assert counts["sources"] == [
        {"source": "tickets", "pending": 3, "claimed": 0, "decided": 0, "escalated": 0,
         "total": 3}
    ]  # fmt: skip
    again = run("import", str(src), "--db", str(db))
    assert "0 added, 0 updated, 3 unchanged" in again.stdout


def test_an_import_mixes_in_its_share_of_catch_trials_and_says_how_many(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    files = [write_jsonl(tmp_path / f"{name}.jsonl", [
        f'{{"id": "{name}-{3 * n}", "draft": "Your refund of {n} EUR has been issued today."}}'
        for n in range(count)
    ]) for name, count in (("tickets", 1200), ("chats", 300))]  # fmt: skip
    result = run("import", *map(str, files), "--db", str(db))
    assert result.returncode == 0, result.stderr
    # 1,500 real items at the default 5 %: 78.9 plants, planted with the batches (three
    # of them) and topped up at the end, counted once.
    assert "79 catch-trial drafts mixed in (about 5% of the queue is planted" in result.stdout
    with Store(db) as store:
        assert store.plant_count() == (79, 1500)
    assert status(db)["totals"]["total"] == 1579
    again = run("import", *map(str, files), "--db", str(db))
    assert "catch-trial" not in again.stdout  # nothing added: nothing planted


def test_csv_and_stdin_imports(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    csv_file = tmp_path / "scores.csv"
    csv_file.write_text('id,draft,kind,confidence\nL-1,82,score,0.7\nL-2,"40",score,\n')
    assert run("import", str(csv_file), "--db", str(db), "--source", "leads").returncode == 0
    piped = run("import", "-", "--db", str(db), stdin='{"id": "S-1", "draft": "from a pipe"}\n')
    assert piped.returncode == 0, piped.stderr
    sources = {s["source"]: s["total"] for s in status(db)["sources"]}
    assert sources == {"leads": 2, "stdin": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "missing.jsonl"], "missing.jsonl: no such file"),
        (["import", "data.json"], "one JSON object per line"),
        (["import", "x.jsonl", "--stakes", "extreme"], "--stakes must be one of"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "data.json").write_text("[]")
    (tmp_path / "x.jsonl").write_text("")
    result = subprocess.run(  # relative file names, so run from tmp_path
        [sys.executable, "-m", "tui", *args, "--db", str(tmp_path / "q.db")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "q.db").exists()


def test_a_bad_config_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[policy]\nmin_char = 30\n")
    result = run("status", "--config", str(config), "--db", str(tmp_path / "q.db"))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "did you mean 'min_chars'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_a_database_is_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("not sqlite at all\n" * 50)
    result = run("status", "--db", str(notes))
    assert result.returncode == 1
    assert "is not a signoff database" in result.stderr
    assert "Traceback" not in result.stderr
    assert notes.read_text().startswith("not sqlite")


def test_database_and_reviewer_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNOFF_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("SIGNOFF_REVIEWER", "dana")
    refused = run("status", "--json")  # status never makes a database it was pointed at
    assert refused.returncode == 2
    assert "env.db: no such database" in refused.stderr
    assert not (tmp_path / "env.db").exists()
    Store(tmp_path / "env.db").close()
    data = json.loads(run("status", "--json").stdout)
    assert (data["database"], data["reviewer"]) == (str(tmp_path / "env.db"), "dana")
    data = json.loads(run("status", "--json", "--reviewer", "eli").stdout)
    assert data["reviewer"] == "eli"
    monkeypatch.delenv("SIGNOFF_DB")
    data = json.loads(run("status", "--json").stdout)
    assert data["database"] == str(tmp_path / "xdg-data" / "signoff" / "signoff.db")


def test_hostile_text_never_reaches_the_terminal_raw(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "evil.jsonl",
        [
            json.dumps({"id": "1", "draft": "x", "stakes": "\x1b]0;pwned\x07\x1b[2J"}),
            json.dumps({"id": "2", "draft": "x", "source": "\x1b[31mred\u202eevil"}),
            json.dumps({"id": "3\x9b", "draft": "x", "kind": "[bold]x[/]"}),
        ],
    )
    result = run("import", str(src), "--db", str(tmp_path / "q.db"))
    shown = status(tmp_path / "q.db")
    table = run("status", "--db", str(tmp_path / "q.db"))
    for text in (result.stdout, result.stderr, table.stdout):
        assert "\x1b" not in text
        assert "\x9b" not in text
        assert "\u202e" not in text
    assert "pwned" in result.stderr  # named in the error, escaped
    assert "\u241b[31mred\u27e8U+202E\u27e9evil" in table.stdout  # visible markers
    assert "[bold]x[/]" in result.stderr  # printed literally, not as markup
    assert shown["sources"][0]["source"] == "\x1b[31mred\u202eevil"  # JSON keeps exact text


def test_demo_uses_its_own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNOFF_DB", str(tmp_path / "mine.db"))
    result = run("demo")
    assert result.returncode == 0, result.stderr
    demo_db = tmp_path / "xdg-data" / "signoff" / "demo.db"
    assert str(demo_db) in result.stdout
    assert not (tmp_path / "mine.db").exists()
    # 40 drafts plus two planted catch trials; one item waits for a second reviewer, one
    # is escalated (sam's, for the demo's reviewer to resolve as a lead).
    assert status(demo_db)["totals"]["pending"] == 41
    assert status(demo_db)["totals"]["escalated"] == 1
    conn = sqlite3.connect(demo_db)
    mutations = [m for (m,) in conn.execute("SELECT mutation FROM plants ORDER BY item_id")]
    assert mutations[0] == "known-bad"
    assert len(mutations) == 2
    assert conn.execute("SELECT first_reviewer FROM second_reviews").fetchall() == [("sam",)]
    conn.execute("UPDATE items SET state = 'decided' WHERE id = 1")
    conn.commit()
    conn.close()
    assert status(demo_db)["totals"]["pending"] == 40  # a second run keeps the demo's work
    assert run("demo", "--reset").returncode == 0
    assert status(demo_db)["totals"]["pending"] == 41


def test_verify_reports_a_tampered_ledger(tmp_path: Path) -> None:
    from store import Store
    from tests.conftest import make_draft

    db = tmp_path / "q.db"
    with Store(db) as store:
        store.ingest([make_draft("T-1"), make_draft("T-2")])
        for _ in range(2):
            claim = store.claim_next("alice")
            assert claim is not None
            store.decide(claim, "approve", f"Checked refund {claim.item_id} against billing")
    assert run("verify", "--db", str(db)).returncode == 0
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER ledger_no_update")
    conn.execute("UPDATE ledger SET reviewer = 'mallory' WHERE seq = 1")
    conn.commit()
    conn.close()
    result = run("verify", "--db", str(db))
    assert result.returncode == 1
    assert "broken at event 1" in result.stderr
    assert "2 of 2 events are in doubt" in result.stderr


def test_plant_and_export_with_or_without_catch_trials(tmp_path: Path) -> None:
    from store import Store

    db = tmp_path / "q.db"
    bad = write_jsonl(tmp_path / "bad.jsonl", [
        '{"id": "X-1", "source": "support", "draft": "Refunds take 90 days.", '
        '"meta": {"flaw": "refunds take 5 days"}}',
        '{"id": "X-2", "source": "support", "draft": "No flaw given here."}',
    ])  # fmt: skip
    refused = run("plant", str(bad), "--db", str(db))
    assert refused.returncode == 2
    assert "bad.jsonl:2: meta.flaw must say what is wrong" in refused.stderr
    assert not db.exists() or status(db)["totals"]["total"] == 0  # nothing planted
    good = write_jsonl(tmp_path / "good.jsonl", [
        '{"id": "X-1", "source": "support", "draft": "Refunds take 90 days.", '
        '"meta": {"flaw": "refunds take 5 days"}}',
    ])  # fmt: skip
    assert run("plant", str(good), "--db", str(db)).returncode == 0
    with Store(db) as store:
        (item_id,) = [r[0] for r in store.conn.execute("SELECT item_id FROM plants")]
        planted = store.get_item(item_id)
        assert "flaw" not in planted.meta  # only the plants table knows
        claim = store.claim_item(item_id, "alice")
        why = "Refund time is wrong, it is five days"
        event = store.decide(claim, "reject", why, reason_code="policy")
    real = run("export", "-o", str(tmp_path / "real.jsonl"), "--db", str(db))
    assert real.returncode == 1  # the only decision was on a planted draft: none match
    assert real.stderr == (
        "signoff: no events match (1 event in the ledger, planted ones left out); nothing written\n"
    )
    assert not (tmp_path / "real.jsonl").exists()
    everything = run("export", "--include-planted", "-o", str(tmp_path / "all.jsonl"),
                     "--db", str(db))  # fmt: skip
    assert everything.returncode == 0
    line = json.loads((tmp_path / "all.jsonl").read_text())
    assert line["hash"] == event.hash
    assert json.loads(line["oversight"])["planted"]["caught"] is True
    verified = run("verify", "--manifest", str(tmp_path / "all.jsonl.manifest.json"),
                   "--db", str(db))  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
