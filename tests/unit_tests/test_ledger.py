"""The ledger: justification-gated decisions, append-only storage, a verifiable chain."""

from __future__ import annotations

from typing import Any

import pytest

from store import (
    Claim,
    ClaimError,
    DatabaseBusy,
    DecisionError,
    Event,
    JustificationRefused,
    Store,
    StoreError,
)
from store.ledger import EVENT_FIELDS, event_hash
from store.models import DECISION_ACTIONS, Action
from tests.conftest import FakeClock, make_draft
from tests.engines import REFUSED, tamper

GOOD = "Refund amount matches the duplicate charge in the CRM record"

# (action, output, reason_code) that are valid apart from the justification
VALID_ARGS: dict[Action, tuple[str | None, str | None]] = {
    "approve": (None, None),
    "edit": ("Hello, we refunded the duplicate charge for your order.", None),
    "override": ("Replacement reply that asks for the order number first.", "factual-error"),
    "reject": (None, "unsupported-claim"),
    "escalate": (None, None),
}

BAD_JUSTIFICATIONS = {
    "empty": "",
    "spaces": "   \n\t ",
    "boilerplate": "LGTM!",
    "boilerplate phrase list": "Looks good to me, approved, fine.",
    "plus one": "+1",
    "n/a": "N/A",
    "too short": "refund ok sure",
    "padded with zero-width": "ok" + "\u200b" * 12,
    "letters split by zero-width": "a\u200bb\u200bc\u200bd\u200be\u200bf\u200bg\u200bh\u200bi",
    "two long words": "Supercalifragilistic expialidociousness",
    "punctuation padding": "ok ... !!! ??? --- ### ok ok",
}


def _claimed(store: Store, external_id: str = "T-1", reviewer: str = "alice") -> Claim:
    store.ingest([make_draft(external_id)])
    return store.claim_item(_item_id(store, external_id), reviewer)


def _item_id(store: Store, external_id: str) -> int:
    item = store.find_item("support", external_id)
    assert item is not None
    return item.id


@pytest.mark.parametrize("action", DECISION_ACTIONS)
@pytest.mark.parametrize("text", list(BAD_JUSTIFICATIONS.values()), ids=list(BAD_JUSTIFICATIONS))
def test_every_action_refuses_an_invalid_justification(
    store: Store, action: Action, text: str
) -> None:
    claim = _claimed(store)
    output, reason = VALID_ARGS[action]
    with pytest.raises(JustificationRefused):
        store.decide(claim, action, text, output=output, reason_code=reason)
    assert store.decision_counts() == {}
    item = store.get_item(claim.item_id)
    assert item.state == "claimed"  # nothing changed: the reviewer can try again


@pytest.mark.parametrize("action", DECISION_ACTIONS)
def test_every_action_records_one_event_with_the_typed_justification(
    store: Store, clock: FakeClock, action: Action
) -> None:
    store.ingest([make_draft("T-1")])
    claim = store.claim_next("alice")
    assert claim is not None
    clock.advance(seconds=42)
    output, reason = VALID_ARGS[action]
    event = store.decide(claim, action, GOOD, output=output, reason_code=reason)
    events = list(store.events())
    assert events == [event]
    assert event.justification == GOOD
    assert event.reviewer == "alice"
    assert event.action == action
    assert event.time_on_item_ms == 42_000
    assert event.shown.confidence == 0.9
    assert event.shown.limits[0].detail == "CRM snapshot is a day old"
    item = store.get_item(claim.item_id)
    assert event.shown.draft_sha256 == item.draft_sha256
    assert item.state == ("escalated" if action == "escalate" else "decided")
    assert event.output == (item.draft if action == "approve" else output)
    assert store.verify_chain().ok


def test_retract_needs_a_justification_too(store: Store) -> None:
    event = store.decide(_claimed(store), "approve", GOOD)
    with pytest.raises(JustificationRefused):
        store.retract(event.seq, "alice", "oops")
    assert store.decision_counts() == {"approve": 1}


def test_retract_returns_the_item_to_the_queue(store: Store, clock: FakeClock) -> None:
    event = store.decide(_claimed(store), "reject", GOOD, reason_code="tone")
    clock.advance(seconds=5)
    assert store.last_retractable("alice") == event
    undo = store.retract(event.seq, "alice", "I rejected the wrong ticket by mistake")
    assert (undo.action, undo.retracts, undo.claim_id) == ("retract", event.seq, None)
    assert undo.time_on_item_ms == 5000
    assert store.get_item(event.item_id).state == "pending"
    assert store.last_retractable("alice") is None
    with pytest.raises(StoreError, match="cannot itself be retracted"):
        store.retract(undo.seq, "alice", "undo the undo because I changed my mind")
    with pytest.raises(StoreError, match="not its latest"):
        store.retract(event.seq, "alice", "a second retraction of the same event")
    # Back in the queue: it can be claimed and decided again.
    again = store.claim_next("bob")
    assert again is not None
    assert again.item_id == event.item_id
    store.decide(again, "approve", "Checked the refund against the order: correct")
    assert store.verify_chain().ok


def test_only_the_deciding_reviewer_retracts(store: Store) -> None:
    event = store.decide(_claimed(store), "approve", GOOD)
    with pytest.raises(StoreError, match="only they can retract"):
        store.retract(event.seq, "mallory", "I think alice got this one wrong")


def test_a_claim_takes_exactly_one_decision(store: Store) -> None:
    claim = _claimed(store)
    store.decide(claim, "approve", GOOD)
    with pytest.raises(ClaimError, match="already ended"):
        store.decide(claim, "reject", "Changed my mind, the amount is wrong", reason_code="x")
    assert store.decision_counts() == {"approve": 1}


def test_the_schema_refuses_a_second_event_for_one_claim(store: Store) -> None:
    claim = _claimed(store)
    first = store.decide(claim, "approve", GOOD)
    with pytest.raises(REFUSED, match=r"UNIQUE.*claim_id|ledger_one_decision_per_claim"):
        _raw_append(store, first, claim_id=claim.id)


def test_expired_claim_cannot_decide(store: Store, clock: FakeClock) -> None:
    claim = _claimed(store)
    clock.advance(minutes=11)
    with pytest.raises(ClaimError, match="expired"):
        store.decide(claim, "approve", GOOD)
    assert store.decision_counts() == {}


def test_decision_shape_rules(store: Store) -> None:
    claim = _claimed(store)
    draft = store.get_item(claim.item_id).draft
    cases: list[tuple[Action, str | None, str | None, str]] = [
        ("reject", None, None, "needs a reason code"),
        ("override", "new value", None, "needs a reason code"),
        ("override", None, "wrong-value", "needs the new value"),
        ("edit", None, None, "needs the edited text"),
        ("edit", draft, None, "same as the draft"),
        ("approve", "something else", None, "use edit"),
        ("reject", "text", "tone", "records no output"),
        ("reject", None, "Bad Code!", "short tag"),
    ]
    for action, output, reason, message in cases:
        with pytest.raises(DecisionError, match=message):
            store.decide(claim, action, GOOD, output=output, reason_code=reason)
    with pytest.raises(DecisionError):
        store.decide(claim, "retract", GOOD)
    assert store.decision_counts() == {}


def test_repeating_a_recent_justification_names_the_item(store: Store) -> None:
    store.decide(_claimed(store, "T-1039"), "approve", GOOD)
    claim = _claimed(store, "T-1040")
    with pytest.raises(JustificationRefused, match="T-1039") as refused:
        store.decide(claim, "approve", GOOD.upper() + "!")
    assert refused.value.rule == "repeats"
    # Another reviewer may use the same words.
    store.release(claim)
    store.decide(store.claim_item(claim.item_id, "bob"), "approve", GOOD)


def test_a_retractions_words_count_as_recent_but_it_is_no_decision(store: Store) -> None:
    """A decision reads the reviewer's recent words and past decisions in one query.

    The retraction's justification is among the first; the retraction is not among the
    second (friction reads decisions only).
    """
    event = store.decide(_claimed(store, "T-1039"), "reject", GOOD, reason_code="tone")
    undo = "I rejected the wrong ticket by mistake, it was fine"
    store.retract(event.seq, "alice", undo)
    claim = _claimed(store, "T-1040")
    with pytest.raises(JustificationRefused, match="T-1039") as refused:
        store.decide(claim, "approve", undo.upper())
    assert refused.value.rule == "repeats"
    _claimed_now, history, recent, _ = store._claimed_and_past(store.conn, claim, store.now())
    assert [past.action for past in history] == ["reject"]
    assert [words.text for words in recent] == [undo, GOOD]


def test_copying_the_draft_is_not_a_justification(store: Store) -> None:
    claim = _claimed(store)
    draft = store.get_item(claim.item_id).draft
    with pytest.raises(JustificationRefused) as refused:
        store.decide(claim, "approve", draft)
    assert refused.value.rule == "copies_draft"


def test_update_and_delete_on_the_ledger_fail(store: Store) -> None:
    store.decide(_claimed(store), "approve", GOOD)
    with pytest.raises(REFUSED, match="append-only"):
        store.conn.execute("UPDATE ledger SET justification = 'rewritten history here'")
    with pytest.raises(REFUSED, match="append-only"):
        store.conn.execute("DELETE FROM ledger")
    assert store.decision_counts() == {"approve": 1}


def test_an_out_of_chain_insert_fails(store: Store) -> None:
    event = store.decide(_claimed(store), "approve", GOOD)
    with pytest.raises(REFUSED, match="chain"):
        _raw_append(store, event, claim_id=None, prev="f" * 64, seq=2)
    with pytest.raises(REFUSED, match="chain"):
        _raw_append(store, event, claim_id=None, prev=event.hash, seq=7)


def test_the_schema_floor_refuses_a_short_justification(store: Store) -> None:
    event = store.decide(_claimed(store), "approve", GOOD)
    with pytest.raises(REFUSED, match=r"CHECK|check constraint"):
        _raw_append(store, event, claim_id=None, prev=event.hash, seq=2, justification="ok")


def test_altering_one_row_is_detected_by_the_chain(store: Store) -> None:
    for n in range(6):
        store.decide(_claimed(store, f"T-{n}"), "approve", f"{GOOD}, ticket number {n}")
    assert store.verify_chain().ok
    # Someone with direct access switches the guard off and edits event 3.
    tamper(store, "UPDATE ledger SET justification = 'Edited after the fact!!' WHERE seq = 3")
    report = store.verify_chain()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.affected == 4
    assert "altered" in report.problem


def test_recomputing_a_hash_after_editing_breaks_the_next_link(store: Store) -> None:
    for n in range(3):
        store.decide(_claimed(store, f"T-{n}"), "approve", f"{GOOD}, ticket number {n}")
    row = dict(
        zip(
            EVENT_FIELDS,
            store.conn.execute(
                f"SELECT {', '.join(EVENT_FIELDS)} FROM ledger WHERE seq = 2"
            ).fetchone(),
            strict=True,
        )
    )
    row["justification"] = "A forger who also fixed the hash of this row"
    tamper(
        store,
        "UPDATE ledger SET justification = ?, hash = ? WHERE seq = 2",
        (row["justification"], event_hash(row)),
    )
    report = store.verify_chain()
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "does not link" in report.problem


def _raw_append(
    store: Store,
    like: Event,
    *,
    claim_id: int | None,
    prev: str | None = None,
    seq: int | None = None,
    justification: str = "A perfectly reasonable justification here",
) -> None:
    """Insert an event by hand, as a tool with write access to the file could."""
    head = store.conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    store.conn.execute(
        "INSERT INTO ledger (seq, item_id, source, external_id, claim_id, reviewer, action, "
        "justification, output, draft_sha256, shown_basis, shown_limits, time_on_item_ms, "
        "recorded_at, prev_hash, hash, retracts) VALUES (?, ?, ?, ?, ?, 'eve', ?, ?, ?, ?, "
        "'none', '[]', 0, '2026-01-01T00:00:00.000000Z', ?, ?, ?)",
        (
            seq if seq is not None else head[0] + 1,
            like.item_id,
            like.source,
            like.external_id,
            claim_id,
            "approve" if claim_id else "retract",
            justification,
            "x" if claim_id else None,
            "0" * 64,
            prev if prev is not None else head[1],
            "e" * 64,
            None if claim_id else 1,
        ),
    )


def test_the_row_hasher_is_the_event_hash() -> None:
    """`verify` hashes rows without a dict each (`row_hasher`): the same hash, always."""
    import hashlib
    import json
    import random

    from store.ledger import HASHED_FIELDS, row_hasher

    rng = random.Random(5)
    texts = ["", "plain", "é ∑ 中文 \U0001f600", '"quoted" \\ back', "\x00\x1b\u202e", "a,b:c"]
    values = [None, 0, -1, 2**53 + 1, 0.1, 1e-05, 1.5e300, 0.3333333333333333, *texts]
    digest = row_hasher(EVENT_FIELDS)

    def spec(row: dict[str, Any]) -> str:
        """The hash as the format defines it, written out with json.dumps."""
        payload = {name: row[name] for name in HASHED_FIELDS}
        payload["v"] = 1
        if row["oversight"] not in (None, ""):
            payload.update(oversight=row["oversight"], v=2)
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    for _ in range(3000):
        row = {name: rng.choice(values) for name in EVENT_FIELDS}
        row["oversight"] = rng.choice([None, "", '{"planted":{"caught":true}}', "é"])
        assert digest(tuple(row[name] for name in EVENT_FIELDS)) == event_hash(row)
        assert event_hash(row) == spec(row)
    shuffled = list(reversed(EVENT_FIELDS))  # columns in any order
    assert row_hasher(shuffled)(tuple(row[name] for name in shuffled)) == event_hash(row)


def test_canonical_and_compact_json_are_json_dumps() -> None:
    """The encoders made once (`store.codec`) write what `json.dumps` writes, and refuse NaN."""
    import json
    import math
    import random

    from store.codec import canonical_json, compact_json

    rng = random.Random(9)
    leaves = [None, True, False, 0, -7, 2**64, 0.1, 1e-05, -2.5e300, "", "é", '\x00\u2028"\\']

    def value(depth: int) -> object:
        if depth > 3 or rng.random() < 0.4:
            return rng.choice(leaves)
        if rng.random() < 0.5:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice("zyxab") + str(n): value(depth + 1) for n in range(rng.randint(0, 4))}

    for _ in range(2000):
        v = value(0)
        compact = json.dumps(v, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        assert compact_json(v) == compact
        assert canonical_json(v) == json.dumps(
            v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    for bad in (math.nan, [math.inf], {"a": -math.inf}):
        with pytest.raises(ValueError, match="not JSON compliant"):
            canonical_json(bad)
    with pytest.raises(TypeError):
        compact_json({"a": object()})
    # And on this Python the encoders made once are in use, not the slower fallback.
    assert not hasattr(canonical_json, "__self__")
    assert not hasattr(compact_json, "__self__")


def test_a_decision_at_once_is_refused_while_another_writes_and_changes_nothing(
    store: Store, db_target: object
) -> None:
    """`at_once` (the app's decisions): another writer's lock is `DatabaseBusy` now.

    Not after the five seconds a decision otherwise waits for it; nothing is recorded,
    the claim still holds, and once the lock is free the same decision goes through.
    """
    claim = _claimed(store)
    with Store(db_target) as other, other._immediate() as conn:  # type: ignore[arg-type]
        conn.execute("SELECT 1")  # on PostgreSQL the lock goes with the first statement
        with store.at_once(), pytest.raises(DatabaseBusy, match="is writing"):
            store.decide(claim, "approve", GOOD)
        assert list(store.events()) == []
        assert store.get_item(claim.item_id).state == "claimed"
    with store.at_once():
        assert store.decide(claim, "approve", GOOD).justification == GOOD
