"""An AI use card, read beside the item: what the AI is for, its limits, who answers for it."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from store.cards import CARD_FIELDS, card_hash
from tui.bindings import Remappable, bind
from tui.safe import safe_text
from tui.widgets.footer import Footer

LABELS = {
    "purpose": "Purpose", "scope": "Not for", "model": "Model", "provider": "Provider",
    "data_sources": "Data sources", "known_limits": "Known limits",
    "review_steps": "Human review", "owner": "Accountable owner",
}  # fmt: skip


def card_text(source: str, card: dict[str, Any] | None) -> Text:
    """The card as text, with its version (hash); or how to add one."""
    if card is None:
        return Text.assemble(
            ("No AI use card for ", "dim"), safe_text(source, style="bold"),
            (": add a [use_cards.SOURCE] table to the config (purpose, owner, …).", "dim"),
        )  # fmt: skip
    text = Text()
    for name in CARD_FIELDS:
        value = card.get(name)
        if not value:
            continue
        text.append(f"{LABELS[name]}\n", style="bold")
        items = value if isinstance(value, list) else [value]
        for entry in items:
            text.append("  " + ("• " if isinstance(value, list) else ""))
            text.append_text(safe_text(str(entry)))
            text.append("\n")
    text.append(f"\nversion {card_hash(card)[:12]} (stamped into every decision on it)",
                style="dim")  # fmt: skip
    return text


class CardScreen(Remappable, ModalScreen[None]):
    """Read-only; closes with the cancel key or the card key again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.cancel", "dismiss", priority=True, description="close"),
        bind("item.card", "dismiss(None)", show=False),  # its own key toggles it
    ]

    def __init__(self, source: str, card: dict[str, Any] | None) -> None:
        super().__init__()
        self.source = source
        self.card = card

    def compose(self) -> ComposeResult:
        """Title and the card."""
        with VerticalScroll(id="help"):
            title = Text("AI use card · ", style="bold").append_text(safe_text(self.source))
            yield Label(title, classes="dialog-title")
            yield Static(card_text(self.source, self.card), id="card-body")
        yield Footer()
