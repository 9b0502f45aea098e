"""Undo: retract the reviewer's last standing decision, after naming it and asking why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from store import Event
from tui.format import age
from tui.safe import safe_text, visible

if TYPE_CHECKING:
    from tui.app import SignoffApp
    from tui.screens.item import ItemScreen


def undo(app: SignoffApp, current: ItemScreen | None = None) -> None:
    """Retract the reviewer's last decision: name it, confirm, then ask why."""
    from tui.screens.dialogs import ConfirmScreen

    last = app.store.last_decision(app.reviewer)
    if last is not None and (last.oversight or {}).get("planted"):
        app.notify(
            visible(f"Your last decision, {last.action} on {last.external_id} at "
                    f"{app.clock_time(last.recorded_at)}, was on a planted check: those "
                    "are never undone, and nothing of it was sent anywhere."),
            markup=False, timeout=8,
        )  # fmt: skip
        return
    target = app.store.last_retractable(app.reviewer)
    if target is None:
        app.notify(
            "Nothing of yours to undo: you have no decision that is still standing."
            if last is not None else "Nothing to undo: you have recorded no decision yet.",
            markup=False,
        )  # fmt: skip
        return
    item = app.store.get_item(target.item_id)
    title = Text("Undo a decision?", style="bold")
    body = Text("Retract your ")
    body.append(target.action, style="bold")
    body.append(" of ")
    body.append_text(safe_text(target.external_id, style="bold"))
    body.append("  ")
    body.append_text(safe_text(item.title or "(untitled)"))
    when = app.clock_time(target.recorded_at)
    body.append(f"\nrecorded {when} ({age(target.recorded_at, app.now())} ago).\n\n")
    body.append(
        "The decision stays in the ledger with your retraction after it, and the item "
        "opens again for a new decision.",
        style="dim",
    )

    def confirmed(yes: bool | None) -> None:
        if yes:
            _ask_retraction(app, target, item.draft, current)

    app.push_screen(ConfirmScreen(title, body, verb="retract"), confirmed)


def _ask_retraction(app: SignoffApp, target: Event, draft: str, current: ItemScreen | None) -> None:
    from tui.screens.dialogs import JustificationDialog

    title = Text(f"Retract {target.action} on ", style="bold")
    title.append_text(safe_text(target.external_id, style="bold"))
    title.append(f"  (recorded {app.clock_time(target.recorded_at)})", style="dim")

    def commit(justification: str, _value: str | None, _reason: str | None) -> Event:
        return app.store.retract(target.seq, app.reviewer, justification)

    def done(event: Event | None) -> None:
        if event is None:
            return
        app.forget_recorded()
        app.notify(
            visible(f"Retracted {target.action} on {target.external_id}; it is open again."),
            markup=False,
        )
        if current is not None:
            app.release(current.claim)
        app.open_item(target.item_id, replace=current is not None)

    dialog = JustificationDialog(
        title, commit, draft=draft,
        prompt="Why take it back? What did you get wrong, or what changed?",
    )  # fmt: skip
    app.push_screen(dialog, done)
