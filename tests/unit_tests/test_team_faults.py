"""Team mode when the line breaks: reconnect, say so, never record a decision twice.

A dropped connection is made real: the server ends the reviewer's session
(`pg_terminate_backend`), as a restart or a network cut does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from store import ClaimError, Store, StoreError
from store.errors import ConnectionLost
from store.pg import PgConnection
from tests.conftest import FakeClock, make_draft

pytestmark = pytest.mark.postgres
WHY = "Checked the refund amount against the order history"


def cut(server: str, store: Store) -> None:
    """End the store's session from the server side."""
    pid = store.team_connection().pid()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_dropped_connection_is_replaced_and_the_decision_sent_again(
    pg_server: str, pg_url: str, clock: FakeClock
) -> None:
    with Store(pg_url, now=clock) as store:
        store.ingest([make_draft("T-1"), make_draft("T-2")])
        claim = store.claim_next("alice")
        assert claim is not None
        cut(pg_server, store)
        event = store.decide(claim, "approve", WHY)  # reconnected, not recorded: sent again
        assert (event.seq, store.verify_chain().events) == (1, 1)
        took: list[float] = []
        store.team_connection().on_reconnect = took.append
        cut(pg_server, store)
        assert store.claim_next("alice") is not None  # a statement of its own: run again
        assert len(took) == 1  # and the app is told it reconnected (and how long it took)
        claim = store.claim_next("alice")
        assert claim is None  # nothing else pending: two items, both taken


def test_a_claim_sent_whole_on_a_dropped_line_is_made_once_with_its_reads(
    pg_server: str, pg_url: str, clock: FakeClock
) -> None:
    """The claim, its reads and its commit are one message: sent again, all of it.

    The line is cut before it is sent (a server restart while the reviewer read): the
    message goes again on the new connection, the reads still name the claim made in
    it (`JUST_CLAIMED`), and one claim is held, not two.
    """
    with Store(pg_url, now=clock) as store:
        store.ingest([make_draft("T-1"), make_draft("T-2")])
        cut(pg_server, store)
        found = store.claim_and_open("alice")
        assert found is not None
        claim, opened = found
        assert opened == store.opened(claim)
        assert opened.item.id == claim.item_id
        open_claims = "SELECT count(*) FROM claims WHERE ended_at IS NULL"
        (held,) = store.conn.execute(open_claims).fetchone()
        assert held == 1


def test_a_database_that_stays_away_is_one_line_and_records_nothing(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(pg_url, now=clock) as store:
        store.ingest([make_draft("T-1")])
        claim = store.claim_next("alice")
        assert claim is not None
        store.team_connection().raw.close()  # the line is gone ...
        monkeypatch.setattr("store.pg.RECONNECT_S", 0.2)
        monkeypatch.setattr("store.pg.raw_connection", refuse)  # ... and stays gone
        with pytest.raises(ConnectionLost, match="could not reconnect"):
            store.decide(claim, "approve", WHY)


def refuse(url: str) -> Any:
    """A server that does not answer."""
    from store import StoreError

    raise StoreError(f"{url}: cannot connect (connection refused)")


def test_a_decision_committed_as_the_line_broke_is_returned_not_recorded_again(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = PgConnection.write

    @contextmanager
    def commits_then_breaks(self: PgConnection, **kwargs: Any) -> Iterator[PgConnection]:
        with real(self, **kwargs) as conn:
            yield conn
        if kwargs.get("durable", True):  # the decision's transaction, not the claim's
            raise ConnectionLost("the connection broke after COMMIT was sent")

    with Store(pg_url, now=clock) as store:
        store.ingest([make_draft("T-1")])
        claim = store.claim_next("alice")
        assert claim is not None
        monkeypatch.setattr(PgConnection, "write", commits_then_breaks)
        event = store.decide(claim, "approve", WHY)  # the answer was lost; the store asks
        monkeypatch.undo()
        assert event.claim_id == claim.id
        assert store.verify_chain().events == 1
        with pytest.raises(ClaimError):  # pressing ctrl+s again cannot record it twice
            store.decide(claim, "approve", WHY)
        assert store.verify_chain().events == 1


def test_a_write_sent_later_and_refused_undoes_the_whole_write(pg_url: str) -> None:
    """A deferred statement's error comes with the next statement or the commit.

    The store's rules still hold: the schema's refusal is one line, and nothing of the
    write stays, even what was sent and accepted before it.
    """
    with Store(pg_url) as store:
        store.ingest([make_draft("T-1")])
        conn = store.team_connection()

        def refused(then: str) -> None:
            with conn.write() as writing:
                writing.execute("UPDATE items SET title = 'renamed' WHERE external_id = 'T-1'")
                writing.defer("TRUNCATE ledger CASCADE")
                if then == "statement":
                    writing.execute("SELECT 1")
                    pytest.fail("the refusal came with the next statement")

        for then in ("commit", "statement"):
            with pytest.raises(StoreError, match=r"^ledger is append-only: TRUNCATE refused$"):
                refused(then)
            assert not conn.in_transaction
            assert store.get_item(1).title != "renamed"


def news(store: Store, seen: int) -> bool:
    """Whether the store hears of another commit within a second (the app polls at 0.5 s)."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if store.data_version() > seen:
            return True
        time.sleep(0.01)
    return False


def test_the_live_queue_survives_a_dropped_listener(pg_server: str, pg_url: str) -> None:
    with Store(pg_url) as store, Store(pg_url) as lead:
        seen = store.data_version()
        lead.ingest([make_draft("T-1")])
        assert news(store, seen)  # a lead's import
        seen = store.data_version()
        store.ingest([make_draft("T-2")])
        assert not news(store, seen)  # our own commit is not news
        assert store._listener is not None
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)",
                          (store._listener._raw.info.backend_pid,))  # fmt: skip
        assert news(store, seen)  # replaced; whatever it missed: reload once
        seen = store.data_version()
        lead.ingest([make_draft("T-3")])
        assert news(store, seen)
