"""Oversight on the item screen: the commit-first form and what follows a decision.

The commit-first form asks for the reviewer's own judgement while the draft and its
confidence stay hidden; the after-decision notice says, privately, what a planted
draft was, why friction was raised, or how a second review compares with the first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from store import Event, Item
from store.review import VERDICTS
from store.values import describe_scale, score_scale
from tui.bindings import Remappable, TextForm, bind
from tui.format import RED
from tui.frame import put
from tui.safe import safe_text
from tui.widgets.footer import Footer
from tui.widgets.safe_inputs import SafeInput

if TYPE_CHECKING:
    from tui.app import SignoffApp

VERDICT_NAMES = dict(
    zip(VERDICTS, ("I expect it can go out as it is", "I expect it needs changes"), strict=True)
)
"""What the commit-first form shows for each of the store's text verdicts."""


class CommitFirst(Vertical):
    """Asks for the reviewer's own judgement before the draft is shown."""

    class Committed(Message):
        """The reviewer gave a judgement (not yet stored)."""

        def __init__(self, value: str, notes: str) -> None:
            super().__init__()
            self.value = value
            self.notes = notes

    def __init__(self, item: Item, why: tuple[str, ...]) -> None:
        super().__init__(id="commit-pane")
        self.item = item
        self.why = why
        self.border_title = "Your judgement first"

    @staticmethod
    def shape(item: Item) -> Hashable:
        """What the fields depend on: items of one shape can share a form (`renew`)."""
        labels = item.meta.get("labels")
        return (
            item.kind,
            tuple(map(str, labels)) if item.kind == "label" and isinstance(labels, list) else (),
            score_scale(item.meta) if item.kind == "score" else None,
        )

    def compose(self) -> ComposeResult:
        """Why the draft is hidden, then the fields for this kind of item."""
        yield Static(self._intro(), id="commit-intro")
        yield from self._fields()

    def renew(self, item: Item, why: tuple[str, ...]) -> None:
        """Ask again, for another item of the same `shape`, with the same widgets.

        Mounting a new form per item was ~12 ms of composing and ~15 ms of layout
        between the record key and the next commit-first item. Nothing of the last
        answer stays: fields emptied (without a Changed message: that would mark the
        new item's form as started), the error cleared, focus on the first field.
        """
        assert self.shape(item) == self.shape(self.item), "only a form of the same shape"
        self.item, self.why = item, why
        put(self.query_one("#commit-intro", Static), self._intro())
        self.empty()
        # Now, not queued (`Widget.focus`): the item's first frame has the form's keys.
        self.screen.set_focus(self.query_one("#commit-value"))

    def empty(self) -> None:
        """Empty the fields and the error line (without a Changed message).

        The item screen calls it once a judgement is stored and the form hidden, while
        the reviewer reads the draft: a choice cleared makes Textual restyle the
        `Select` (~3 ms on a slow machine), and in `renew` that was inside the wait
        between the record key and the next item. Fields already empty change nothing.
        """
        with self.prevent(Input.Changed, Select.Changed):
            for field in self.query(Input):
                field.value = ""
            for choice in self.query(Select):
                choice.clear()
        put(self.query_one("#commit-error", Static), "")

    def _intro(self) -> Text:
        reasons = {
            "policy": "the policy table asks for it at these stakes and confidence",
            "source": "this source is always reviewed this way",
            "friction": "your recent decisions came fast or alike (see the top line)",
            "advocate": "a devil's advocate argues against the draft once your judgement is in",
        }
        if self.why == ("request",):
            return Text(
                "The advocate speaks only once your own judgement is recorded: it must not do "
                "your thinking for you.\n"
            )
        intro = Text(
            "The draft and its confidence stay hidden until you say what you expect: "
            "judging first keeps a usually-right machine from judging for you.\n"
        )
        intro.append("Why: " + "; ".join(reasons.get(w, w) for w in self.why) + ".", style="dim")
        return intro

    def _fields(self) -> ComposeResult:
        labels = self.item.meta.get("labels")
        if self.item.kind == "score":
            scale = score_scale(self.item.meta)
            yield Label("Your score (the input is below; the AI's is hidden):")
            yield SafeInput(
                placeholder=f"a number from {describe_scale(scale)}" if scale else "",
                id="commit-value", compact=True,
            )  # fmt: skip
        elif self.item.kind == "label":
            yield Label("Your label:")
            if isinstance(labels, list) and labels:
                yield Select(
                    [(safe_text(str(v)), str(v)) for v in labels],
                    prompt="choose a label", id="commit-value", compact=True,
                )  # fmt: skip
            else:
                yield SafeInput(placeholder="your label", id="commit-value", compact=True)
        else:
            yield Label("Before reading the AI's answer:")
            yield Select(
                [(name, key) for key, name in VERDICT_NAMES.items()],
                prompt="what do you expect?", id="commit-value", compact=True,
            )  # fmt: skip
            yield Label("Points it must make (optional; Enter records):")
            # No example: one that fits a board memo reads as nonsense on a GDPR reply.
            yield SafeInput(id="commit-notes", compact=True)
        yield Static(id="commit-error")

    def on_mount(self) -> None:
        """Start in the first field."""
        self.query_one("#commit-value").focus()

    @on(Select.Changed, "#commit-value")
    def _chosen(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        if self.item.kind == "label":
            self._submit()
        else:
            self.query_one("#commit-notes").focus()

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def _submit(self) -> None:
        widget = self.query_one("#commit-value")
        if isinstance(widget, Select):
            value = "" if widget.value is Select.NULL else str(widget.value)
        else:
            assert isinstance(widget, Input)
            value = widget.value.strip()
        notes = ""
        if self.query("#commit-notes"):
            notes = self.query_one("#commit-notes", Input).value.strip()
        if not value:
            self.show_error("Give your own judgement first.")
            return
        self.post_message(self.Committed(value, notes))

    def show_error(self, message: str) -> None:
        """Say why the judgement was not recorded."""
        self.query_one("#commit-error", Static).update(safe_text(message, style=f"bold {RED}"))


def after_decision(event: Event) -> Text | None:
    """What the reviewer should hear about a decision's oversight, or None."""
    record = event.oversight or {}
    text = Text()
    planted = record.get("planted")
    if planted:
        caught = planted.get("caught")
        text.append("This was a planted check.\n", style="bold")
        text.append_text(safe_text(f"What was wrong: {planted.get('detail', '')}."))
        text.append("\n")
        if caught:
            text.append("You caught it: it will not go out. ", style="bold green")
        else:
            text.append("You approved it: it would have gone out wrong. ", style=f"bold {RED}")
        text.append(
            "Planted drafts are how signoff measures review; this one is never sent anywhere, "
            "and only you and your lead's statistics see the result.\n\n",
            style="dim",
        )
    raised = record.get("friction_raised")
    if raised:
        text.append("Slow down a little.\n", style="bold yellow")
        for why in raised.get("why", ()):
            text.append_text(safe_text(f"• {why}"))
            text.append("\n")
        text.append(
            f"Your next {raised.get('items', 5)} items open with your own judgement first and "
            "need a longer justification. Nothing is blocked; the ledger notes why.\n\n"
        )
    first = record.get("commit_first")
    if first and first.get("moved_toward_ai"):
        said = VERDICT_NAMES.get(str(first.get("value")), repr(first.get("value")))
        text.append_text(safe_text(
            f"You first said: {said}. You ended with the AI's answer. That can be right; "
            "it is also what over-reliance looks like, so the ledger notes it."
        ))  # fmt: skip
        text.append("\n\n")
    stage = record.get("two_person") or {}
    if stage.get("stage") == 1:
        text.append(
            f"Recorded as the first decision ({event.action}): a different reviewer must "
            "decide independently before it is final.\n",
            style="bold",
        )
    elif stage.get("stage") == 2:
        who = stage.get("first_reviewer") or "another reviewer"
        if stage.get("agreed"):
            text.append_text(safe_text(f"You and {who} agree: the decision is final."))
        else:
            text.append_text(safe_text(
                f"You and {who} disagree: the item goes to a lead (escalated).",
                style="bold yellow",
            ))  # fmt: skip
    text.rstrip()
    return text if text.plain else None


class JudgementFirst(TextForm, Remappable, ModalScreen[bool]):
    """Asked for the devil's advocate on an item without a judgement: record one first."""

    BINDINGS: ClassVar[list[BindingType]] = [bind("dialog.cancel", "cancel", priority=True)]

    def __init__(self, item: Item, record: Callable[[str, str], str | None]) -> None:
        """`record(value, notes)` stores the judgement; it returns why not, or None."""
        super().__init__()
        self.item = item
        self.record = record

    def compose(self) -> ComposeResult:
        """The judgement form, as commit-first shows it."""
        with Vertical(id="dialog"):
            yield CommitFirst(self.item, ("request",))
            yield Footer()

    def on_commit_first_committed(self, message: CommitFirst.Committed) -> None:
        """Store the judgement; on success the advocate may speak."""
        message.stop()
        problem = self.record(message.value, message.notes)
        if problem is not None:
            self.query_one(CommitFirst).show_error(problem)
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        """No judgement, no advocate."""
        self.dismiss(False)


class AfterDecision(TextForm, Remappable, ModalScreen[None]):
    """A private notice after a decision; any dismiss key goes on to the next item.

    Opaque, over nothing (`app.tcss`): a translucent modal made Textual draw the whole
    item screen again under it, blended (10-20 ms a notice). What the reviewer needs of
    the item comes with the notice: after a catch trial, the draft as it was shown.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer says "esc go on": nothing is submitted or cancelled here.
        bind("dialog.submit", "close", priority=True, show=False),
        bind("dialog.cancel", "close", priority=True, description="go on"),
    ]

    typing_hint = "Enter or {dialog.cancel} goes on to the next item."

    def __init__(
        self, body: Text, first_justification: str | None = None, draft: str | None = None
    ) -> None:
        super().__init__()
        self.body = body
        self.first_justification = first_justification
        self.draft = draft

    def compose(self) -> ComposeResult:
        """The notice, a catch trial's draft, a second review's first reasons."""
        with Vertical(id="dialog"):
            yield Static(self.body, id="after-body")
            if self.draft is not None:
                yield Label("The draft as you saw it:")
                yield Static(safe_text(self.draft, multiline=True), id="after-draft")
            if self.first_justification is not None:
                yield Label("Their justification (hidden from you until now):")
                yield Static(safe_text(self.first_justification, multiline=True))
            cancel = cast("SignoffApp", self.app).key_display("dialog.cancel")
            yield Label(Text(f"Enter or {cancel} to go on", style="dim"))
            yield Footer()

    def on_key(self, event: events.Key) -> None:
        """Enter also closes (the notice has nothing to type)."""
        if event.key == "enter":
            event.stop()
            self.dismiss(None)

    def action_close(self) -> None:
        """Close the notice."""
        self.dismiss(None)
