"""Minimal reproduction for a Textual issue: a Footer keeps its removed FooterKeys alive.

Run: `python docs/upstream/textual_footer_leak.py` (Textual 8.2.8 prints 22, then 122).

Each FooterKey is `data_bind(compact=Footer.compact)`, which adds a watcher to the
Footer's `__watchers["compact"]`. When the Footer recomposes (every change of the active
bindings: here, a modal opening and closing), the old keys are removed, but their
watchers stay: `Reactive._check_watchers` prunes closed watchers only when the watched
attribute changes, and a Footer's `compact` never does. Expected: a constant count.
"""

import asyncio
import gc

from textual.app import App, ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey


class Modal(ModalScreen[None]):
    BINDINGS = [("escape", "close", "close")]

    def compose(self) -> ComposeResult:
        yield Static("modal")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)


class Main(App[None]):
    BINDINGS = [("x", "bell", "bell")]

    def compose(self) -> ComposeResult:
        yield Static("main")
        yield Footer()


async def main() -> None:
    app = Main()
    async with app.run_test() as pilot:
        for cycle in range(1, 61):
            app.push_screen(Modal())
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            if cycle in (10, 60):
                gc.collect()
                alive = sum(isinstance(o, FooterKey) for o in gc.get_objects())
                print(f"after {cycle} cycles: {alive} FooterKey objects alive")


if __name__ == "__main__":
    asyncio.run(main())
