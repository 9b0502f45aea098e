"""A decision and the reviewer's next claim together: one wait fewer on a team database.

After a decision the app claims the reviewer's next item. On a team database each step
is a round trip on the network: the decision two (its reads under the lock, then its
writes with the commit), the claim one more. `decide_and_claim` sends the claim, as
a write of its own, right behind the decision's commit in the same round trip
(`PgConnection.commit_then`), with what the item screen reads of the claimed item:
a reviewer whose database is 10 ms away waits one round trip less between items.

The claim runs after the decision has committed, so it sees it as any later claim
would: the two-person rule, the reviewer's pace (friction), the queue's counts. If
the decision fails, PostgreSQL skips the claim with it: nothing is claimed. If the
claim fails once the decision has committed, the decision stands and no claim is
reported (`Decided.claimed` False): the caller claims as it would have. On SQLite a
claim is no network wait, and the caller claims after the decision as before, where
a busy database is waited for on its own (`SignoffApp.when_writable`), never mixed up
with the decision's outcome.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.errors import StoreError
from store.ledger import LedgerMixin
from store.pg import PgConnection
from store.queue import COUNTS, ClaimMade, skipped

if TYPE_CHECKING:
    from store.db import Connection
    from store.models import Action, Claim, Event, Shown
    from store.review import Opened


@dataclass(frozen=True, slots=True)
class Decided:
    """A decision (`LedgerMixin.decide`), and the next claim if it was made with it."""

    event: Event
    """The decision, recorded."""
    claimed: bool = False
    """Whether the reviewer's next claim was made with the decision (a team database,
    in its commit's round trip). False: claim as usual (`claim_and_open`)."""
    next: tuple[Claim, Opened] | None = None
    """That claim and what the item screen reads of it; None: nothing was pending."""


class AheadMixin(LedgerMixin):
    """`decide_and_claim`; mixed into `store.Store`."""

    def decide_and_claim(
        self,
        claim: Claim,
        action: Action,
        justification: str,
        *,
        exclude: Collection[int] = (),
        output: str | None = None,
        reason_code: str | None = None,
        shown: Shown | None = None,
        advocate: Mapping[str, str] | None = None,
    ) -> Decided:
        """`decide`, and on a team database the reviewer's next claim in its last trip.

        `exclude`: as `claim_and_open`'s (the items this reviewer skipped). Raises as
        `decide` does, and only for the decision: a claim that could not be made is
        `claimed` False, never an error.
        """
        reviewer, skip = claim.reviewer, skipped(exclude)
        made: list[ClaimMade] = []

        def then(conn: Connection) -> None:
            assert isinstance(conn, PgConnection)
            statement, read = self._claim_statement(reviewer, skip, expired_ok=False)
            reads = self._claim_reads(conn, reviewer, None, COUNTS)
            cursors = conn.commit_then([statement, *reads])
            if cursors is not None:
                made.append(read(cursors[0], cursors[1:]))

        def attempt() -> Event:
            made.clear()  # a second attempt after a broken line: only its own claim
            return self._decide(
                claim, action, justification, output=output, reason_code=reason_code,
                shown=shown, advocate=advocate,
                then=then if isinstance(self.conn, PgConnection) else None,
            )  # fmt: skip

        event = self._once(attempt, "claim_id", claim.id)
        outcome = made[0] if made else None
        if outcome is None:  # not sent, failed, or a lease had run out: claim as usual
            return Decided(event)
        found, sent = outcome
        if found is None:
            return Decided(event, claimed=True)
        try:
            return Decided(event, True, (found, self._opened(found, sent)))
        except StoreError:  # the decision is recorded whatever befell its claim
            with suppress(StoreError):
                self.release(found)
            return Decided(event)
