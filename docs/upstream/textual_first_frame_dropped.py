"""Minimal reproduction for a Textual issue: a screen pushed in `on_mount` loses its first frame.

Run: `python docs/upstream/textual_first_frame_dropped.py` (Textual 8.2.8 prints
`pushed in on_mount: first refresh inside the start-up batch: True`, and `False` for
the same screen returned by `get_default_screen`).

`App._process_messages` dispatches Compose, Resize and Mount inside `batch_update()`.
A screen pushed from `on_mount` is laid out there, and its `_compositor_refresh` runs
while `_batch_count` is 1: `render_update` renders the whole screen and clears the
dirty regions, but `App._display` returns at `if self._batch_count`, so nothing is
written. The next frames are partial updates of widgets that refreshed since: the
screen appears piece by piece, the last widget a frame or two later. In a real
terminal (110x30, a queue of rows) the rows came ~60 ms after the frame that should
have carried them. Expected: a frame rendered inside a batch is not thrown away (the
dirty regions kept, or the whole screen repainted when the batch ends).
"""

import asyncio

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static


class Pushed(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("rows")


def first_refresh_in_batch(app: App[None]) -> bool:
    seen: list[int] = []
    refresh = Pushed._compositor_refresh

    def record(screen: Screen[None]) -> None:
        if screen is screen.app.screen:
            seen.append(screen.app._batch_count)
        refresh(screen)

    Pushed._compositor_refresh = record  # type: ignore[method-assign]

    async def run() -> None:
        async with app.run_test() as pilot:
            await pilot.pause()

    asyncio.run(run())
    Pushed._compositor_refresh = refresh  # type: ignore[method-assign]
    return seen[0] > 0


class PushesOnMount(App[None]):
    def on_mount(self) -> None:
        self.push_screen(Pushed())


class DefaultScreen(App[None]):
    def get_default_screen(self) -> Screen[None]:
        return Pushed()


if __name__ == "__main__":
    print(
        "pushed in on_mount: first refresh inside the start-up batch:",
        first_refresh_in_batch(PushesOnMount()),
    )
    print(
        "get_default_screen: first refresh inside the start-up batch:",
        first_refresh_in_batch(DefaultScreen()),
    )
