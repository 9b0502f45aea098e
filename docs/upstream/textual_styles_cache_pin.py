"""Minimal reproduction for a Textual issue: removed widgets' StylesCaches stay alive.

Run: `python docs/upstream/textual_styles_cache_pin.py` (Textual 8.2.8 prints about
200 after 200 widgets were mounted and removed; 0 after `cache_clear()`).

`StylesCache.get_inner_outer` is an instance method decorated `@lru_cache(1024)` (its
first parameter is named `cls`, but it is not a classmethod), so every call's key holds
the `StylesCache` itself. Each widget has one, and each keeps the strips it last
rendered: after a widget is removed, its cache and lines live on until 1,024 newer keys
push them out. Expected: nothing of a removed widget kept by a module-level cache
(a `staticmethod`/`classmethod` cache keyed on the two colours would do).
"""

import asyncio
import gc

from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.widgets import Static


class Main(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("main")


def alive() -> int:
    gc.collect()
    return sum(isinstance(o, StylesCache) for o in gc.get_objects())


async def main() -> None:
    app = Main()
    async with app.run_test() as pilot:
        before = alive()
        for n in range(200):
            widget = Static(f"line {n}")
            await app.mount(widget)
            await pilot.pause()  # rendered once
            await widget.remove()
        print("StylesCaches kept after their widgets went:", alive() - before)
        StylesCache.get_inner_outer.cache_clear()
        print("after get_inner_outer.cache_clear():", alive() - before)


if __name__ == "__main__":
    asyncio.run(main())
