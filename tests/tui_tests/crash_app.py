"""`python -m tests.tui_tests.crash_app ARGS`: `signoff ARGS` with a bug planted in the app.

Opening an item raises an error whose traceback would show the draft and the
justification in its local variables, as a real bug's would.
"""

from __future__ import annotations

from tui.cli import main
from tui.screens.item import ItemScreen

real_fill = ItemScreen._fill


def broken_fill(self: ItemScreen) -> None:
    real_fill(self)
    secret_draft = self.item.draft  # a local that Textual's traceback would print
    raise RuntimeError(f"planted bug while showing {len(secret_draft)} characters")


ItemScreen._fill = broken_fill  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
