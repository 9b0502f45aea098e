"""The incident and complaint register: open ones first, then the resolved, newest first.

Enter on an open incident lets a lead resolve it — confirmed (the decisions it names
were wrong) or unfounded — after a confirmation that names it, with a justification.
Reports are made from an item's history (`report_incident`), or with `signoff incident
report`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from store import Incident, StoreError
from store.register import KINDS, OUTCOMES, SEVERITIES
from tui.bindings import Remappable, bind
from tui.format import RED, age
from tui.safe import safe_text, visible
from tui.widgets.footer import Footer

if TYPE_CHECKING:
    from store import Event, Item
    from tui.app import SignoffApp

STATUS_STYLE = {"open": "bold yellow", "confirmed": f"bold {RED}", "unfounded": "dim"}
SEVERITY_STYLE = {"critical": f"bold {RED}", "high": RED, "medium": "yellow", "low": "dim"}


class IncidentsScreen(Remappable, Screen[None]):
    """Read again each time it comes into view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("item.back", "back"),
        bind("app.incidents", "back", show=False),
    ]

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        return cast("SignoffApp", self.app)

    def compose(self) -> ComposeResult:
        """Title line, the list, the footer."""
        yield Static(id="topbar")
        yield OptionList(id="incidents")
        yield Footer()

    def on_mount(self) -> None:
        """Fill the list."""
        self.reload()

    def reload(self) -> None:
        """Read the register again: open incidents first."""
        store = self.signoff.store
        found = store.incidents()
        found.sort(key=lambda i: i.status != "open")  # stable: newest first within each
        self.found = {str(i.number): i for i in found}
        waiting = sum(i.status == "open" for i in found)
        title = Text(f"Incidents  {waiting} open of {len(found)}  ", style="bold")
        lead = store.is_lead(self.signoff.reviewer)
        title.append(
            "Enter resolves one (you are a lead)" if lead
            else "a lead resolves them", style="dim",
        )  # fmt: skip
        self.query_one("#topbar", Static).update(title)
        listing = self.query_one(OptionList)
        listing.clear_options()
        if not found:
            how = self.signoff.with_keys("{item.report}")
            listing.add_option(Option(Text(
                f"No incidents or complaints. Open a decided item and press {how} to report "
                "one.", style="dim italic"), id="-"))  # fmt: skip
            return
        listing.add_options(Option(self._row(i), id=str(i.number)) for i in found)
        listing.highlighted = 0
        listing.focus()

    def _row(self, incident: Incident) -> Text:
        r = incident.report
        row = Text()
        row.append(f"{incident.status:<9} ", style=STATUS_STYLE[incident.status])
        severity = r.severity or "medium"
        row.append(f"{severity:<8} ", style=SEVERITY_STYLE[severity])
        row.append(f"{r.kind} {incident.number}", style="bold")
        row.append(f"  {age(r.recorded_at, self.signoff.now())} ago  ", style="dim")
        row.append_text(safe_text(", ".join(self._names(r.decisions))))
        row.append("\n      ")
        row.append_text(safe_text(r.reported_by, style="bold"))
        row.append(": ")
        row.append_text(safe_text(r.text))
        if incident.resolution is not None:
            x = incident.resolution
            row.append("\n      ")
            row.append(f"{x.outcome} by ", style="dim")
            row.append_text(safe_text(x.recorded_by, style="bold"))
            row.append(": ", style="dim")
            row.append_text(safe_text(x.text))
        return row

    def _names(self, seqs: tuple[int, ...]) -> list[str]:
        names = []
        for seq in seqs:
            event = self.signoff.store.event(seq)
            names.append(f"#{seq}" if event is None else f"{event.external_id} (#{seq})")
        return names

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        """Enter: a lead resolves an open incident."""
        incident = self.found.get(message.option.id or "")
        if incident is None:
            return
        if incident.status != "open":
            kind = (incident.report.kind or "incident").capitalize()
            self.notify(f"{kind} {incident.number} is resolved ({incident.status}).", markup=False)
            return
        if not self.signoff.store.is_lead(self.signoff.reviewer):
            self.notify("A lead resolves incidents; you can read them here.", markup=False)
            return
        self._confirm(incident)

    def _confirm(self, incident: Incident) -> None:
        from tui.screens.dialogs import ConfirmScreen

        r = incident.report
        title = Text(f"Resolve {r.kind} {incident.number}?", style="bold")
        body = Text("Against ")
        body.append_text(safe_text(", ".join(self._names(r.decisions)), style="bold"))
        body.append("\nreported by ")
        body.append_text(safe_text(r.reported_by))
        body.append(":\n")
        body.append_text(safe_text(r.text))
        body.append(
            "\n\nA resolution cannot be taken back: confirmed counts the decisions as wrong "
            "in the statistics; unfounded clears them. Next you choose which, and say why.",
            style="dim",
        )

        def go_on(yes: bool | None) -> None:
            if yes:
                self._resolve(incident)

        self.app.push_screen(ConfirmScreen(title, body, verb="resolve it"), go_on)

    def _resolve(self, incident: Incident) -> None:
        from tui.screens.dialogs import JustificationDialog

        store, lead = self.signoff.store, self.signoff.reviewer
        title = Text(f"Resolve {incident.report.kind} {incident.number}", style="bold")

        def commit(justification: str, outcome: str | None, _reason: str | None) -> Incident:
            chosen = next((o for o in OUTCOMES if o == outcome), None)
            if chosen is None:
                raise StoreError("choose confirmed or unfounded")
            return store.resolve_incident(incident.number, lead, chosen, justification)

        def done(closed: Incident | None) -> None:
            if closed is not None:
                self.notify(visible(f"Incident {closed.number} resolved: {closed.status}."),
                            markup=False)  # fmt: skip
                self.reload()

        dialog = JustificationDialog(
            title, commit, draft="", ask_value="Outcome", value_choices=list(OUTCOMES),
            prompt="Why? What did you check, and what did it show?",
        )  # fmt: skip
        self.app.push_screen(dialog, done)

    def action_back(self) -> None:
        """Back to where you were."""
        self.dismiss()


def report_incident(app: SignoffApp, item: Item, events: list[Event]) -> None:
    """Ask for an incident or complaint against the item's decision that stands."""
    from tui.history import standing_decision
    from tui.screens.dialogs import JustificationDialog

    standing = standing_decision(events)
    if standing is None:
        app.notify("No decision stands on this item: there is nothing to report against.",
                   markup=False)  # fmt: skip
        return
    title = Text(f"Report an incident or complaint: {standing.action} of ", style="bold")
    title.append_text(safe_text(item.external_id, style="bold"))
    title.append(f" by {visible(standing.reviewer)} (#{standing.seq})", style="dim")

    def commit(what: str, kind: str | None, severity: str | None) -> Incident:
        chosen = next((k for k in KINDS if k == kind), None)
        if chosen is None:
            raise StoreError("choose incident or complaint")
        level = next((s for s in SEVERITIES if s == severity), None)
        if level is None:
            raise StoreError("choose a severity")
        return app.store.report_incident(app.reviewer, what, [standing.seq], kind=chosen,
                                         severity=level)  # fmt: skip

    def done(made: Incident | None) -> None:
        if made is not None:
            app.notify(visible(
                f"{(made.report.kind or 'incident').capitalize()} {made.number} recorded; "
                "a lead resolves it."), markup=False)  # fmt: skip

    dialog = JustificationDialog(
        title, commit, draft="", ask_value="Incident or complaint?",
        value_choices=list(KINDS), reason_codes=list(SEVERITIES),
        reason_label="severity", policy_feedback=False,
        prompt="What happened? Who noticed, and what went wrong?",
    )  # fmt: skip
    app.push_screen(dialog, done)
