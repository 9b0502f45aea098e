"""The app's claims: open an item or the next one, wait for a busy database, give back.

A mixin of `SignoffApp`: every path by which a reviewer comes to hold an item (open,
next, after a decision, after practice) and every way one goes back (release, quit,
crash, undo) lives here, so the rules about holding items are read in one place.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING

from textual.app import App

from store import Claim, ClaimError, DatabaseBusy, Decided, Store, StoreError
from tui import heap
from tui.safe import visible

if TYPE_CHECKING:
    from store.review import Opened

WAIT_FOR_DB_S = 10.0
"""How long the app keeps trying a write while another process holds the database."""


class Claiming(App[None]):
    """Claims and the database's write lock, as the app handles them (`SignoffApp`)."""

    store: Store
    reviewer: str
    skipped: set[int]
    practice_rng: random.Random
    settles_heap: bool | None
    _waiting_for_db: bool
    _settled_item: bool
    _ahead: tuple[Claim, Opened] | None

    def _tidy(self, work: Callable[[], None], after: float) -> None:
        """Run a `tui.heap` step `after` seconds from now (not in headless tests)."""
        if self.settles_heap is None:
            self.settles_heap = not self.is_headless
        if self.settles_heap:
            self.set_timer(after, work)

    def release_all(self) -> bool:
        """Give back every claim this app holds (quit, crash); True if all went back."""
        from tui.screens.item import ItemScreen

        done = True
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            try:  # claimed with the last decision, not shown yet (a notice was up)
                self.store.abandon()
                self.release(ahead[0])
            except Exception:  # on the way out, the lease is the fallback
                done = False
        for screen in self.screen_stack:
            if isinstance(screen, ItemScreen):
                try:
                    self.store.abandon()  # whatever broke may have left a transaction open
                    self.release(screen.claim)
                except Exception:  # on the way out, the lease is the fallback
                    done = False
        return done

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

    def decided(self, decided: Decided) -> Decided:
        """A decision was recorded: keep the next claim made with it for `open_next`.

        Not an answer of nothing pending: a notice may stay up while drafts arrive, and
        a claim made then would have found them; so at the queue's end `open_next`
        asks again (one round trip more, once a queue).
        """
        self._ahead = decided.next
        return decided

    def open_next(self, *, replace: bool = False) -> None:
        """Claim the next item in priority order, or go back to the queue if none is left.

        The claim made with the last decision (`decided`), if there is one: on a team
        database it came in the decision's last round trip.
        """
        if self._ahead is not None:
            self._open_next(replace)
            return
        self.when_writable(partial(self._open_next, replace), claim=True)

    def _open_next(self, replace: bool) -> None:
        from tui.screens.item import ItemScreen

        found, self._ahead = self._ahead, None
        if found is not None and found[0].lease_expires_at <= self.store.now():
            found = None  # held behind a notice past its lease: claim afresh
        try:
            if found is None:
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
