"""An item's ledger history as text: the history screen and `signoff show` print the same.

Newest first. Each event says who, when, which verb, the justification, the output when
it is not the draft, what was shown (confidence or its absence, data limits), the
reviewer's own judgement when the item was reviewed commit-first, and what undid it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from rich.text import Text

from providers.text import counted
from store import Event, Item
from tui.format import BASIS_LABEL, MAGENTA, RED, STAKES_NAME, STAKES_STYLE
from tui.safe import safe_text

if TYPE_CHECKING:
    from store import Incident, Store

VERB_STYLE: Final = {
    "approve": "bold green", "edit": "bold cyan", "override": f"bold {MAGENTA}",
    "reject": f"bold {RED}", "escalate": "bold yellow", "retract": "bold",
}  # fmt: skip


def item_header(item: Item) -> Text:
    """`A-311 · HIGH stakes · decided · Q3 churn drivers` on one line."""
    text = safe_text(item.external_id, style="bold")
    text.append("  ")
    text.append(f"{STAKES_NAME.get(item.stakes, item.stakes)} stakes",
                style=STAKES_STYLE.get(item.stakes, ""))  # fmt: skip
    text.append(f"  {item.state}  ", style="dim")
    text.append_text(safe_text(item.title or item.kind))
    return text


def history_lines(events: list[Event], undone: set[int]) -> list[Text]:
    """One block of text per event, in the order given (the caller passes newest first).

    `undone`: seqs a later retraction took back (they are marked as such).
    """
    return [_event(event, event.seq in undone) for event in events]


def undone_by(events: list[Event]) -> set[int]:
    """The seqs that a retraction among `events` undid."""
    return {e.retracts for e in events if e.action == "retract" and e.retracts is not None}


def standing_decision(events: list[Event]) -> Event | None:
    """The newest decision in an item's history (newest first) that was not taken back."""
    undone = undone_by(events)
    return next((e for e in events if e.action != "retract" and e.seq not in undone), None)


def _event(event: Event, undone: bool) -> Text:
    text = Text()
    text.append(f"#{event.seq}  ", style="dim")
    text.append(event.recorded_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    text.append("  ")
    text.append_text(safe_text(event.reviewer, style="bold"))
    text.append("  ")
    text.append(event.action.upper(), style=VERB_STYLE.get(event.action, "bold"))
    if event.reason_code:
        text.append_text(safe_text(f" ({event.reason_code})", style="dim"))
    if event.retracts is not None:
        text.append(f"  takes back #{event.retracts}", style="dim")
    if undone:
        text.append("  (taken back later)", style="italic yellow")
    text.append(f"  {event.time_on_item_ms / 1000:.0f} s on the item\n", style="dim")
    text.append("  why: ", style="dim")
    text.append_text(safe_text(event.justification, multiline=True))
    if event.action in ("edit", "override") and event.output is not None:
        text.append("\n  output: ", style="dim")
        text.append_text(safe_text(event.output, multiline=True))
    text.append("\n  shown: ", style="dim")
    text.append(_shown(event))
    for line in _oversight(event.oversight or {}):
        text.append("\n  ")
        text.append_text(line)
    return text


def _shown(event: Event) -> str:
    shown = event.shown
    if shown.confidence is None:
        confidence = (
            "no confidence (unknown)" if shown.confidence_basis == "none"
            else "confidence hidden"
        )  # fmt: skip
    else:
        basis = BASIS_LABEL.get(shown.confidence_basis, shown.confidence_basis)
        confidence = f"confidence {shown.confidence:.2f} ({basis})"
    limits = counted(len(shown.limits), "data limit") if shown.limits else "no data limits"
    return f"{confidence}; {limits}"


def _oversight(record: dict[str, Any]) -> list[Text]:
    lines = []
    first = record.get("commit_first")
    if isinstance(first, dict):
        line = Text("judged first: ", style="dim")
        line.append_text(safe_text(str(first.get("value", ""))))
        if first.get("moved_toward_ai"):
            line.append("  (then moved toward the AI's answer)", style="yellow")
        lines.append(line)
    pair = record.get("two_person")
    if isinstance(pair, dict):
        if pair.get("stage") == 1:
            lines.append(Text("first of two reviewers: waits for a second", style="dim"))
        else:
            who = safe_text(str(pair.get("first_reviewer") or "?"))
            line = Text("second reviewer after ", style="dim").append_text(who)
            line.append(": agreed" if pair.get("agreed") else ": disagreed (a lead decides)")
            lines.append(line)
    planted = record.get("planted")
    if isinstance(planted, dict):
        caught = "caught" if planted.get("caught") else "missed"
        line = Text(f"catch trial, {caught}: ", style="bold yellow")
        line.append_text(safe_text(str(planted.get("detail", ""))))
        lines.append(line)
    card = record.get("use_card")
    if isinstance(card, str):
        lines.append(Text(f"AI use card in force: version {card[:12]}", style="dim"))
    resolves = record.get("resolves")
    if isinstance(resolves, int):
        lines.append(Text(f"resolves the escalation #{resolves}", style="dim"))
    if "friction" in record or "friction_raised" in record:
        lines.append(Text("rubber-stamp friction applied", style="dim"))
    return lines


def incident_lines(store: Store, item: Incident) -> list[str]:
    """An incident as a few plain lines (the CLI's list, the evidence report's appendix)."""
    r = item.report
    when = r.recorded_at.strftime("%Y-%m-%d %H:%M")
    against = ", ".join(_decision_name(store, seq) for seq in r.decisions)
    by = r.reported_by if r.reported_by == r.recorded_by else (
        f"{r.reported_by} (recorded by {r.recorded_by})"
    )  # fmt: skip
    lines = [
        f"{r.kind} {item.number}  {r.severity}  {item.status}  {when}  against {against}",
        f"    reported by {by}: {r.text}",
    ]
    if item.resolution is not None:
        x = item.resolution
        lines.append(f"    {x.outcome} by {x.recorded_by} "
                     f"{x.recorded_at.strftime('%Y-%m-%d %H:%M')}: {x.text}")  # fmt: skip
    return lines


def _decision_name(store: Store, seq: int) -> str:
    event = store.event(seq)
    return f"event {seq}" if event is None else f"event {seq} ({event.external_id})"
