"""Escalations are resolved by a lead, with a decision linked to the escalation."""

from __future__ import annotations

import pytest

from store import ClaimError, DecisionError, Store
from tests.conftest import FakeClock, make_draft

WHY = "Checked the refund against the order history"


def escalate(store: Store, external_id: str, who: str) -> int:
    claim = store.claim_next(who)
    assert claim is not None
    assert store.get_item(claim.item_id).external_id == external_id
    return store.decide(
        claim, "escalate", f"{who} is not sure about the refund on {external_id}"
    ).seq


def test_a_lead_resolves_an_escalation_and_the_ledger_links_them(
    store: Store, clock: FakeClock
) -> None:
    store.leads = frozenset({"dana"})
    store.ingest([make_draft("T-1"), make_draft("T-2")])
    first = escalate(store, "T-1", "alice")
    clock.advance(minutes=5)
    second = escalate(store, "T-2", "bob")
    waiting = store.escalations()
    assert [(e.item.external_id, e.event.seq, e.event.reviewer) for e in waiting] == [
        ("T-1", first, "alice"), ("T-2", second, "bob"),
    ]  # fmt: skip
    assert waiting[0].event.justification == "alice is not sure about the refund on T-1"
    item_id = waiting[0].item.id
    with pytest.raises(ClaimError, match="a lead resolves it"):
        store.claim_item(item_id, "carol")
    claim = store.claim_item(item_id, "dana")
    assert claim.resolves == first
    assert store.release(claim)  # given back: to the escalations, not the queue
    assert store.get_item(item_id).state == "escalated"
    claim = store.claim_item(item_id, "dana")
    with pytest.raises(DecisionError, match="a lead resolves an escalation with"):
        store.decide(claim, "escalate", "Dana passes it on to somebody else")
    event = store.decide(claim, "reject", "Dana: the refund policy excludes this order",
                         reason_code="policy")  # fmt: skip
    assert event.oversight == {"resolves": first}
    assert store.get_item(item_id).state == "decided"
    assert [e.item.external_id for e in store.escalations()] == ["T-2"]
    assert store.verify_chain().ok


def test_taking_back_a_resolution_reopens_the_escalation(store: Store, clock: FakeClock) -> None:
    store.leads = frozenset({"dana"})
    store.ingest([make_draft("T-1")])
    seq = escalate(store, "T-1", "alice")
    item_id = store.escalations()[0].item.id
    event = store.decide(store.claim_item(item_id, "dana"), "approve", WHY)
    store.retract(event.seq, "dana", "Dana approved before reading the thread, sorry")
    assert store.get_item(item_id).state == "escalated"
    assert [e.event.seq for e in store.escalations()] == [event.seq + 1]
    assert store.claim_item(item_id, "dana").resolves == event.seq + 1
    assert seq < event.seq


def test_an_expired_resolution_claim_goes_back_to_the_escalations(
    store: Store, clock: FakeClock
) -> None:
    store.leads = frozenset({"dana"})
    store.ingest([make_draft("T-1"), make_draft("T-2")])
    escalate(store, "T-1", "alice")
    item_id = store.escalations()[0].item.id
    store.claim_item(item_id, "dana")
    clock.advance(minutes=11)  # past the lease
    assert store.claim_next("bob") is not None  # any claim ends expired leases first
    assert store.get_item(item_id).state == "escalated"


def test_a_lead_assigns_work_and_claims_serve_it_first(store: Store, clock: FakeClock) -> None:
    from store import StoreError
    from store.views import QueueFilter

    store.leads = frozenset({"dana"})
    store.ingest([make_draft(f"T-{n}", stakes="high" if n < 2 else "low") for n in range(6)]
                 + [make_draft("L-1", source="leads", stakes="low")])  # fmt: skip
    with pytest.raises(StoreError, match="only leads assign work"):
        store.assign(QueueFilter(source="leads"), "erin", by="carol")
    assert store.assign(QueueFilter(source="leads"), "erin", by="dana") == 1
    assert store.assign(QueueFilter(stakes="low", source="support"), "frank", by="dana",
                        limit=2) == 2  # fmt: skip
    first = store.claim_next("erin")  # her own assignment before the high-stakes queue
    assert first is not None
    assert store.get_item(first.item_id).external_id == "L-1"
    taken = [store.claim_next("gina") for _ in range(5)]  # never frank's two
    names = [store.get_item(c.item_id).external_id for c in taken if c is not None]
    assert names == ["T-0", "T-1", "T-4", "T-5"]
    mine = store.claim_next("frank")
    assert mine is not None
    assert store.get_item(mine.item_id).external_id == "T-2"
    clock.advance(seconds=30)
    store.decide(mine, "approve", "Frank compared the refund with the invoice total")
    people, sources = store.progress()
    frank = next(p for p in people if p.reviewer == "frank")
    assert (frank.assigned, frank.done, frank.escalated, frank.median_ms) == (1, 1, 0, 30_000)
    support = next(s for s in sources if s.source == "support")
    assert (support.pending, support.assigned, support.decided) == (1, 1, 1)
    assert store.assign(QueueFilter(source="support"), None, by="dana") == 1  # back to all
    other = store.claim_next("gina")
    assert other is not None
    assert store.get_item(other.item_id).external_id == "T-3"


def test_a_disagreement_reaches_the_lead_with_both_decisions(
    store: Store, clock: FakeClock
) -> None:
    import dataclasses

    from store import OversightPolicy

    store.oversight = dataclasses.replace(OversightPolicy.off(), double_review=1.0)
    store.ingest([make_draft("T-1")])
    first = store.claim_next("alice")
    assert first is not None
    store.decide(first, "approve", "Alice checked the refund against the invoice")
    second = store.claim_next("bob")
    assert second is not None
    store.decide(second, "reject", "Bob found the refund doubles an earlier credit",
                 reason_code="factual-error")  # fmt: skip
    (waiting,) = store.escalations()
    assert waiting.first is not None
    assert (waiting.first.reviewer, waiting.first.action) == ("alice", "approve")
    assert (waiting.event.reviewer, waiting.event.action) == ("bob", "reject")


def test_auditor_views_show_standing_decisions_overrides_and_resolutions(
    store: Store, clock: FakeClock
) -> None:
    store.leads = frozenset({"dana"})
    store.ingest([make_draft("T-1"), make_draft("T-2"), make_draft("T-3")])
    escalated = escalate(store, "T-1", "alice")
    item_id = store.escalations()[0].item.id
    resolution = store.claim_item(item_id, "dana")
    why = "Dana: the refund policy excludes this order"
    resolved = store.decide(resolution, "reject", why, reason_code="policy")
    taken = store.claim_next("bob")
    assert taken is not None
    wrong = store.decide(taken, "approve", "Bob approved this refund after checking it")
    store.retract(wrong.seq, "bob", "Bob approved the wrong ticket, sorry")
    rows = store.conn.execute(
        "SELECT escalation_seq, escalated_by, resolution_seq, resolved_by, resolution "
        "FROM escalations_and_resolutions"
    ).fetchall()
    assert [tuple(r) for r in rows] == [(escalated, "alice", resolved.seq, "dana", "reject")]
    standing = [r[0] for r in store.conn.execute("SELECT seq FROM standing_decisions ORDER BY seq")]
    assert standing == [escalated, resolved.seq]  # bob's approval was taken back
    overrides = store.conn.execute("SELECT reviewer, reason_code FROM overrides").fetchall()
    assert [tuple(r) for r in overrides] == [("dana", "policy")]
