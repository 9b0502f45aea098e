"""The item screen's decisions: edit, approve, override, reject, escalate, and after.

Each asks for a justification: approve and escalate (a reason only) in the screen's own
form under the draft, the others in a dialog. What was recorded is said on the
screen's `RecordedLine`; oversight feedback, when there is any, comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.text import Text

from store import Event
from store.models import Action
from store.values import describe_scale, labels_of, score_scale
from tui.safe import safe_text, visible
from tui.screens.dialogs import EditScreen, JustificationDialog, diff_text
from tui.screens.item_parts import ItemParts
from tui.screens.justify import Commit, JustificationForm
from tui.screens.oversight import AfterDecision, after_decision
from tui.widgets.recorded import RecordedLine

VALUE_KINDS = ("score", "label")
"""Kinds whose override is a new value rather than a replacement text."""


class Deciding(ItemParts):
    """Mixed into `ItemScreen` (which fills these attributes)."""

    def action_edit(self) -> None:
        """Edit the draft, see the diff, then justify."""
        if self._locked():
            return
        self._edit(self.item.draft)

    def _edit(self, start: str) -> None:
        """The editor on `start`; cancelling the justification comes back here, edit kept."""

        def edited(text: str | None) -> None:
            if text is None:
                return
            if text == self.item.draft:
                self.notify("No change to the draft: approve it instead.", markup=False)
                return
            self._ask("edit", output=text, back=partial(self._edit, text))

        self.app.push_screen(EditScreen(self._title("Edit"), start), edited)

    def action_decide(self, action: Action) -> None:
        """Open the justification dialog for approve, override, reject or escalate."""
        if self._locked():
            return
        self._ask(action)

    def _ask(
        self,
        action: Action,
        output: str | None = None,
        back: Callable[[], None] | None = None,
    ) -> None:
        """The justification dialog; `back` runs when it is cancelled (an edit reopens)."""
        store = self.signoff.store
        claim = self.claim

        def commit(justification: str, value: str | None, reason: str | None) -> Event:
            # With the next claim on a team database: one round trip to the next item
            # fewer (`store.ahead`); it waits in the app until the item screen asks.
            return self.signoff.decided(store.decide_and_claim(
                claim, action, justification, output=output or value, reason_code=reason,
                advocate=self.advocate, exclude=self.signoff.skipped,
            )).event  # fmt: skip

        if action in ("approve", "escalate") and output is None:
            self._ask_inline(action, commit)  # a reason only: asked under the draft
            return
        is_value = self.item.kind in VALUE_KINDS
        choices = labels_of(self.item)
        ask_value = hint = None
        if action == "override":
            ask_value = "new value" if is_value else "replacement text"
            scale = score_scale(self.item.meta) if self.item.kind == "score" else None
            hint = (
                f"a number from {describe_scale(scale)}" if scale
                else "the value it should be" if is_value else None
            )  # fmt: skip
        dialog = JustificationDialog(
            self._title(action.capitalize()),
            commit,
            draft=self.item.draft,
            diff=diff_text(self.item.draft, output) if output is not None else None,
            ask_value=ask_value,
            value_choices=choices if action == "override" and is_value else None,
            reason_codes=self.signoff.reason_codes if action in ("override", "reject") else None,
            min_chars=self.need.min_chars,
            value_hint=hint,
        )

        def closed(event: Event | None) -> None:
            if event is None and back is not None:
                back()
                return
            self._recorded(event)

        self.app.push_screen(dialog, closed)

    def _ask_inline(self, action: Action, commit: Commit[Event]) -> None:
        """Ask for the reason in the item screen's own form, under the draft."""
        self._justifying(True)
        self._reason_form().renew(
            self._title(action.capitalize()), commit, draft=self.item.draft,
            min_chars=self.need.min_chars,
        )  # fmt: skip

    def _reason_form(self) -> JustificationForm[Event]:
        form: JustificationForm[Event] = self.query_one("#reason-form", JustificationForm)
        return form

    def _justifying(self, asking: bool) -> None:
        """Open or close the inline form; while open, the item's commands are off.

        Nothing else moves: hiding the input the AI saw to give the draft more rows made
        the next item ~12 ms slower at the median (its pane laid out and drawn again
        after each decision; pty, 1M items). The form is kept to five rows instead.
        """
        form = self._reason_form()
        if form.display == asking:
            return
        form.display = asking
        self.refresh_bindings()
        if not asking:
            # Now, not queued (`Widget.focus`): the next item's frame has the item's keys.
            self.set_focus(self.query_one("#draft-pane"))

    @property
    def justifying(self) -> bool:
        """The inline form is open (approve or escalate waits for its reason)."""
        return bool(self._reason_form().display)

    def _reason_given(self, event: Event | None) -> None:
        """The inline form closed: recorded (go on) or cancelled (back to the draft)."""
        self._justifying(False)
        self._recorded(event)

    def _recorded(self, event: Event | None) -> None:
        if event is None:
            return  # cancelled: nothing recorded, the claim is still ours
        self.signoff.checkpoint_due(event.seq)
        planted = bool((event.oversight or {}).get("planted"))
        done = visible(
            f"Recorded {event.action} on {event.external_id}."
            + ("" if planted else f" {self.signoff.key_display('item.undo')} undoes it.")
        )
        # Said on the screen's own line, not a notice: notices stacked up (see the widget).
        self.query_one(RecordedLine).say(done)
        notice = after_decision(event)
        if notice is None:
            self.signoff.next_after(event.source)
            return
        notice = Text(done + "\n\n", style="dim").append_text(notice)
        first = None
        stage = (event.oversight or {}).get("two_person") or {}
        if stage.get("stage") == 2:
            earlier = self.signoff.store.event(int(stage["first_seq"]))
            first = earlier.justification if earlier else None
        self.app.push_screen(
            AfterDecision(notice, first, self.item.draft if planted else None),
            lambda _: self.signoff.next_after(event.source),
        )

    def _title(self, verb: str) -> Text:
        title = Text(f"{verb} ", style="bold")
        title.append_text(safe_text(self.item.external_id, style="bold"))
        title.append("  ")
        title.append_text(safe_text(self.item.title))
        return title
