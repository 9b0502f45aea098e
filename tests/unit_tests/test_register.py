"""The incident and complaint register: reported by anyone, resolved by a lead, chained."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store import JustificationRefused, Store, StoreError
from tests.conftest import FakeClock, make_draft
from tests.engines import REFUSED

WHY = "Checked the refund against the order history"
WHAT = "Customer 4411 was refunded twice after this approval"


def decided(store: Store, *ids: str, who: str = "alice") -> list[int]:
    store.ingest([make_draft(external_id) for external_id in ids])
    seqs = []
    for _ in ids:
        claim = store.claim_next(who)
        assert claim is not None
        seqs.append(store.decide(claim, "approve", f"{WHY} of {claim.item_id}").seq)
    return seqs


def test_a_report_names_decisions_and_a_lead_resolves_it(store: Store, clock: FakeClock) -> None:
    store.leads = frozenset({"dana"})
    first, second = decided(store, "T-1", "T-2")
    clock.advance(days=3)
    reported = store.report_incident(
        "bob", WHAT, [second, first, second], kind="complaint", severity="high",
        reported_by="customer 4411",
    )  # fmt: skip
    assert reported.number == 1
    assert reported.status == "open"
    assert reported.report.decisions == (first, second)
    assert reported.report.reported_by == "customer 4411"
    assert reported.report.recorded_by == "bob"
    assert reported.report.ledger_seq == 2
    assert store.contradicted() == set()
    with pytest.raises(StoreError, match="bob is not a lead"):
        store.resolve_incident(1, "bob", "confirmed", "The refund went out twice, checked")
    closed = store.resolve_incident(
        1, "dana", "confirmed", "Payments log shows two refunds for order 4411"
    )
    assert closed.status == "confirmed"
    assert closed.resolution is not None
    assert closed.resolution.incident == 1
    with pytest.raises(StoreError, match="incident 1 was resolved"):
        store.resolve_incident(1, "dana", "unfounded", "Second thoughts about the refund")
    assert store.contradicted() == {first, second}
    assert [i.number for i in store.incidents(status="confirmed")] == [1]
    assert store.incidents(status="open") == []
    assert store.verify_register().ok
    assert store.register_head()[0] == 2
    view = store.conn.execute("SELECT incident, status, resolved_by FROM incidents").fetchall()
    assert [tuple(row) for row in view] == [(1, "confirmed", "dana")]


def test_unfounded_incidents_contradict_nothing(store: Store) -> None:
    store.leads = frozenset({"dana"})
    (seq,) = decided(store, "T-1")
    store.report_incident("bob", WHAT, [seq])
    store.resolve_incident(1, "dana", "unfounded", "The second refund was a different order")
    assert store.contradicted() == set()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"decisions": [99]}, "there is no decision 99"),
        ({"decisions": []}, "name the decision"),
        ({"what": "bad"}, "what happened needs at least 10 characters"),
        ({"severity": "dire"}, "severity 'dire' is not one of"),
        ({"kind": "rumour"}, "kind 'rumour' is not one of"),
        ({"reported_by": " "}, "reported by must be 1 to 100 characters"),
    ],
)
def test_a_bad_report_is_refused_in_one_line(
    store: Store, args: dict[str, object], message: str
) -> None:
    (seq,) = decided(store, "T-1")
    values: dict[str, object] = {"what": WHAT, "decisions": [seq], **args}
    with pytest.raises(StoreError, match=message):
        store.report_incident("bob", **values)  # type: ignore[arg-type]
    assert store.incidents() == []


def test_a_retraction_is_not_a_decision_to_report(store: Store) -> None:
    (seq,) = decided(store, "T-1")
    undo = store.retract(seq, "alice", "Approved the wrong ticket, taking it back")
    with pytest.raises(StoreError, match=f"event {undo.seq} is a retraction"):
        store.report_incident("bob", WHAT, [undo.seq])


def test_a_resolution_meets_the_justification_policy(store: Store) -> None:
    store.leads = frozenset({"dana"})
    (seq,) = decided(store, "T-1")
    store.report_incident("bob", WHAT, [seq])
    with pytest.raises(JustificationRefused):
        store.resolve_incident(1, "dana", "confirmed", "ok ok ok ok ok ok")
    still = store.incident(1)
    assert still is not None
    assert still.status == "open"


def test_the_register_is_append_only_and_chained(store: Store) -> None:
    (seq,) = decided(store, "T-1")
    store.report_incident("bob", WHAT, [seq])
    for sql in ("UPDATE register SET text = 'nothing happened here'", "DELETE FROM register"):
        with pytest.raises(REFUSED):
            store.conn.execute(sql)
        store.abandon()
    head = store.register_head()
    with pytest.raises(REFUSED):  # a forged second entry that does not link to the first
        store.conn.execute(
            "INSERT INTO register (seq, incident, action, kind, severity, decisions, "
            "reported_by, recorded_by, text, ledger_seq, recorded_at, prev_hash, hash) "
            "VALUES (2, 2, 'report', 'incident', 'low', '[1]', 'x', 'x', "
            "'forged entry here', 1, '2026', ?, ?)",
            ("0" * 64, "f" * 64),
        )
    store.abandon()
    assert store.register_head() == head


def test_verify_register_finds_a_reworded_report(sqlite_store: Store) -> None:
    (seq,) = decided(sqlite_store, "T-1")
    sqlite_store.report_incident("bob", WHAT, [seq])
    sqlite_store.report_incident("bob", "Another refund went out twice too", [seq])
    conn = sqlite3.connect(sqlite_store.path, isolation_level=None)
    conn.execute("DROP TRIGGER register_no_update")
    conn.execute("UPDATE register SET text = 'A small thing, nothing to see' WHERE seq = 1")
    conn.close()
    report = sqlite_store.verify_register()
    assert not report.ok
    assert report.first_bad_seq == 1
    assert "altered" in report.problem
    assert any("register_no_update is missing" in p for p in sqlite_store.integrity())


def test_stats_count_contradicted_decisions_by_band_and_reviewer(store: Store) -> None:
    store.leads = frozenset({"dana"})
    store.ingest([make_draft("T-1", confidence=0.95), make_draft("T-2", confidence=0.6),
                  make_draft("T-3", confidence=0.95)])  # fmt: skip
    seqs = []
    for who in ("alice", "bob", "alice"):
        claim = store.claim_next(who)
        assert claim is not None
        seqs.append(store.decide(claim, "approve", f"{WHY}, {who} on {claim.item_id}").seq)
    store.report_incident("carol", WHAT, seqs[:2])
    store.report_incident("carol", "The third refund was also sent twice", [seqs[2]])
    store.resolve_incident(1, "dana", "confirmed", "Both refunds went out twice, checked")
    store.resolve_incident(2, "dana", "unfounded", "Only one refund went out for this one")
    figures = store.stats()
    assert figures.reviewers["alice"].contradicted == 1
    assert figures.reviewers["bob"].contradicted == 1
    assert figures.overall.contradicted == 2
    assert figures.by_band[">=0.9"].contradicted == 1
    assert figures.by_band["0.5-0.7"].contradicted == 1
    # A contradicted decision taken back no longer counts against its reviewer.
    store.retract(seqs[1], "bob", "Bob approved the wrong refund, taking it back")
    assert store.stats().reviewers["bob"].contradicted == 0


def test_the_cli_reports_lists_and_resolves(tmp_path: Path) -> None:
    from tests.unit_tests.test_cli import run
    from tests.unit_tests.test_cli_mistakes import one_line_error

    db = tmp_path / "q.db"
    with Store(db) as lite:
        decided(lite, "T-1", "T-2")
    config = tmp_path / "signoff.toml"
    config.write_text('leads = ["dana"]\n')
    base = ("--db", str(db), "--config", str(config))
    made = run("incident", "report", "T-2", "1", "--what", WHAT, "--kind", "complaint",
               "--by", "customer 4411", "--reviewer", "bob", *base)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("complaint 1 recorded against 2 decisions")
    one_line_error(run("incident", "report", "T-9", "--what", WHAT, *base), 1,
                   contains="no item T-9")  # fmt: skip
    one_line_error(run("incident", "report", "1", "--what", WHAT, "--severity", "dire", *base),
                   2, contains="--severity must be one of")  # fmt: skip
    one_line_error(run("incident", "resolve", "1", "confirmed", "--why", "Checked the log",
                       "--reviewer", "bob", *base), 1, contains="bob is not a lead")  # fmt: skip
    shown = run("incident", "list", *base)
    assert "complaint 1  medium  open" in shown.stdout
    assert "against event 1 (T-1), event 2 (T-2)" in shown.stdout
    assert "reported by customer 4411 (recorded by bob)" in shown.stdout
    why = "The payments log shows both refunds twice"
    closed = run("incident", "resolve", "1", "confirmed", "--why", why, "--reviewer", "dana", *base)
    assert closed.stdout.strip() == "incident 1 resolved: confirmed", closed.stderr
    assert run("incident", "list", "--status", "open", *base).stdout.strip() == "no open incidents"
    verified = run("verify", *base)
    assert verified.stdout.strip().endswith("incident register: 2 entries"), verified.stderr


def test_agreement_with_the_ai_is_split_by_whether_the_ai_was_right(store: Store) -> None:
    store.leads = frozenset({"dana"})
    store.ingest([make_draft(f"T-{i}") for i in range(3)])
    seqs = []
    for i, action in enumerate(("approve", "approve", "reject")):
        claim = store.claim_next("alice")
        assert claim is not None
        why = f"{WHY}, ticket number {i}"
        if action == "reject":
            seqs.append(store.decide(claim, "reject", why, reason_code="policy").seq)
        else:
            seqs.append(store.decide(claim, "approve", why).seq)
    store.report_incident("bob", WHAT, [seqs[0]])  # the approval was wrong
    store.report_incident("bob", "The second refund looks doubtful too", [seqs[1]])
    store.report_incident("bob", "The rejection of the third one was a mistake", [seqs[2]])
    store.resolve_incident(1, "dana", "confirmed", "The payments log shows two refunds")
    store.resolve_incident(2, "dana", "unfounded", "Only one refund went out for this one")
    store.resolve_incident(3, "dana", "confirmed", "The refund was due; rejecting was wrong")
    alice = store.stats().reviewers["alice"]
    assert (alice.missed, alice.kept_right, alice.overrode_right, alice.caught) == (1, 1, 1, 0)


def test_the_markdown_report_leads_with_catches(sqlite_store: Store) -> None:
    import io

    from store.export import ExportFilter

    sqlite_store.leads = frozenset({"dana"})
    (seq,) = decided(sqlite_store, "T-1")
    sqlite_store.report_incident("bob", WHAT, [seq])
    sqlite_store.resolve_incident(1, "dana", "confirmed", "The payments log shows two refunds")
    stream = io.StringIO()
    with sqlite_store.snapshot() as snap:
        snap.write("md", stream, ExportFilter())
    text = stream.getvalue()
    assert text.index("## Catches first") < text.index("## Reviewers")
    assert "| alice | 0 | 1 | 0 | 0 |" in text
