"""The help screen: every action on the current screen with its live key(s)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from keymaps import ACTIONS
from tui.bindings import Remappable, bind
from tui.widgets.footer import Footer


def live_keys(screen: Screen[Any]) -> dict[str, list[str]]:
    """Binding id → keys as displayed, read from the screen's active bindings."""
    found: dict[str, list[str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.id in ACTIONS:
            display = screen.app.get_key_display(binding)
            keys = found.setdefault(binding.id, [])
            if display not in keys:
                keys.append(display)
    return found


class HelpScreen(Remappable, ModalScreen[None]):
    """Generated from the bindings in force, so it can never disagree with the keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("dialog.cancel", "dismiss", priority=True, description="close"),
        bind("app.help", "dismiss(None)", show=False),  # its own key toggles it
    ]

    def __init__(self, target: Screen[Any]) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        """A table of scope, key and action."""
        keys = live_keys(self.target)
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("key", no_wrap=True, style="bold cyan")
        table.add_column("action")
        table.add_column("id", style="dim", no_wrap=True)
        for binding_id, description in ACTIONS.items():
            if binding_id in keys:
                table.add_row(", ".join(keys[binding_id]), description, binding_id)
        with VerticalScroll(id="help"):
            yield Label(Text("Keys on this screen", style="bold"), classes="dialog-title")
            yield Static(table)
            yield Static(
                Text(
                    'Change keys in config.toml ([keys] or keymap = "vim"); '
                    "`signoff keys` lists them all.",
                    style="dim",
                )
            )
        yield Footer()
