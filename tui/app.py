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
from store import (
    Claim,
    ClaimError,
    ConnectionLost,
    DatabaseBusy,
    SourceCounts,
    Store,
    StoreError,
)
from tui import heap, paste
from tui.bindings import Remappable, TextForm, bind
from tui.config import Settings
from tui.safe import safe_text, visible
from tui.screens.queue import QueueScreen

if TYPE_CHECKING:
    from store.review import Opened
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


WAIT_FOR_DB_S = 10.0
"""How long the app keeps trying a write while another process holds the database."""
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


class SignoffApp(Remappable, App[None]):
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

    def _tidy(self, work: Callable[[], None], after: float) -> None:
        """Run a `tui.heap` step `after` seconds from now (not in headless tests)."""
        if self.settles_heap is None:
            self.settles_heap = not self.is_headless
        if self.settles_heap:
            self.set_timer(after, work)

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

    def release_all(self) -> bool:
        """Give back every claim this app holds (quit, crash); True if all went back."""
        from tui.screens.item import ItemScreen

        done = True
        for screen in self.screen_stack:
            if isinstance(screen, ItemScreen):
                try:
                    self.store.abandon()  # whatever broke may have left a transaction open
                    self.release(screen.claim)
                except Exception:  # on the way out, the lease is the fallback
                    done = False
        return done

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

    def when_writable(
        self,
        then: Callable[[], None],
        say: Callable[[str], None] | None = None,
        *,
        claim: bool = False,
        one_write: bool = False,
    ) -> None:
        """Run `then` (a write) now, or once the database is free, never freezing the screen.

        Another process writing (an import, a pull) can hold SQLite's write lock; a write
        from here would then block the app inside SQLite until it got it. Instead the
        reviewer sees "waiting for the database…" (through `say`, else a notice) while
        the app tries again every 20 ms, keys and repaints going on, for up to
        `WAIT_FOR_DB_S`; then one line says nothing was done. `claim`: `then` is
        `claim_next` (see `Store.write_lock_free`). `one_write`: `then` makes its one
        store write under `Store.at_once` and lets its `DatabaseBusy` through (nothing
        was written), instead of the app asking first whether the lock is free: that
        question was a round trip of its own on a team database.
        """
        tell = say or (lambda text: self.notify(text, severity="warning", markup=False))
        if self._waiting_for_db:
            # One write waits at a time: a second ctrl+s must not record twice, a second
            # skip must not claim a second item and leave the first one held.
            tell("Waiting for the database… that key was not taken: one write at a time.")
            return

        def done_now() -> bool:
            if not one_write:
                if not self.store.write_lock_free(claim=claim):  # SQLite: a 7 µs probe
                    return False
                then()
                return True
            try:
                then()
            except DatabaseBusy:
                return False  # nothing was written: the same write is tried again
            return True

        if done_now():
            return
        tell("Waiting for the database… another signoff process is writing to it.")
        self._waiting_for_db = True
        started = monotonic()

        def again() -> None:
            self._waiting_for_db = False  # `then` may ask for a write of its own (skip)
            if done_now():
                return
            if monotonic() - started > WAIT_FOR_DB_S:
                tell(f"The database stayed busy for {WAIT_FOR_DB_S:.0f} s: nothing was "
                     "recorded. Try again in a moment.")  # fmt: skip
                return
            self._waiting_for_db = True
            self.set_timer(0.02, again)

        self.set_timer(0.02, again)

    def open_item(self, item_id: int, *, replace: bool = False) -> None:
        """Claim an item and show it; someone else's claim is a notice, not an error."""
        self.when_writable(partial(self._open_item, item_id, replace))

    def _open_item(self, item_id: int, replace: bool) -> None:
        item = self.store.get_item(item_id)
        resolving = item.state == "escalated" and self.store.is_lead(self.reviewer)
        if item.state in ("decided", "escalated") and not resolving:
            # Nothing to claim: it opens read-only, with everything recorded on it.
            from tui.history import incident_lines
            from tui.screens.history import HistoryScreen

            events = self.store.history(item_id)
            incidents = [
                incident_lines(self.store, found)
                for found in self.store.incidents_against([e.seq for e in events])
            ]
            self.push_screen(HistoryScreen(item, events, incidents))
            return
        try:
            claim = self.store.claim_item(item_id, self.reviewer)
        except (ClaimError, StoreError) as error:
            self.notify(visible(str(error)), severity="warning", markup=False)
            return
        self._show(claim, None, replace)

    def next_after(self, source: str) -> None:
        """After a decision: the next item, or first, for a share of them, a practice item."""
        share = self.store.oversight.practice_share(source)
        if share and self.practice_rng.random() < share:
            found = self.store.practice_item(self.reviewer, self.practice_rng)
            if found is not None:
                from tui.screens.practice import PracticeScreen

                self.push_screen(PracticeScreen(found), lambda _: self.open_next(replace=True))
                return
        self.open_next(replace=True)

    def open_next(self, *, replace: bool = False) -> None:
        """Claim the next item in priority order, or go back to the queue if none is left."""
        self.when_writable(partial(self._open_next, replace), claim=True)

    def _open_next(self, replace: bool) -> None:
        from tui.screens.item import ItemScreen

        try:
            found = self.store.claim_and_open(self.reviewer, exclude=self.skipped)
        except StoreError as error:  # ClaimError too: ended as soon as it was made
            self.notify(visible(str(error)), severity="warning", markup=False)
            return
        if found is None:
            note = f" ({len(self.skipped)} skipped this session)" if self.skipped else ""
            said = self._recorded_line()
            self.notify(f"{said + ' ' if said else ''}No more pending items{note}.", markup=False)
            if replace and isinstance(self.screen, ItemScreen):
                self.pop_screen()
            return
        self._show(*found, replace)

    def _show(self, claim: Claim, opened: Opened | None, replace: bool) -> None:
        """Show a claim (`opened`: what the item screen reads of it, if read already)."""
        # Screens other than the queue load when first used: start-up imports less.
        from tui.screens.item import ItemScreen

        try:
            opened = opened or self.store.opened(claim)
        except ClaimError as error:  # ended meanwhile (a lead's release, say): not shown
            self.notify(visible(str(error)), severity="warning", markup=False)
            return
        if replace and isinstance(self.screen, ItemScreen):
            with heap.paused():
                self.screen.show(claim, opened)  # same screen, new contents: no rebuild
            self._tidy(heap.collect, heap.COLLECT_AFTER_S)
        else:
            self.push_screen(ItemScreen(claim, opened))
            if not self._settled_item:
                self._settled_item = True
                self._tidy(heap.settle, heap.SETTLE_AFTER_S)

    def _recorded_line(self) -> str | None:
        """What the item screen's line says of the decision just recorded, if anything."""
        from tui.widgets.recorded import RecordedLine

        lines = self.screen.query(RecordedLine)
        return lines.first().said if lines else None

    def forget_recorded(self) -> None:
        """An undo took the last decision back: no line may still offer to undo it."""
        from tui.widgets.recorded import RecordedLine

        for screen in self.screen_stack:
            for line in screen.query(RecordedLine):
                line.forget()

    def release(self, claim: Claim) -> None:
        """Give a claim back (nothing recorded); a busy database only delays it."""
        try:
            self.store.release(claim)
        except StoreError as error:
            self.notify(
                visible(f"{error}. The item goes back to the queue when its claim runs out."),
                severity="warning", markup=False,
            )  # fmt: skip

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
