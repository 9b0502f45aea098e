"""Minimal reproduction for a Textual issue: cleared notifications leave their holders.

Run: `python docs/upstream/textual_toast_holders.py` (Textual 8.2.8 prints 0, then 20;
expected 0, then at most 1).

`ToastRack.show` removes a stale `Toast` but not the `ToastHolder` it was mounted in
(a toast that times out removes its holder; see `Toast._expire`). So each notification
taken away before it times out — by `App.clear_notifications()`, or `App._unnotify` —
leaves an empty holder in the rack for the life of the screen. signoff met it when it
replaced its "Recorded …" notice after each decision: +0.1 MB per decision and slower
frames (and went back to plain `notify`).
"""

import asyncio

from textual.app import App
from textual.widgets import Static
from textual.widgets._toast import ToastHolder


async def main() -> None:
    app = App[None]()
    app.compose = lambda: iter([Static("x")])  # type: ignore[method-assign]
    async with app.run_test(notifications=True) as pilot:
        print(len(app.screen.query(ToastHolder)))
        for n in range(20):
            app.notify(f"notice {n}")
            await pilot.pause()
            app.clear_notifications()
            await pilot.pause()
        print(len(app.screen.query(ToastHolder)))


asyncio.run(main())
