"""Dialogs: the justification dialog, the draft editor, the confirmation.

The justification dialog is for the decisions that ask more than a reason; approve and
escalate ask inline (`tui.screens.justify`).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.bindings import Remappable, TextForm, bind
from tui.format import RED
from tui.safe import visible
from tui.screens.justify import Commit, JustificationForm
from tui.widgets.footer import Footer
from tui.widgets.safe_text_area import SafeTextArea

if TYPE_CHECKING:
    from tui.app import SignoffApp

T = TypeVar("T")


class JustificationDialog(TextForm, Remappable, ModalScreen[T | None], Generic[T]):
    """The justification form (`tui.screens.justify`) as a modal dialog.

    For decisions that ask more than a reason (an edit's diff, an override's value, a
    reject's reason code) and for undo and incidents. It closes with what was recorded;
    Escape closes it and nothing is recorded.
    """

    def __init__(self, title: Text, commit: Commit[T], **asked: Any) -> None:
        """Set up the dialog: `asked` are `JustificationForm`'s keyword arguments."""
        super().__init__()
        self.form: JustificationForm[T] = JustificationForm(title, commit, self.dismiss, **asked)
        """The form inside."""

    def compose(self) -> ComposeResult:
        """The form and the keys that work in it."""
        with Vertical(id="dialog"):
            yield self.form
            yield Footer()

    def on_mount(self) -> None:
        """Start in the first field the reviewer must fill."""
        self.form.prepare()


class EditScreen(TextForm, Remappable, ModalScreen[str | None]):
    """Edit the draft in a text area; `dialog.submit` returns the text, Escape discards."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.submit", "save", priority=True),
        bind("dialog.cancel", "cancel", priority=True),
    ]

    def __init__(self, title: Text, draft: str) -> None:
        super().__init__()
        self.title_text = title
        # Invisible and control characters become markers here too: what the reviewer
        # sees is exactly what will be stored.
        self.text = visible(draft, multiline=True)

    def compose(self) -> ComposeResult:
        """The title and the editor."""
        with Vertical(id="editor"):
            yield Label(self.title_text, classes="dialog-title")
            yield SafeTextArea(self.text, soft_wrap=True, id="edit-area")
            yield Footer()

    def on_mount(self) -> None:
        """Focus the editor."""
        self.query_one(SafeTextArea).focus()

    def action_save(self) -> None:
        """Return the edited text."""
        self.dismiss(self.query_one(SafeTextArea).text)

    def action_cancel(self) -> None:
        """Discard the edit."""
        self.dismiss(None)


class ConfirmScreen(TextForm, Remappable, ModalScreen[bool]):
    """Asks before something that cannot be taken back; only a command key confirms.

    Neither Enter nor any letter confirms: text typed on into this dialog (because a
    stray key opened it) must never carry it out.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.submit", "confirm", priority=True),
        bind("dialog.cancel", "cancel", priority=True),
    ]
    typing_hint = "Nothing typed here confirms: see the keys in the dialog."

    def __init__(self, title: Text, body: Text, *, verb: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.verb = verb

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        return cast("SignoffApp", self.app)

    def compose(self) -> ComposeResult:
        """The question, what it does, and the two keys."""
        keys = Text()
        keys.append(self.signoff.key_display("dialog.submit"), style="bold")
        keys.append(f" {self.verb}   ·   ")
        keys.append(self.signoff.key_display("dialog.cancel"), style="bold")
        keys.append(" keep it as it is")
        with Vertical(id="dialog", classes="confirm"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.body, id="confirm-body")
            # The keys line says what they do here; a footer would repeat "submit".
            yield Label(keys, id="confirm-keys")

    def action_confirm(self) -> None:
        """Go ahead."""
        self.dismiss(True)

    def action_cancel(self) -> None:
        """Keep things as they are."""
        self.dismiss(False)


def diff_text(before: str, after: str) -> Text:
    """A unified diff of two texts, coloured, with untrusted text made visible."""
    lines = difflib.unified_diff(
        visible(before, multiline=True).splitlines(),
        visible(after, multiline=True).splitlines(),
        "draft",
        "your edit",
        lineterm="",
        n=2,
    )
    text = Text()
    for line in lines:
        style = (
            "bold" if line.startswith(("---", "+++")) else
            "green" if line.startswith("+") else
            RED if line.startswith("-") else
            "cyan" if line.startswith("@@") else ""
        )  # fmt: skip
        text.append(line + "\n", style=style)
    return text
