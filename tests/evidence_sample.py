"""The sample evidence report in docs/: the demo queue after six months of scripted review.

`python -m tests.evidence_sample` writes docs/evidence-sample.md and .html; a test
rebuilds both and compares them byte for byte, so the sample in the repository is
always what this version prints. Everything is deterministic: a fixed clock, the demo's
seeded catch trials, scripted reviewers (alice reads carefully, bob approves whatever
he sees), a lead (dana) who resolves escalations and incidents.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from store import JustificationRefused, Store
from store.archive import archive, plan_cut
from store.cards import card_hash
from store.checkpoint import generate_key, open_note, sign
from store.evidence import CheckpointSeen, Evidence, gather
from store.evidence_render import html_page, markdown
from store.review import VERDICTS
from tui.demo import DEMO_OVERSIGHT, load_demo

START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
MADE = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
DOCS = Path(__file__).resolve().parent.parent / "docs"
SUPPORT_CARD = {
    "purpose": "Draft replies to billing and outage tickets for agents to send",
    "scope": "English tickets from the support queue; no legal or medical questions",
    "model": "gpt-4o-mini", "provider": "OpenAI-compatible gateway",
    "data_sources": "ticket thread, CRM account record (a day old)",
    "known_limits": "no access to payments; CRM snapshot may be stale",
    "review_steps": "an agent reads every reply, edits or rejects, justifies",
    "owner": "Head of Support",
}  # fmt: skip


class Clock:
    """A clock the script moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def build(path: Path) -> Evidence:
    """Run the scripted review on a fresh demo database at `path`; gather the evidence."""
    clock = Clock()
    with Store(path, now=clock, oversight=DEMO_OVERSIGHT) as store:
        store.leads = frozenset({"dana"})
        store.use_cards = {"support": card_hash(SUPPORT_CARD)}
        load_demo(store)
        _resolve_escalations(store, clock)
        planted = {row[0] for row in store.conn.execute("SELECT item_id FROM plants")}
        reviewers = ("alice", "bob")
        turn = 0
        while True:
            clock.now += dt.timedelta(days=3, minutes=7 * turn)  # a few items a week
            claim = store.claim_next(reviewers[turn % 2])
            if claim is None:
                break
            clock.now += dt.timedelta(seconds=40 + 9 * (turn % 7))  # time on the item
            _decide(store, claim, planted, turn)
            turn += 1
        _lead_work(store, clock)
        clock.now = MADE  # the lead archives May, then reports
        through = plan_cut(store, dt.datetime(2026, 5, 12, tzinfo=dt.UTC), 183)
        archive(store, through, path.with_name("2026-05.jsonl"), "dana")
        secret, verifier = generate_key("dana")
        note = sign(store.checkpoint(), secret)  # a signed checkpoint, checked at once
        signed = open_note(note, verifier)
        seen = CheckpointSeen(signed.size, "signed by dana", store.extends(signed) is None)
        evidence = gather(store, now=MADE, checkpoint=seen)
    evidence.where = "the demo queue (sample)"  # not the temporary file's path
    return evidence


def _decide(store: Store, claim: object, planted: set[int], turn: int) -> None:
    from store import Claim

    assert isinstance(claim, Claim)
    item = store.get_item(claim.item_id)
    careful = claim.reviewer == "alice"
    if store.requirements_for(item, claim.reviewer).commit_first:
        own = VERDICTS[0] if item.kind in ("reply", "summary") else item.draft
        store.commit_judgement(claim, own, "checked the record first")
    why = (f"{claim.reviewer} read {item.external_id} against the source record and the "
           f"account history, turn {turn}")  # fmt: skip
    for attempt in range(3):
        try:
            if careful and item.id in planted:
                store.decide(claim, "reject", why, reason_code="factual-error")
            elif careful and turn % 5 == 2 and item.kind in ("reply", "summary"):
                store.decide(claim, "edit", why, output=item.draft + " (checked)")
            else:
                store.decide(claim, "approve", why)
            return
        except JustificationRefused:  # friction for bob: he has to say more
            why += f"; the dates, amounts and names all match the record ({attempt})" * 2


def _resolve_escalations(store: Store, clock: Clock) -> None:
    for waiting in store.escalations():
        clock.now += dt.timedelta(hours=5)
        claim = store.claim_item(waiting.item.id, "dana")
        store.decide(claim, "reject", "Dana: the credit is above policy; offer the standard "
                     f"one instead ({waiting.item.external_id})", reason_code="policy")  # fmt: skip


def _lead_work(store: Store, clock: Clock) -> None:
    bob = [row[0] for row in store.conn.execute(
        "SELECT seq FROM ledger WHERE reviewer = 'bob' AND action = 'approve' ORDER BY seq"
    )]  # fmt: skip
    clock.now += dt.timedelta(days=2)
    store.report_incident(
        "carol", "The customer was told the refund had gone out; payments shows it had not",
        [bob[-1]], kind="complaint", severity="high", reported_by="customer 4411",
    )  # fmt: skip
    store.report_incident("alice", "The score looks too high for an account this small",
                          [bob[-2]], severity="low")  # fmt: skip
    clock.now += dt.timedelta(days=1)
    store.resolve_incident(1, "dana", "confirmed",
                           "Globex's contract says 90 days; the summary was wrong")  # fmt: skip
    store.resolve_incident(2, "dana", "confirmed",
                           "Payments log has no refund for order 4411 on that day")  # fmt: skip
    store.resolve_incident(3, "dana", "unfounded",
                           "The account doubled in May; the score follows the rule")  # fmt: skip


def render(evidence: Evidence) -> tuple[str, str]:
    """The sample as (Markdown, HTML), with a version that does not change per release."""
    return markdown(evidence, version="(sample)"), html_page(evidence, version="(sample)")


def main() -> None:
    """Write docs/evidence-sample.md and docs/evidence-sample.html."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        text, page = render(build(Path(folder) / "demo.db"))
    DOCS.mkdir(exist_ok=True)
    (DOCS / "evidence-sample.md").write_text(text, encoding="utf-8")
    (DOCS / "evidence-sample.html").write_text(page, encoding="utf-8")
    sys.stdout.write(f"wrote {DOCS}/evidence-sample.md and .html\n")


if __name__ == "__main__":
    main()
