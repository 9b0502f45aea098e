"""The justification form: asks why, judges it live, records only when the store accepts.

One form, two homes: inside `tui.screens.dialogs.JustificationDialog` (a modal, for the
decisions that ask more than a reason: an edit's diff, an override's value, a reject's
reason code, an undo, an incident) and inline on the item screen for approve and
escalate, the decisions a reviewer makes all day (`tui.screens.deciding`). Inline, the
draft stays in view while the reason is written, and recording it moves on without a
screen being dismissed and the item screen restyled under it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static, TextArea

from store import ClaimError, DatabaseBusy, DecisionError, JustificationRefused, StoreError
from store.policy import Recent, evaluate
from tui.bindings import Remappable, bind
from tui.format import RED
from tui.safe import safe_text, visible
from tui.widgets.safe_inputs import SafeInput
from tui.widgets.safe_text_area import JustificationBox

if TYPE_CHECKING:
    from tui.app import SignoffApp

T = TypeVar("T")
Commit = Callable[[str, str | None, str | None], T]
"""`commit(justification, output, reason_code)` records through the store, in one
write (see `SignoffApp.when_writable`'s `one_write`), or raises."""
Done = Callable[[T | None], object]
"""Told what was recorded, or None when the reviewer cancelled (nothing recorded)."""


class JustificationForm(Remappable, Vertical, Generic[T]):
    """Asks why; shows the policy's verdict live; records only when the store accepts.

    `dialog.submit` (or Enter in the box) records; `dialog.cancel` gives up and nothing
    is recorded. Either way `done` is told (the event, or None). Its keys are bound here,
    with priority, so they work wherever the form sits while focus is inside it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.submit", "submit", priority=True),
        bind("dialog.cancel", "cancel", priority=True),
    ]

    def __init__(
        self,
        title: Text,
        commit: Commit[T],
        done: Done[T],
        *,
        draft: str,
        diff: Text | None = None,
        ask_value: str | None = None,
        value_choices: list[str] | None = None,
        reason_codes: list[str] | None = None,
        min_chars: int | None = None,
        prompt: str = "Why? In your own words: what did you check?",
        value_hint: str | None = None,
        reason_label: str = "reason",
        policy_feedback: bool = True,
        id: str | None = None,
    ) -> None:
        """Set up the form.

        Args:
            title: What is being recorded, e.g. "Approve T-1042".
            commit: Records the event; raising a store error keeps the form open.
            done: Told the recorded event, or None when cancelled.
            draft: The draft, so feedback can spot a copied justification.
            diff: For edits, the change shown before recording.
            ask_value: Prompt for an override's new value (None: no value asked).
            value_choices: Allowed values for a label override, if known.
            reason_codes: Reason codes to choose from (None: no reason asked).
            min_chars: This item's justification minimum, when the oversight policy
                raises it above the general one.
            prompt: The question above the justification box.
            value_hint: Placeholder of the value box (e.g. the score's scale).
            reason_label: The label of the second choice (an incident's severity).
            policy_feedback: Judge the text by the justification policy as it is typed
                (off for text the policy does not govern, like an incident's account).
            id: The widget's id.
        """
        super().__init__(id=id)
        self.title_text = title
        self.commit = commit
        self.done = done
        self.draft = draft
        self.diff = diff
        self.ask_value = ask_value
        self.value_choices = value_choices
        self.reason_codes = reason_codes
        self.recent: list[Recent] = []
        self.min_chars = min_chars
        self.prompt = prompt
        self.value_hint = value_hint
        self.reason_label = reason_label
        self.policy_feedback = policy_feedback
        self._asking = 0
        """Which ask this is; a write still waiting for the database from an ask that was
        cancelled (or renewed) since must record nothing (see `action_submit`)."""

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        return cast("SignoffApp", self.app)

    def compose(self) -> ComposeResult:
        """Title, optional diff / value / reason, the justification box and its feedback."""
        yield Label(self.title_text, classes="dialog-title")
        if self.diff is not None:
            with VerticalScroll(id="diff"):
                yield Static(self.diff)
        if self.ask_value is not None:
            yield Label(self.ask_value)
            if self.value_choices:
                yield Select(
                    [(safe_text(v), v) for v in self.value_choices],
                    prompt="choose the right value", id="value",
                )  # fmt: skip
            else:
                hint = self.value_hint or "the text that should go out instead"
                yield SafeInput(placeholder=hint, id="value")
        if self.reason_codes is not None:
            yield Label(self.reason_label)
            yield Select(
                [(code, code) for code in self.reason_codes],
                prompt=f"choose a {self.reason_label}", id="reason",
            )  # fmt: skip
        prompt = Text(self.prompt)
        prompt.append("  Enter records · ctrl+j new line", style="dim")
        yield Label(prompt, classes="prompt")
        yield JustificationBox(id="justification")
        yield Static(id="feedback")
        yield Static(id="error")  # shown only with something to say: rows are few at 80x24

    def _fields(self) -> list[str]:
        """The fields to fill, in order: value, reason, justification."""
        order = []
        if self.ask_value is not None:
            order.append("#value")
        if self.reason_codes is not None:
            order.append("#reason")
        return [*order, "#justification"]

    def _advance(self, after: str) -> None:
        fields = self._fields()
        self.query_one(fields[min(fields.index(after) + 1, len(fields) - 1)]).focus()

    @property
    def plain(self) -> bool:
        """Only a justification is asked (approve, escalate): `renew` can ask it again."""
        return self.diff is None and self.ask_value is None and self.reason_codes is None

    def renew(self, title: Text, commit: Commit[T], *, draft: str, min_chars: int | None) -> None:
        """Ask again, for another item or decision, with the same widgets (plain only).

        Building the form anew per decision made ~4,000 objects for the collector and
        restyled a text area each time. Nothing of the last answer is kept: the box is
        emptied with its undo history (`load_text`), the error and feedback lines are
        cleared, and the rules and recent justifications are read again for this item.
        """
        assert self.plain, "only a form that asks nothing but a justification is reused"
        self._asking += 1
        self.title_text, self.commit, self.draft, self.min_chars = title, commit, draft, min_chars
        self.query_one(".dialog-title", Label).update(title)
        self.border_title = title  # inline, the title is on the border: a row saved
        self.query_one("#justification", JustificationBox).value = ""
        self.prepare()

    def prepare(self) -> None:
        """Read this ask's rules and the reviewer's recent reasons; focus the first field."""
        # Fetched once: nothing the reviewer types here changes their earlier ones.
        self.recent = self.signoff.store.recent_justifications(self.signoff.reviewer)
        # This item's rules, fixed for the form's life: not rebuilt on every keystroke.
        self.policy = self.signoff.store.policy
        if self.min_chars is not None and self.min_chars != self.policy.min_chars:
            self.policy = dataclasses.replace(self.policy, min_chars=self.min_chars)
        self.query_one(self._fields()[0]).focus()
        self._error("")
        self._show_feedback("")

    def on_select_changed(self, event: Select.Changed) -> None:
        """A choice made moves on to the next field."""
        if event.value is not Select.NULL and event.select.id:
            self._advance(f"#{event.select.id}")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Live feedback as the reviewer types."""
        if event.text_area.id == "justification":
            self._error("")
            self._show_feedback(event.text_area.text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the value box moves on."""
        event.stop()
        if event.input.id == "value":
            self._advance("#value")

    def on_justification_box_submitted(self, event: JustificationBox.Submitted) -> None:
        """Enter in the justification records."""
        event.stop()
        self.action_submit()

    def _show_feedback(self, text: str) -> None:
        verdict = evaluate(self.policy, text, draft=self.draft, recent=self.recent)
        line = Text()
        if not self.policy_feedback:
            pass  # only the counts below: the store says what it refuses
        elif verdict.ok:
            line.append("✓ ready to record", style="bold green")
        else:
            line.append(visible(verdict.message), style="yellow")
        words = "word" if verdict.words == 1 else "words"
        line.append(f"   {verdict.meaningful_chars} letters · {verdict.words} {words}", style="dim")
        self.query_one("#feedback", Static).update(line)

    def action_submit(self) -> None:
        """Record through the store; a refusal keeps the form open with the reason."""
        output = self._value()
        reason = self._reason()
        if self.ask_value is not None and not output:
            self._error("Give the new value first.")
            return
        if self.reason_codes is not None and reason is None:
            self._error(f"Choose a {self.reason_label}.")
            return
        justification = self.query_one("#justification", JustificationBox).value
        # While the database is busy this waits, and a second ctrl+s records nothing more.
        # The wait is tied to this ask: Escape before the database frees cancels it.
        asking, commit = self._asking, self.commit
        self.signoff.when_writable(
            partial(self._record, asking, commit, justification, output, reason),
            say=partial(self._said, asking),
            one_write=True,
        )

    def _said(self, asking: int, message: str) -> None:
        if asking == self._asking:
            self._error(message)

    def _record(
        self, asking: int, commit: Commit[T], justification: str, output: str | None,
        reason: str | None,
    ) -> None:  # fmt: skip
        if asking != self._asking:
            return  # cancelled while it waited for the database: nothing is recorded
        try:
            with self.signoff.store.at_once():  # busy: `when_writable` waits, tries again
                recorded = commit(justification, output, reason)
        except JustificationRefused as refused:
            # The live feedback above already says why, in the same words.
            self._show_feedback(justification)
            self._error(f"✗ Not recorded. {refused}")
            self.query_one("#justification").focus()
            return
        except DatabaseBusy:
            raise  # nothing was recorded
        except (DecisionError, ClaimError, StoreError) as error:
            self._error(str(error))
            return
        self._asking += 1  # recorded: this ask is over, a late duplicate records nothing
        self.done(recorded)

    def _value(self) -> str | None:
        if self.ask_value is None:
            return None
        widget = self.query_one("#value")
        if isinstance(widget, Select):
            return None if widget.value is Select.NULL else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value.strip() or None

    def _reason(self) -> str | None:
        if self.reason_codes is None:
            return None
        value = self.query_one("#reason", Select).value
        return None if value is Select.NULL else str(value)

    def _error(self, message: str) -> None:
        error = self.query_one("#error", Static)
        error.update(safe_text(message, style=f"bold {RED}"))
        error.display = bool(message)

    def action_cancel(self) -> None:
        """Give up; nothing is recorded (not even a write still waiting for the database)."""
        self._asking += 1
        self.done(None)
