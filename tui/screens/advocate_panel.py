"""The item screen's devil's advocate: by policy or on request, after the judgement.

Never before the reviewer's own judgement is recorded; `tui.advocate` makes the call.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from store import ClaimError, DecisionError, StoreError
from tui.safe import safe_text, visible
from tui.screens.item_parts import ItemParts


class AdvocatePanel(ItemParts):
    """Mixed into `ItemScreen` (which fills these attributes)."""

    asked: bool

    def action_advocate(self) -> None:
        """Ask for the devil's advocate: after the reviewer's own judgement, never before."""
        if self.advocate is not None or self.query_one("#advocate").display:
            self.notify("The advocate has spoken: see its panel on the right.", markup=False)
            return
        if self.signoff.settings.advocate_provider is None:
            self.notify('No devil\'s advocate is configured ([advocate] provider = "NAME").',
                        markup=False)  # fmt: skip
            return
        if self._locked():
            return
        if self.signoff.store.judgement(self.claim) is not None:
            self._asked()
            return
        from tui.screens.oversight import JudgementFirst

        def record(value: str, notes: str) -> str | None:
            try:
                self.signoff.store.commit_judgement(self.claim, value, notes)
            except (DecisionError, ClaimError, StoreError) as error:
                return str(error)
            return None

        self.app.push_screen(JudgementFirst(self.item, record),
                             lambda done: self._asked() if done else None)  # fmt: skip

    def _asked(self) -> None:
        self.asked = True
        self.query_one("#advocate").display = True
        self._call_advocate()

    def _call_advocate(self) -> None:
        self.query_one("#advocate", Static).update(Text("Asking the advocate…", style="dim italic"))
        self.run_worker(self._advocate(self.item.id), group="advocate", exclusive=True)

    async def _advocate(self, item_id: int) -> None:
        from tui.advocate import argue

        said = await argue(self.signoff.settings, self.item)
        if item_id != self.item.id:
            return  # the reviewer moved on: this answer is not for the item on screen
        self.advocate = {**said, "asked": "on request"} if self.asked else said
        if "error" in said:
            shown = Text("It could not answer: ", style="yellow")
            shown.append_text(safe_text(said["error"]))
            shown.append("\nYou can still decide; the decision records that.", style="dim")
        else:
            shown = safe_text(said["text"], multiline=True)
            shown.append(f"\n— {visible(said.get('model', ''))}", style="dim")
        self.query_one("#advocate", Static).update(shown)
