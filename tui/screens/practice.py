"""AI-off practice: a colleague's decided item, input only; the reviewer answers unaided.

No draft, no confidence, nothing recorded in the ledger. After the answer the reviewer
sees, privately, how it compared with the standing decision (or a settled catch trial's
known answer); the team's monthly trend is in the statistics (`store.practice`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from store import Item, StoreError
from store.values import describe_scale, labels_of, score_scale
from tui.bindings import Remappable, TextForm, bind
from tui.format import RED
from tui.safe import safe_text
from tui.widgets.footer import Footer
from tui.widgets.safe_inputs import SafeInput

if TYPE_CHECKING:
    from tui.app import SignoffApp


class PracticeScreen(TextForm, Remappable, ModalScreen[None]):
    """Answer, see how it compared, go on; Escape before answering skips it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.submit", "submit", priority=True),
        bind("dialog.cancel", "cancel", priority=True),
    ]

    def __init__(self, item: Item) -> None:
        super().__init__()
        self.item = item
        self.answered = False

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        return cast("SignoffApp", self.app)

    def compose(self) -> ComposeResult:
        """What it is, the input the AI saw, the answer field, the outcome."""
        item = self.item
        title = Text("Practice, without the AI: ", style="bold")
        title.append_text(safe_text(f"{item.external_id}  {item.title}", style="bold"))
        with Vertical(id="dialog"):
            yield Label(title, classes="dialog-title")
            yield Static(Text(
                "A colleague already decided this one. No draft, no confidence: what is your "
                "own answer? Practice records no decision and changes nothing; only you see "
                "how you did.", style="dim"), id="practice-about")  # fmt: skip
            with VerticalScroll(id="practice-input") as shown:
                shown.border_title = "Input the AI saw"
                yield Static(safe_text(item.input or "(no input recorded)", multiline=True))
            choices = labels_of(item)
            if choices:
                yield Select([(safe_text(c), c) for c in choices], prompt="your label",
                             id="answer")  # fmt: skip
            else:
                scale = score_scale(item.meta)
                hint = f"your score ({describe_scale(scale)})" if scale else "your score"
                yield SafeInput(placeholder=hint, id="answer")
            yield Static(id="outcome")
            yield Footer()

    def on_mount(self) -> None:
        """Start in the answer field."""
        self.query_one("#answer").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the score field answers."""
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        """Record the answer and show how it compared; after that, go on."""
        if self.answered:
            self.dismiss(None)
            return
        field = self.query_one("#answer")
        value = (
            ("" if field.value is Select.NULL else str(field.value)) if isinstance(field, Select)
            else cast(Input, field).value
        )  # fmt: skip
        outcome = self.query_one("#outcome", Static)
        try:
            result = self.signoff.store.answer_practice(self.signoff.reviewer, self.item.id, value)
        except StoreError as error:
            outcome.update(safe_text(str(error), style=f"bold {RED}"))
            return
        self.answered = True
        field.disabled = True
        said = Text("✓ Right. " if result.correct else "✗ Not this time. ", style="bold")
        said.append_text(safe_text(f"Yours: {result.answer}; compared with: {result.reference}."))
        keys = self.signoff.with_keys("{dialog.submit} or {dialog.cancel}")
        said.append(f"\n{keys} goes on to your next item.", style="dim")
        outcome.update(said)

    def action_cancel(self) -> None:
        """Skip (before answering, nothing is recorded) or go on (after)."""
        self.dismiss(None)
