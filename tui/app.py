"""The review app: a queue, items with their confidence and data limits, and decisions.

Screens call the store directly (single connection, this thread); every write still
goes through `Store`, which enforces the rules whatever the UI does.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import signal
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Input

from keymaps import ACTIONS, Keymap
from store import ConnectionLost, SourceCounts, Store
from tui import heap, paste
from tui.bindings import Remappable, TextForm, bind
from tui.claiming import Claiming
from tui.config import Settings
from tui.safe import safe_text, visible
from tui.screens.queue import QueueScreen

if TYPE_CHECKING:
    from tui.screens.item import ItemScreen

DEFAULT_REASON_CODES = [
    "factual-error",
    "unsupported-claim",
    "policy",
    "tone",
    "incomplete",
    "wrong-value",
    "missing-data",
    "other",
]


HINT_EVERY_S = 4.0
"""How often the "letters go into the form" hint may repeat while someone keeps typing."""
CHECKPOINT_EVERY_S = 5.0
"""How often the WAL may be copied back, in a worker thread (not inside a keypress's commit)."""
CHECKPOINT_IDLE_S = 2.0
"""Input-free seconds a checkpoint waits for: its disk writes can hold up a commit that
lands while it runs (measured up to ~0.4 s on a cold 1M-event WAL)."""


def _takes_text(widget: object) -> bool:
    """Whether `widget` is a text field, which types a printable key before any binding."""
    # TextArea's module (its document model, themes) costs ~3 ms of the start; until a
    # form is first shown it is not imported, and no widget can be one.
    text_area = sys.modules.get("textual.widgets._text_area")
    return isinstance(widget, Input) or (
        text_area is not None and isinstance(widget, text_area.TextArea)
    )


_KEY_MARK = re.compile(r"\{([a-z]+\.[a-z_]+)\}")
"""`{item.back}` in a hint: the key the live keymap gives that binding id."""


class SignoffApp(Remappable, Claiming):
    """`SignoffApp(store, reviewer=…, keymap=…)`; the caller owns and closes the store."""

    CSS_PATH = "app.tcss"
    TITLE = "signoff"
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("app.help", "help"),
        bind("app.quit", "quit_app"),
        bind("app.stats", "stats", show=False),
        bind("app.pull", "pull", show=False),
        bind("app.escalations", "escalations", show=False),
        bind("app.incidents", "incidents", show=False),
        bind("app.progress", "progress", show=False),
        bind("app.palette", "command_palette", show=False, priority=True),
    ]

    def __init__(
        self,
        store: Store,
        *,
        reviewer: str,
        keymap: Keymap,
        now: Callable[[], dt.datetime],
        db_label: str,
        reason_codes: list[str] | None = None,
        guidelines: dict[str, Path] | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__()
        # Before the first screen composes: its footer shows the live keys at once.
        self.set_keymap(keymap.for_textual())
        paste.install()  # a torn paste end marker must not leave every later key dead
        self.store = store
        """The one store connection of this app."""
        self.reviewer = reviewer
        """Who is reviewing; stored with every event."""
        self.keymap = keymap
        self.now = now
        """The clock (frozen in snapshot tests)."""
        self.db_label = db_label
        """The database as shown in the top bar."""
        self.reason_codes = reason_codes or DEFAULT_REASON_CODES
        """Reason codes offered for override and reject."""
        self.guidelines = guidelines or {}
        self._guidelines_text: dict[str, str | None] = {}
        self.skipped: set[int] = set()
        """Items skipped this session; `next` passes over them."""
        self.settings = settings or Settings()
        """The loaded config (providers for the pull action)."""
        self._checkpoint_mark: int | None = None
        self.practice_rng = random.Random()
        """Draws which openings are practice (`[oversight] practice`); tests seed it."""
        self.last_input = 0.0
        """`time.monotonic()` of the last key or click: checkpoints wait for a pause."""
        self.crash: tuple[BaseException, Path | None] | None = None
        """The unexpected error that stopped the app, and its crash file."""
        self.released_on_crash = False
        """Whether the claims this app held were given back after that error."""
        self.lost: ConnectionLost | None = None
        """Set when the team database could not be reached again: the app stopped."""
        self.stopped_by: int | None = None
        """The signal that ended the app (SIGHUP, SIGTERM: `tui.hangup`), if one did."""
        self._unwatch: Callable[[], None] = lambda: None
        self._hinted = 0.0
        self._waiting_for_db = False
        self._settled_item = False
        self._ahead = None
        self.settles_heap: bool | None = None
        """Whether `tui.heap` steps run (None: when not headless; tests run many apps in
        one process, where freezing one app's objects would keep them all)."""

    def on_mount(self) -> None:
        """Restore the theme; checkpoint the WAL off the UI thread."""
        self._restore_theme()
        if self.store.team:
            self.store.team_connection().on_reconnect = self._reconnected
        self.store.defer_checkpoints()
        self.set_interval(CHECKPOINT_EVERY_S, self._checkpoint)
        self._tidy(heap.settle, heap.SETTLE_AFTER_S)
        from tui.hangup import CHECK_EVERY_S, watch

        self._unwatch = watch(self._stop)
        if not self.is_headless:
            self.set_interval(CHECK_EVERY_S, self._check_terminal)

    def on_unmount(self) -> None:
        """Signals take their default course again."""
        self._unwatch()

    def _check_terminal(self) -> None:
        """A terminal closed without a hang-up signal is a hang-up all the same."""
        from tui.hangup import terminal_gone

        stdin = sys.__stdin__
        if self.stopped_by is None and stdin is not None and terminal_gone(stdin.fileno()):
            self._stop(signal.SIGHUP)

    def _stop(self, number: int) -> None:
        """The terminal hung up, or signoff was told to stop: claims back, then exit."""
        if self.stopped_by is not None:
            return  # a second signal while leaving: the claims are already going back
        self.stopped_by = number
        self.release_all()
        self.exit(return_code=128 + number)

    def get_default_screen(self) -> Screen[None]:
        """The queue, as the app's first screen.

        Pushed from `on_mount` instead, it was laid out and rendered while Textual's
        start-up batch held the display back: that frame was thrown away with its dirty
        regions, and the rows came one widget refresh at a time, ~60 ms later (start to
        first row, 1k items: 0.257 → 0.222 s). Reproduction for the upstream report:
        `docs/upstream/textual_first_frame_dropped.py`.
        """
        return QueueScreen(self.store)

    async def on_event(self, event: events.Event) -> None:
        """Note input times (see checkpoints); keep typed letters from running commands."""
        if isinstance(event, events.Key | events.MouseDown):
            self.last_input = monotonic()
        if isinstance(event, events.Key) and self._kept_from_command(event):
            return
        await super().on_event(event)

    def _kept_from_command(self, event: events.Key) -> bool:
        """True when a typed character would run a command while a form is open.

        A text field types it anyway (it takes printable keys before any binding), and a
        field's own keys (space opens a Select) still work: only the screen's and the
        app's single-key commands are kept from firing, so letters meant for a form can
        never skip, undo or quit.
        """
        if not event.is_printable or _takes_text(self.focused):
            return False
        screen = self.screen
        if not (isinstance(screen, TextForm) and screen.expects_text()):
            return False
        active = screen.active_bindings.get(event.key)
        if active is None:
            if not screen.withholds(event.key):
                return False
        elif not isinstance(active.node, Screen | App):
            return False
        if monotonic() - self._hinted > HINT_EVERY_S:
            self._hinted = monotonic()
            self.notify(self.with_keys(screen.hint()), severity="warning", markup=False)
        return True

    def with_keys(self, text: str) -> str:
        """`text` with each `{binding.id}` replaced by its key in the live keymap."""
        return _KEY_MARK.sub(lambda match: self.key_display(match.group(1)), text)

    def key_display(self, binding_id: str) -> str:
        """The first key of a binding id as the footer shows it (`ctrl+s` → `^s`)."""
        keys = self.keymap.keys.get(binding_id) or ("",)
        return self.get_key_display(Binding(keys[0], ""))

    def action_help_quit(self) -> None:
        """ctrl+c: say how to quit (Textual's own hint looks for an action we do not use)."""
        self.notify(
            f"ctrl+c does not quit signoff: press {self.key_display('app.quit')} to quit "
            "(your claim is given back, nothing is recorded).",
            markup=False,
        )

    def _checkpoint(self) -> None:
        from store.db import checkpoint_wal

        if monotonic() - self.last_input < CHECKPOINT_IDLE_S:
            return  # the reviewer is busy; the next idle tick copies it back
        wal = self.store.wal_file
        if wal is None:
            return  # a team database: the server keeps its own log
        self.run_worker(
            partial(checkpoint_wal, wal),
            thread=True, group="checkpoint", exclusive=True, exit_on_error=False,
        )  # fmt: skip

    def _restore_theme(self) -> None:
        """The theme chosen in the palette last time, kept from now on as it changes."""
        from tui.state import remember_theme, remembered_theme

        saved = remembered_theme()
        if saved is not None and saved in self.available_themes:
            self.theme = saved
        self.theme_changed_signal.subscribe(self, lambda theme: remember_theme(theme.name))

    def _reconnected(self, seconds: float) -> None:
        self.notify(
            f"The connection to the team database broke and was made again ({seconds:.1f} s). "
            "Nothing was recorded twice; if a step did not finish, you are told and can "
            "repeat it.",
            severity="warning", markup=False,
        )  # fmt: skip

    def _handle_exception(self, error: Exception) -> None:
        # Textual's own handler prints a traceback with local variables (drafts,
        # justifications, secrets) when the app exits. Keep its exit logic (return code
        # 1, Pilot re-raises in tests), but put the details in a private crash file and
        # give the claims back first, so no item stays held for a whole lease.
        from tui.crash import write_crash_file

        if isinstance(error, ConnectionLost):
            # The team database stayed away: the user's situation, not a bug. No crash
            # file; claims cannot go back now, their leases return them.
            self.lost = error
        elif self.crash is None:
            self.crash = (error, write_crash_file(error, "the review app"))
            self.released_on_crash = self.release_all()
        super()._handle_exception(error)
        self._exit_renderables.clear()

    # --- what screens share -------------------------------------------------------

    def topbar(self, counts: list[SourceCounts] | None = None) -> Text:
        """`signoff · dana · 38 open (1 claimed) · 2 decided · db` for every screen's top line.

        `counts`: the queue's counts if the caller has just read them, else read here.
        """
        counts = self.store.counts() if counts is None else counts
        pending = sum(c.pending for c in counts)
        claimed = sum(c.claimed for c in counts)
        decided = sum(c.decided for c in counts)
        escalated = sum(c.escalated for c in counts)
        bar = Text("signoff", style="bold")
        bar.append("  reviewer ", style="dim")
        bar.append_text(safe_text(self.reviewer, style="bold"))
        bar.append(f"  {pending + claimed:,} open", style="bold")
        bar.append(f" ({claimed:,} claimed)  {decided:,} decided  {escalated:,} escalated  ")
        bar.append_text(safe_text(self.db_label, style="dim"))
        return bar

    def sources(self) -> list[str]:
        """Sources with items, for the filter dialog."""
        return self.store.sources()

    def guidelines_for(self, source: str) -> str | None:
        """The source's guidelines (Markdown) if configured; read once per session."""
        if source not in self._guidelines_text:
            self._guidelines_text[source] = self._read_guidelines(source)
        return self._guidelines_text[source]

    def _read_guidelines(self, source: str) -> str | None:
        path = self.guidelines.get(source)
        if path is None:
            return None
        try:
            return visible(path.read_text(encoding="utf-8"), multiline=True)
        except OSError as error:
            return f"*Guidelines file {visible(str(path))} could not be read: {error.strerror}*"

    def undo(self, current: ItemScreen | None = None) -> None:
        """Retract the reviewer's last decision: name it, confirm, then ask why."""
        from tui.undo import undo

        undo(self, current)

    def clock_time(self, when: dt.datetime) -> str:
        """A ledger time as the reviewer reads it: local `14:02`, or `3 Mar 14:02` if not today."""
        local, today = when.astimezone(), self.now().astimezone().date()
        return local.strftime("%H:%M" if local.date() == today else "%-d %b %H:%M")

    # --- app-wide actions ----------------------------------------------------------

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_stats(self) -> None:
        """Show decision statistics and calibration."""
        from tui.screens.stats import StatsScreen

        if not isinstance(self.screen, StatsScreen):
            self.push_screen(StatsScreen(self.store))

    def action_escalations(self) -> None:
        """The escalations, oldest first; a lead opens one to resolve it."""
        from tui.screens.escalations import EscalationsScreen

        if not isinstance(self.screen, EscalationsScreen):
            self.push_screen(EscalationsScreen())

    def checkpoint_due(self, seq: int) -> None:
        """After a decision: sign the checkpoints due (`[checkpoints]`), off the UI thread.

        The session's first decision catches up on any missed; after that, each one that
        crosses a multiple of `every`.
        """
        plan = self.settings.checkpoints
        mark, self._checkpoint_mark = self._checkpoint_mark, seq
        if plan is None or (mark is not None and seq // plan.every == mark // plan.every):
            return
        from tui.autocheckpoint import sign_due_in

        def sign() -> None:
            said = sign_due_in(self.store.url or self.store.path, plan)
            if said:
                self.call_from_thread(self.notify, visible(said), markup=False)

        self.run_worker(sign, thread=True, group="checkpoints", exclusive=True)

    def action_incidents(self) -> None:
        """The incident and complaint register; a lead resolves open ones."""
        from tui.screens.incidents import IncidentsScreen

        if not isinstance(self.screen, IncidentsScreen):
            self.push_screen(IncidentsScreen())

    def action_progress(self) -> None:
        """Per reviewer and per source: done, assigned, waiting."""
        from tui.screens.progress import ProgressScreen

        if not isinstance(self.screen, ProgressScreen):
            self.push_screen(ProgressScreen(self.store))

    def action_pull(self) -> None:
        """Pull from every configured provider in the background; reviewing goes on."""
        if not self.settings.providers:
            self.notify("No providers configured: add [providers.NAME] to your config.",
                        severity="warning", markup=False)  # fmt: skip
            return
        self.notify("Pulling new drafts…", markup=False)
        from tui.app_pull import pull_all

        self.run_worker(pull_all(self), group="pull", exclusive=True)

    def action_quit_app(self) -> None:
        """Release any claim, then quit."""
        self.release_all()
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette lists every action of the screen with its current key."""
        from tui.screens.help import live_keys

        keys = live_keys(screen)
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.id in keys and binding.id != "app.palette":
                shown = ", ".join(keys.pop(binding.id))
                yield SystemCommand(
                    ACTIONS[binding.id],
                    # The palette parses help as markup; whatever a key shows as stays text.
                    escape(f"{shown}  ·  {binding.id}"),
                    partial(self.call_later, self.run_action, binding.action, active.node),
                )
        yield from super().get_system_commands(screen)
