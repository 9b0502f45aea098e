"""The keyset-paged queue view: review order, filters, and index use at any depth."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from store import Store
from store.pg import PgConnection
from store.views import PageRequest, QueueFilter, page
from tests.conftest import T0, FakeClock, make_draft, query_plans


def _fill(store: Store, n: int) -> None:
    stakes = ("low", "medium", "high")
    store.ingest(
        [
            make_draft(
                f"T-{i:04d}",
                stakes=stakes[i % 3],
                created_at=T0 + dt.timedelta(minutes=i),
                confidence=None if i % 7 == 0 else (i % 10) / 10,
                confidence_basis="none" if i % 7 == 0 else "logprobs",
                source="support" if i % 2 else "leads",
                title=f"Ticket {i} about {'refunds' if i % 5 == 0 else 'logins'}",
            )
            for i in range(n)
        ]
    )


def _walk(store: Store, where: QueueFilter, size: int) -> list[str]:
    seen: list[str] = []
    rows = page(store.conn, where, PageRequest(limit=size))
    while rows:
        seen += [r.external_id for r in rows]
        rows = page(store.conn, where, PageRequest(after=rows[-1].key, limit=size))
    return seen


def _claim_some_between(store: Store) -> None:
    """Claims at the head of the high level, items sorting among them, and one decided.

    The open queue is then pending and claimed items interleaved, less the decided one
    (the new items' times fall between the claimed ones', on every level).
    """
    claims = [c for n in range(12) if (c := store.claim_next(f"r{n % 3}")) is not None]
    store.decide(claims[0], "approve", "Checked the refund amount in the billing system")
    store.ingest(
        [
            make_draft(
                f"U-{i:04d}",
                stakes=("low", "medium", "high")[i % 3],
                created_at=T0 + dt.timedelta(minutes=i, seconds=30),
            )
            for i in range(0, 60, 2)
        ]
    )


def _open_in_review_order(store: Store) -> list[str]:
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT external_id FROM items WHERE state IN ('pending', 'claimed') "
            "ORDER BY stakes_rank DESC, created_at, id"
        )
    ]


def test_paging_forward_visits_every_row_once_in_review_order(store: Store) -> None:
    _fill(store, 300)
    _claim_some_between(store)
    expected = _open_in_review_order(store)
    assert len(expected) == 329
    assert _walk(store, QueueFilter(), 7) == expected


def test_paging_backward_mirrors_forward(store: Store) -> None:
    _fill(store, 120)
    _claim_some_between(store)
    forward = page(store.conn, QueueFilter(), PageRequest(limit=200))
    assert [r.external_id for r in forward] == _open_in_review_order(store)
    for middle in (7, 60, 100):
        back = page(store.conn, QueueFilter(), PageRequest(before=forward[middle].key, limit=25))
        assert [r.id for r in back] == [r.id for r in forward[max(0, middle - 25) : middle]]
    assert page(store.conn, QueueFilter(), PageRequest(before=forward[0].key, limit=5)) == []
    assert page(store.conn, QueueFilter(), PageRequest(from_end=True, limit=9)) == forward[-9:]


def test_filters_narrow_the_list(store: Store) -> None:
    _fill(store, 200)
    rows = _walk(store, QueueFilter(source="leads", stakes="high", search="REFUNDS"), 9)
    expected = [f"T-{i:04d}" for i in range(200) if i % 2 == 0 and i % 3 == 2 and i % 5 == 0]
    assert rows == expected
    unknown = _walk(store, QueueFilter(band="unknown"), 50)
    assert len(unknown) == len([i for i in range(200) if i % 7 == 0])


def test_status_filters(store: Store) -> None:
    _fill(store, 10)
    claim = store.claim_next("alice")
    assert claim is not None
    store.decide(claim, "approve", "Checked the refund amount in the billing system")
    claimed = store.claim_next("bob")
    assert claimed is not None
    open_rows = page(store.conn, QueueFilter(), PageRequest(limit=50))
    assert len(open_rows) == 9
    assert [r.claimed_by for r in open_rows if r.state == "claimed"] == ["bob"]
    assert len(page(store.conn, QueueFilter(status="decided"), PageRequest(limit=50))) == 1
    assert len(page(store.conn, QueueFilter(status="pending"), PageRequest(limit=50))) == 8


def test_a_deep_page_is_an_index_range_not_a_scan(sqlite_store: Store) -> None:
    store = sqlite_store  # SQLite's own machinery (query plans, WAL, fsync)
    _fill(store, 300)
    for status in ("open", "pending"):
        where = QueueFilter(status=status)
        middle = page(store.conn, where, PageRequest(limit=150))[-1]
        plans = query_plans(
            store.conn,
            lambda w=where, m=middle: page(store.conn, w, PageRequest(after=m.key)),
            "FROM items",
        )
        assert plans
        for plan in plans:
            # Open items are pending and claimed ones, two ranges of the claim's index
            # merged in order (no index of open items of their own: m022). What is sorted
            # is only each range's page (`SCAN s0`, a leg with its LIMIT), never items.
            seeks = plan.count("INDEX items_next (state=? AND stakes_rank=?")
            assert seeks == (2 if status == "open" else 1), plan
            assert ("MERGE (UNION ALL)" in plan) == (status == "open"), plan
            sorted_ = re.findall(r"SCAN (\S+) USE TEMP B-TREE", plan)
            assert plan.count("TEMP B-TREE") == len(sorted_), plan
            assert set(sorted_) <= {"s0", "s1"}, plan
        # The anchor's own level is a range seek, not a walk from the top.
        assert any("created_at>?" in plan for plan in plans), plans


@pytest.mark.postgres
def test_an_open_page_on_postgresql_reads_at_most_a_page_of_each_state(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(pg_url, now=clock) as store:
        _fill(store, 300)
        _claim_some_between(store)
        middle = page(store.conn, QueueFilter(), PageRequest(limit=150))[-1]
        seen: list[tuple[str, Any]] = []
        execute = store.conn.execute

        def traced(sql: str, params: Any = ()) -> Any:
            seen.append((sql, params))
            return execute(sql, params)

        monkeypatch.setattr(store.conn, "execute", traced)
        for request in (PageRequest(after=middle.key), PageRequest(before=middle.key)):
            page(store.conn, QueueFilter(), request)
        monkeypatch.undo()
        assert seen
        for sql, params in seen:
            (plan,) = execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()
            merge = _nodes(plan[0]["Plan"], ("Append", "Merge Append"))
            # Two states merged, each child limited to the page: a plan that merged the
            # two ranges whole sorted every row past the anchor (4.5 ms at 30k items).
            assert len(merge) == 1, plan
            children = merge[0]["Plans"]
            assert [child["Node Type"] for child in children] == ["Limit", "Limit"], plan


def _nodes(node: dict[str, Any], types: tuple[str, ...]) -> list[dict[str, Any]]:
    found = [node] if node["Node Type"] in types else []
    for child in node.get("Plans", []):
        found += _nodes(child, types)
    return found


def test_a_reader_in_a_worker_thread_can_be_interrupted(
    db_target: Path | str, clock: FakeClock
) -> None:
    import threading

    from store import QueryInterrupted

    with Store(db_target, now=clock) as store:
        store.ingest([make_draft(f"T-{n}") for n in range(20000)])
        outcome: list[object] = []
        reader_ready = threading.Event()
        readers: list[object] = []

        def search() -> None:
            with store.reader() as reader:
                readers.append(reader)
                reader_ready.set()
                try:
                    # No draft says this, and two letters are too few for the trigram
                    # index (`store.search`): the search scans every item.
                    outcome.append(reader.page(QueueFilter(search="zq"), PageRequest()))
                except QueryInterrupted as error:
                    outcome.append(error)

        worker = threading.Thread(target=search)
        worker.start()
        reader_ready.wait(5)
        while worker.is_alive():
            readers[0].interrupt()  # type: ignore[attr-defined]
            worker.join(0.001)
        assert isinstance(outcome[0], QueryInterrupted), outcome


def test_the_filter_reaches_second_reviews_and_search_reaches_ids(
    db_target: Path | str, clock: FakeClock
) -> None:
    from store import OversightPolicy
    from store.oversight import Rule
    from store.views import QueueFilter

    two = OversightPolicy(rules=(Rule(stakes=frozenset({"high"}), second_reviewer=True),),
                          catch_rate=0.0)  # fmt: skip
    with Store(db_target, now=clock, oversight=two) as store:
        store.ingest([make_draft("T-1", stakes="high"), make_draft("T-2", title="Other")])
        claim = store.claim_next("alice")
        assert claim is not None
        store.decide(claim, "approve", "Checked the refund against the order history")
        waiting = store.page(QueueFilter(status="second review"), PageRequest())
        assert [row.external_id for row in waiting] == ["T-1"]
        by_id = QueueFilter(search="t-2")
        assert [row.external_id for row in store.page(by_id, PageRequest())] == ["T-2"]
        with store.reader() as reader:
            assert reader.matching(by_id) == 1
            assert reader.matching(QueueFilter(search="refund")) == 2


def test_events_per_action_come_from_kept_counts_or_an_index(store: Store) -> None:
    # `signoff status` at a million events. SQLite keeps the counts (m017: ~80 ms of
    # index entries → a few rows); PostgreSQL, where row security shows a reviewer only
    # some events, counts them from a covering index.
    if isinstance(store.conn, PgConnection):
        names = {row[0] for row in store.conn.execute("SELECT indexname FROM pg_indexes")}
        assert "ledger_action" in names
        return
    (plan,) = query_plans(store.conn, store.decision_counts, "ledger_counts")
    assert plan == "SCAN ledger_counts", plan
