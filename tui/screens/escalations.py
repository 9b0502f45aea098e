"""The escalations, oldest first, each with who escalated it and why.

Enter opens one: a lead claims it to resolve it with a decision of their own (linked to
the escalation in the ledger); anyone else reads its history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from store import Escalation
from tui.bindings import Remappable, bind
from tui.format import STAKES_NAME, STAKES_STYLE, age
from tui.safe import safe_text
from tui.widgets.footer import Footer

if TYPE_CHECKING:
    from tui.app import SignoffApp


class EscalationsScreen(Remappable, Screen[None]):
    """Refreshed each time it comes back into view (a resolution removes a row)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("item.back", "back"),
        bind("app.escalations", "back", show=False),
    ]

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        return cast("SignoffApp", self.app)

    def compose(self) -> ComposeResult:
        """Title line, the list, the footer."""
        yield Static(id="topbar")
        yield OptionList(id="escalations")
        yield Footer()

    def on_mount(self) -> None:
        """Fill the list."""
        self.reload()

    def on_screen_resume(self) -> None:
        """Back from an item: it may have been resolved."""
        self.reload()

    def reload(self) -> None:
        """Read the escalations again."""
        waiting = self.signoff.store.escalations()
        lead = self.signoff.store.is_lead(self.signoff.reviewer)
        title = Text(f"Escalations  {len(waiting)} waiting, oldest first  ", style="bold")
        title.append(
            "Enter resolves one (you are a lead)" if lead
            else "Enter reads one; a lead resolves them", style="dim",
        )  # fmt: skip
        self.query_one("#topbar", Static).update(title)
        listing = self.query_one(OptionList)
        listing.clear_options()
        if not waiting:
            listing.add_option(Option(Text("Nothing is escalated.", style="dim italic"), id="-"))
            return
        listing.add_options(Option(self._row(e), id=str(e.item.id)) for e in waiting)
        listing.highlighted = 0
        listing.focus()

    def _row(self, escalation: Escalation) -> Text:
        item, event = escalation.item, escalation.event
        row = Text()
        row.append(f"{age(event.recorded_at, self.signoff.now()):>4}  ", style="dim")
        row.append(f"{STAKES_NAME[item.stakes]:<4} ", style=STAKES_STYLE[item.stakes])
        row.append_text(safe_text(item.external_id, style="bold"))
        row.append("  ")
        row.append_text(safe_text(item.title or item.kind))
        if escalation.first is not None:  # two reviewers disagreed: both decisions
            for decision in (escalation.first, event):
                row.append("\n      ")
                row.append_text(safe_text(decision.reviewer, style="bold"))
                row.append(f" {decision.action}: ", style="dim")
                row.append_text(safe_text(decision.justification))
            return row
        row.append("\n      ")
        row.append_text(safe_text(event.reviewer, style="bold"))
        row.append(" escalated: ", style="dim")
        row.append_text(safe_text(event.justification))
        return row

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        """Enter: resolve (a lead) or read (anyone else)."""
        if message.option.id and message.option.id != "-":
            self.signoff.open_item(int(message.option.id))

    def action_back(self) -> None:
        """Back to where you were."""
        self.dismiss()
