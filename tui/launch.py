"""`signoff`, the console script: opening the app without Typer, every other command with it.

The bare `signoff` (or `signoff review`, with only the options every command shares) is
what a reviewer types every morning. Typer, as installed, builds the whole command tree
and validates each option through pydantic before a command runs: ~70 ms of a ~350 ms
start to the first row. Those command lines are read here instead, by the rule below,
and anything else — help, a version, another command, an unknown or odd option — goes
to the full Typer CLI (`tui.cli`), which gives the same result and its own error lines.
A test holds the two readings equal on a table of command lines.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.config import Settings

GLOBAL_OPTIONS = ("db", "config", "reviewer", "keymap")
"""Options `signoff` takes before a command as well as after it (all take one value)."""

SWITCH_INTERVAL_S = 0.0005
"""How long the app's busy main thread may keep the GIL from its terminal writer (and its
input reader). Textual writes each frame from a thread of its own; at Python's default
(5 ms) that thread waited for the GIL two or three times per frame while the main thread
went on with the work after it (focus, footer): ~13 ms at the median from a frame made to
its bytes written, ~5 ms at this setting (pty, 20k items). Record key to the next item on
screen, 4 alternated pairs of 140 decisions against the code without it: median 42.0 ->
36.0 ms pooled (lower in each pair), p90 59.6 -> 53.5, p99 69.0 -> 67.4."""


def quick_review(argv: Sequence[str]) -> dict[str, str] | None:
    """The options of an app-opening command line, or None to leave it to Typer.

    Taken: `[OPTION VALUE]... [review [OPTION VALUE]...]`, each option one of
    `GLOBAL_OPTIONS` as `--name value` or `--name=value`, each value non-empty and not
    starting with "-" (Click's reading of those is left to Click). As in the Typer CLI,
    an option given after `review` wins over the same one given before it, and the last
    of a repeated option wins.
    """
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    given = before
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word == "review" and given is before:
            given = after
            continue
        name, equals, value = word.partition("=")
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        if not name.startswith("--") or name[2:] not in GLOBAL_OPTIONS:
            return None
        if not value or value.startswith("-"):
            return None
        given[name[2:]] = value
    return before | after


def run_app(
    db: Path | str | None, settings: Settings, reviewer: str | None, keymap_name: str | None
) -> None:
    """Open the store, then the Textual app (imported only now: other commands start fast).

    `reviewer` is `--reviewer` as given: in team mode the database login decides.
    """
    from keymaps import KeymapError, load_keymap
    from store.clock import utc_now
    from tui.app import SignoffApp
    from tui.cli_common import EXIT_CRASH, UsageError, fail, identity_for, open_store

    origin = str(settings.path) if settings.path else "config"
    try:
        active = load_keymap(keymap_name or settings.keymap, settings.keys, origin=origin)
    except KeymapError as error:
        raise UsageError(str(error)) from None
    with open_store(db, settings) as store:
        app = SignoffApp(
            store,
            reviewer=identity_for(store, reviewer, settings),
            keymap=active,
            now=utc_now,
            db_label=store.where,
            reason_codes=settings.reason_codes,
            guidelines=settings.guidelines,
            settings=settings,
        )
        previous = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            app.run()
        finally:
            sys.setswitchinterval(previous)
    if app.stopped_by is not None:
        # Said on stderr, which may be gone with the terminal: then only the code tells.
        import signal

        name = signal.Signals(app.stopped_by).name
        with contextlib.suppress(OSError):
            fail(f"stopped ({name}); your claims went back to the queue", app.return_code or 1)
        sys.exit(app.return_code or 1)
    if app.lost is not None:
        fail(f"{app.lost}; your claims return to the queue when their leases end")
    if app.crash is not None:
        from tui.crash import crash_line

        crashed, crash_file = app.crash
        fail(crash_line(crashed, crash_file, released=app.released_on_crash), EXIT_CRASH)


def guarded(command: Callable[[], object]) -> None:
    """Run `command`: user mistakes become one line, never a traceback."""
    from store import SchemaError, StoreError
    from tui.cli_common import EXIT_CRASH, UsageError, err
    from tui.config import ConfigError
    from tui.safe import safe_text, visible

    try:
        command()
    except UsageError as error:
        err.print(safe_text(f"signoff: {error}"), style="red")
        sys.exit(2)
    except ConfigError as error:
        err.print(safe_text(f"signoff: config: {error}"), style="red")
        sys.exit(2)
    except (SchemaError, StoreError) as error:
        err.print(safe_text(f"signoff: {error}"), style="red")
        sys.exit(1)
    except BrokenPipeError:
        # `signoff status --json | head` closes the pipe early; that is not an error.
        sys.stderr.close()
        sys.exit(0)
    except PermissionError as error:
        err.print(
            safe_text(f"signoff: {visible(str(error.filename))}: permission denied"), style="red"
        )
        sys.exit(1)
    except Exception as error:  # the last line of defence: no traceback
        from tui.crash import crash_line, write_crash_file

        path = write_crash_file(error, "signoff " + " ".join(sys.argv[1:2]))
        err.print(safe_text("signoff: " + crash_line(error, path, released=False)), style="red")
        sys.exit(EXIT_CRASH)


def main() -> None:
    """Console-script entry point."""
    try:
        given = quick_review(sys.argv[1:])
        if given is None:
            from tui import cli

            cli.main()
            return
        guarded(lambda: _review(given))
    except KeyboardInterrupt:
        # Ctrl+C while the modules load (or wherever no handler took it): quietly, as
        # a shell expects (130), not a traceback of whichever import it interrupted.
        sys.exit(130)


def _review(given: dict[str, str]) -> None:
    from tui.cli_common import settings_for

    config = given.get("config")
    settings = settings_for(Path(config) if config else None)
    run_app(given.get("db"), settings, given.get("reviewer"), given.get("keymap"))
