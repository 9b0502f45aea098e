"""Signed checkpoints: proof of the ledger kept outside it, and clients that remember."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store import Store, StoreError
from store.checkpoint import Checkpoint, CheckpointError, generate_key, open_note, sign
from tests.conftest import FakeClock, make_draft
from tests.unit_tests.test_cli import run
from tests.unit_tests.test_cli_mistakes import one_line_error

WHY = "Checked the refund against the order history"


def decide(store: Store, n: int, first: int = 0) -> None:
    store.ingest([make_draft(f"T-{i}") for i in range(first, first + n)])
    for i in range(first, first + n):
        claim = store.claim_next("alice")
        assert claim is not None
        store.decide(claim, "escalate", f"{WHY}, ticket {i}")


def test_a_checkpoint_signs_and_opens_only_with_its_key() -> None:
    secret, verifier = generate_key("dana@example.org")
    point = Checkpoint("signoff ledger abc", 42, "ab" * 32)
    note = sign(point, secret)
    assert note.startswith("signoff ledger abc\n42\n")
    assert "\n\n\u2014 dana@example.org " in note  # C2SP signed note: blank line, em dash
    assert open_note(note, verifier) == point
    with pytest.raises(CheckpointError, match="does not match the text"):
        open_note(note.replace("\n42\n", "\n43\n"), verifier)
    _, stranger = generate_key("dana@example.org")  # same name, another key
    with pytest.raises(CheckpointError, match=r"no signature by dana@example\.org"):
        open_note(note, stranger)
    with pytest.raises(CheckpointError, match="cannot name a key"):
        generate_key("two words")


def test_a_ledger_extends_its_checkpoint_until_it_is_rebuilt(
    db_target: Path | str, clock: FakeClock
) -> None:
    with Store(db_target, now=clock) as store:
        decide(store, 3)
        point = store.checkpoint()
        assert point.size == 3
        decide(store, 2, first=3)  # it grows: still extends
        assert store.extends(point) is None
    with Store(db_target, now=FakeClock()) as other:
        assert other.extends(point) is None  # the same ledger, reopened
    rebuilt = Checkpoint(point.origin, 3, "0" * 64)
    with Store(db_target, now=clock) as store:
        assert "was rebuilt" in (store.extends(rebuilt) or "")
        longer = Checkpoint(point.origin, 99, point.head)
        assert "truncated or rebuilt" in (store.extends(longer) or "")


def test_the_cli_signs_verifies_and_then_refuses_a_truncated_ledger(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        decide(store, 4)
    key = tmp_path / "dana.key"
    made = run("keygen", "dana@example.org", "-o", str(key))
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    verifier = made.stdout.strip().rsplit(" ", 1)[1]
    note = tmp_path / "cp.txt"
    assert run("checkpoint", "--key", str(key), "-o", str(note), "--db", str(db)).returncode == 0
    checked = run("verify", "--db", str(db), "--checkpoint", str(note), "--verifier", verifier)
    assert checked.returncode == 0, checked.stderr
    assert "extends the checkpoint of 4 events" in checked.stdout
    exported = tmp_path / "log.jsonl"  # an export carries a checkpoint of its own
    signed = run("export", "--db", str(db), "-o", str(exported), "--key", str(key))
    assert "checkpoint of 4 events signed → log.jsonl.checkpoint" in signed.stdout, signed.stderr
    assert run("verify", "--db", str(db), "--checkpoint", f"{exported}.checkpoint",
               "--verifier", verifier).returncode == 0  # fmt: skip
    forged = tmp_path / "forged.txt"
    forged.write_text(note.read_text().replace("\n4\n", "\n3\n"))
    one_line_error(run("verify", "--db", str(db), "--checkpoint", str(forged), "--verifier",
                       verifier), 1, contains="does not match the text")  # fmt: skip
    # Someone with the file cuts the last event and restores the guard: the chain of
    # what is left verifies — but this machine remembers the checkpoint.
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER ledger_no_delete")
    raw.execute("DELETE FROM ledger WHERE seq = 4")
    raw.execute(
        "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger "
        "BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE refused'); END"
    )
    raw.commit()
    raw.close()
    one_line_error(run("status", "--db", str(db)), 1,
                   contains="does not extend the checkpoint verified on this machine")  # fmt: skip


def test_a_checkpoint_carries_the_register_and_catches_a_dropped_incident(
    tmp_path: Path,
) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        decide(store, 3)
        store.report_incident("bob", "Ticket 1 was escalated for no good reason", [1])
        store.report_incident("bob", "Ticket 2 was escalated for no good reason", [2])
    secret, verifier = generate_key("dana")
    with Store(db) as store:
        point = store.checkpoint()
    assert point.register is not None
    assert point.register[0] == 2
    note = sign(point, secret)
    assert note.splitlines()[3].startswith("register 2 ")  # a C2SP extension line
    assert open_note(note, verifier) == point
    assert (
        open_note(sign(Checkpoint(point.origin, 3, point.head), secret), verifier).register is None
    )
    file = tmp_path / "cp.txt"
    file.write_text(note)
    ok = run("verify", "--db", str(db), "--checkpoint", str(file), "--verifier", verifier)
    assert ok.returncode == 0, ok.stderr
    # The second complaint is dropped and the guard put back: the register's own chain
    # still verifies (1 entry), the ledger is untouched — the checkpoint is not.
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER register_no_delete")
    raw.execute("DELETE FROM register WHERE seq = 2")
    raw.execute(
        "CREATE TRIGGER register_no_delete BEFORE DELETE ON register "
        "BEGIN SELECT RAISE(ABORT, 'the register is append-only: DELETE refused'); END"
    )
    raw.commit()
    raw.close()
    with Store(db) as store:
        assert store.verify_register().ok
        assert "no longer holds entry 2" in (store.extends(point) or "")
    one_line_error(run("status", "--db", str(db)), 1,
                   contains="incidents were removed or rewritten")  # fmt: skip


def test_every_n_events_gets_a_signed_note_and_a_tampered_ledger_gets_none(
    db_target: Path | str, clock: FakeClock, tmp_path: Path
) -> None:
    from tui.autocheckpoint import CheckpointPlan, note_path, sign_due

    secret, verifier = generate_key("dana")
    plan = CheckpointPlan(tmp_path / "dana.key", 3, tmp_path / "notes")
    with Store(db_target, now=clock) as store:
        decide(store, 7)
        written = sign_due(store, plan, secret=secret)
        origin = store.checkpoint().origin
        assert written == [note_path(plan, origin, 3), note_path(plan, origin, 6)]
        for path, size in zip(written, (3, 6), strict=True):
            note = open_note(path.read_text(), verifier)
            assert (note.size, note.head) == (size, store.event(size).hash)  # type: ignore[union-attr]
        assert sign_due(store, plan, secret=secret) == []  # nothing new is due
        decide(store, 2, first=7)
        assert sign_due(store, plan, secret=secret) == [note_path(plan, origin, 9)]
    if not isinstance(db_target, Path):
        return
    # Event 11 is rewritten (guard dropped): the next note due is refused, and says why.
    with Store(db_target, now=clock) as store:
        decide(store, 3, first=9)
    raw = sqlite3.connect(db_target)
    raw.execute("DROP TRIGGER ledger_no_update")
    raw.execute("UPDATE ledger SET justification = 'rewritten by someone later' WHERE seq = 11")
    raw.commit()
    raw.close()
    with (
        Store(db_target, now=clock) as store,
        pytest.raises(StoreError, match="broken at event 11"),
    ):
        sign_due(store, plan, secret=secret)
    assert not note_path(plan, origin, 12).exists()


def test_the_cli_signs_what_is_due_and_the_app_config_names_the_key(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        decide(store, 5)
    key = tmp_path / "dana.key"
    assert run("keygen", "dana", "-o", str(key)).returncode == 0
    config = tmp_path / "signoff.toml"
    config.write_text('[checkpoints]\nkey = "dana.key"\nevery = 2\nfolder = "notes"\n')
    made = run("checkpoint", "--every", "2", "--db", str(db), "--config", str(config))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"2 checkpoint(s) signed in {tmp_path / 'notes'}")
    again = run("checkpoint", "--every", "2", "--db", str(db), "--config", str(config))
    assert again.stdout.startswith("nothing due")
    one_line_error(run("checkpoint", "--every", "2", "--db", str(db)), 2,
                   contains="give --key")  # fmt: skip
