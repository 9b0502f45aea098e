"""The bundled demo queue, set up so that a first session meets every oversight mechanism.

40 real drafts; one known-bad analyst summary and one mutated draft planted among them;
commit-first on the top item; an item that a colleague ("sam") already approved,
waiting for an independent second review; one sam escalated, which the demo's reviewer
(a lead in the demo) resolves from the escalations view; two items assigned to sam; and
a customer's complaint against sam's approval, open in the incident register.
"""

from __future__ import annotations

import dataclasses
import random
from importlib import resources

from providers.base import Draft
from providers.files import Parsed, read_records
from store import Store, StoreError
from store.models import Action
from store.oversight import OversightPolicy, Rule
from tui import importing
from tui.import_reader import ImportPlan

DEMO_OVERSIGHT = OversightPolicy(
    rules=(
        Rule(stakes=frozenset({"high"}), min_chars=40),
        Rule(stakes=frozenset({"high"}), bands=frozenset({"high"}), commit_first=True),
        Rule(stakes=frozenset({"high"}), bands=frozenset({"low", "unknown"}), second_reviewer=True),
    ),
    catch_rate=0.05,
    commit_first_sources=frozenset({"risk"}),
)
"""The demo's policy table: high stakes need 40 letters; high stakes at high confidence
open commit-first; high stakes at low or unknown confidence need a second reviewer; risk
scores always open commit-first; 5 % of the queue is planted."""

SECOND_REVIEW_ITEM = "A-317"
ESCALATED_ITEM = "T-1048"
"""Escalated by sam in every fresh demo: the demo's reviewer is a lead and resolves it."""
"""The demo item a colleague approved first."""
DEMO_SEED = 2026
"""Planting in the demo is seeded: every fresh demo looks the same."""


def load_demo(store: Store) -> None:
    """Fill a fresh demo database: drafts, catch trials, sam's approval and escalation."""
    bundled = resources.files("tui").joinpath("demo_queue.jsonl")
    with resources.as_file(bundled) as demo_file:
        plan = ImportPlan(str(demo_file), "jsonl", "demo")
        result = importing.import_file(store, plan, stakes="medium")
    if result.rejected:  # a broken bundle is our bug: say so plainly
        first = result.rejected[0]
        raise StoreError(f"the bundled demo queue is damaged (line {first.line}: {first.reason})")
    rng = random.Random(DEMO_SEED)
    bad = resources.files("tui").joinpath("demo_plants.jsonl")
    with bad.open("rb") as stream:
        planted = [
            (record.draft, str(record.draft.meta.get("flaw", "")))
            for record in read_records(stream, "jsonl", default_source="demo")
            if isinstance(record, Parsed)
        ]
    store.plant_drafts([(strip_flaw(d), flaw) for d, flaw in planted], rng)
    store.plant(store.oversight.catch_rate, rng)
    _sam_decides(
        store,
        "analyst",
        SECOND_REVIEW_ITEM,
        "approve",
        "Renewal date and 60-day notice match the signed Globex contract in the CRM.",
    )
    _sam_decides(store, "support", ESCALATED_ITEM, "escalate",
                 "Third outage this month: a goodwill credit is above my limit, a lead "
                 "should decide.")  # fmt: skip
    _work_for_sam(store)
    _a_complaint(store)


def _a_complaint(store: Store) -> None:
    """A customer's complaint against sam's approval, open for the demo's lead."""
    item = store.find_item("analyst", SECOND_REVIEW_ITEM)
    events = store.history(item.id) if item is not None else []
    if events:
        store.report_incident(
            "sam",
            "Globex says their contract gives 90 days' notice, not the 60 days in the summary.",
            [events[0].seq],
            kind="complaint",
            severity="high",
            reported_by="Globex account manager",
        )


def _sam_decides(store: Store, source: str, external_id: str, action: Action, why: str) -> None:
    """A colleague's decision already in the ledger when the demo opens."""
    item = store.find_item(source, external_id)
    if item is not None:
        store.decide(store.claim_item(item.id, "sam"), action, why)


def _work_for_sam(store: Store) -> None:
    """Two leads-source items assigned to sam: the progress view (W) shows them waiting."""
    from store.views import QueueFilter

    lead = "demo-lead"
    store.leads = store.leads | {lead}
    store.assign(QueueFilter(source="leads"), "sam", by=lead, limit=2)


def strip_flaw(draft: Draft) -> Draft:
    """The draft without its `flaw` note (which only the plants table may know)."""
    meta = {k: v for k, v in draft.meta.items() if k != "flaw"}
    return dataclasses.replace(draft, meta=meta)
