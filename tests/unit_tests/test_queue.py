"""The queue: idempotent ingest, claim order, leases and releases."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.base import DataLimit
from store import BatchSummary, Claim, ClaimError, Store, StoreError
from store.pg import PgConnection
from tests.conftest import T0, FakeClock, make_draft, query_plans


def test_reimport_updates_pending_skips_decided_and_never_duplicates(store: Store) -> None:
    first = store.ingest([make_draft("T-1"), make_draft("T-2"), make_draft("T-3")])
    assert first == BatchSummary(added=3)
    claim = store.claim_item(_id(store, "T-3"), "alice")
    store.decide(claim, "approve", "Refund matches the order in the billing system")
    second = store.ingest(
        [
            make_draft("T-1"),  # same content
            make_draft("T-2", draft="A corrected draft for T-2 from the provider."),
            make_draft("T-3", draft="A late change to a decided item must not apply."),
            make_draft("T-4"),
        ]
    )
    assert second == BatchSummary(added=1, updated=1, unchanged=1, skipped=1)
    assert store.get_item(_id(store, "T-2")).draft.startswith("A corrected draft")
    assert store.get_item(_id(store, "T-3")).draft.startswith("Hello")
    assert store.conn.execute("SELECT count(*) FROM items").fetchone()[0] == 4


def test_a_key_repeated_in_one_batch_is_added_once(store: Store) -> None:
    summary = store.ingest([make_draft("T-1"), make_draft("T-1", draft="Second version.")])
    assert summary == BatchSummary(added=1, updated=1)
    assert store.get_item(_id(store, "T-1")).draft == "Second version."


def test_same_id_in_two_sources_is_two_items(store: Store) -> None:
    assert store.ingest([make_draft("7"), make_draft("7", source="leads")]).added == 2


def test_claimed_items_are_not_changed_by_import(store: Store) -> None:
    store.ingest([make_draft("T-1")])
    store.claim_next("alice")
    assert store.ingest([make_draft("T-1", draft="changed")]) == BatchSummary(skipped=1)


def test_unknown_confidence_is_stored_as_unknown_not_zero(store: Store) -> None:
    store.ingest([make_draft("T-1", confidence=None, confidence_basis="none")])
    item = store.get_item(_id(store, "T-1"))
    assert item.confidence is None
    assert item.confidence_basis == "none"


def test_limits_are_stored_worst_first(store: Store) -> None:
    limits = (
        DataLimit("a", "minor", "info"),
        DataLimit("b", "bad", "high"),
        DataLimit("c", "meh", "warn"),
    )
    store.ingest([make_draft("T-1", data_limits=limits)])
    item = store.get_item(_id(store, "T-1"))
    assert [limit.severity for limit in item.data_limits] == ["high", "warn", "info"]
    assert item.worst_limit == 3


def test_claim_order_is_highest_stakes_then_oldest(store: Store, clock: FakeClock) -> None:
    store.ingest(
        [
            make_draft("low-old", stakes="low", created_at=T0.replace(day=1)),
            make_draft("med-new", stakes="medium", created_at=T0.replace(day=20)),
            make_draft("high-new", stakes="high", created_at=T0.replace(day=22)),
            make_draft("high-old", stakes="high", created_at=T0.replace(day=2)),
            make_draft("med-old", stakes="medium", created_at=T0.replace(day=3)),
        ]
    )
    order = []
    while (claim := store.claim_next("alice")) is not None:
        order.append(store.get_item(claim.item_id).external_id)
    assert order == ["high-old", "high-new", "med-old", "med-new", "low-old"]


def test_claim_next_is_an_index_seek_not_a_scan(sqlite_store: Store) -> None:
    store = sqlite_store  # SQLite's own machinery (query plans, WAL, fsync)
    store.ingest([make_draft(f"T-{i}") for i in range(50)])
    plans = query_plans(store.conn, lambda: store.claim_next("alice"), "FROM items")
    assert len(plans) == 2  # the reviewer's own assignments, then nobody's
    assert "INDEX items_assigned (assigned_to=?)" in plans[0], plans[0]
    # A seek to the pending items, past no claimed one: walking an index of all open
    # items from its head (session 40's first m022, e964764, reverted) cost a claim every
    # claim outstanding, 0.93 ms p99 at a million with the bench's hundreds held.
    assert "INDEX items_next (state=?)" in plans[1], plans[1]
    for plan in plans:
        assert "TEMP B-TREE" not in plan, plan
        assert not plan.startswith("SCAN items"), plan


def test_an_expired_lease_returns_the_item_and_records_nothing(
    store: Store, clock: FakeClock
) -> None:
    store.ingest([make_draft("T-1")])
    first = store.claim_next("alice")
    assert first is not None
    assert store.claim_next("bob") is None  # held by alice
    clock.advance(minutes=10, seconds=1)
    second = store.claim_next("bob")
    assert second is not None
    assert second.item_id == first.item_id
    assert store.decision_counts() == {}
    reasons = [r[0] for r in store.conn.execute("SELECT end_reason FROM claims ORDER BY id")]
    assert reasons == ["expired", None]
    with pytest.raises(ClaimError):
        store.renew(first)


def _claimed_next(store: Store, reviewer: str, opening: bool) -> Claim | None:
    """`claim_next`, or `claim_and_open` (the app's) checked against `opened`."""
    if not opening:
        return store.claim_next(reviewer)
    found = store.claim_and_open(reviewer)
    if found is None:
        return None
    claim, opened = found
    assert opened == store.opened(claim)
    assert opened.item.id == claim.item_id
    return claim


@pytest.mark.parametrize("opening", [False, True], ids=["claim_next", "claim_and_open"])
def test_an_item_whose_lease_ran_out_is_claimed_in_its_turn(
    store: Store, clock: FakeClock, opening: bool
) -> None:
    """The expired item is older than the other pending one: it comes first again.

    On PostgreSQL the claim learns of the lapsed lease in its own statement, which
    then takes nothing (its commit is already on the way): no claim on T-2 is made.
    """
    store.ingest([make_draft("T-1"), make_draft("T-2")])
    first = _claimed_next(store, "alice", opening)
    assert first is not None
    clock.advance(minutes=10, seconds=1)
    again = _claimed_next(store, "bob", opening)
    assert again is not None
    assert again.item_id == first.item_id
    taken = [r[0] for r in store.conn.execute("SELECT item_id FROM claims ORDER BY id")]
    assert taken == [first.item_id, first.item_id]  # no claim on T-2 was kept


def test_renew_extends_the_lease(store: Store, clock: FakeClock) -> None:
    store.ingest([make_draft("T-1")])
    claim = store.claim_next("alice")
    assert claim is not None
    clock.advance(minutes=9)
    renewed = store.renew(claim)
    clock.advance(minutes=9)
    assert store.claim_next("bob") is None
    store.decide(renewed, "approve", "Checked the refund total against the invoice")


def test_release_returns_the_item_without_a_record(store: Store) -> None:
    store.ingest([make_draft("T-1")])
    claim = store.claim_next("alice")
    assert claim is not None
    assert store.release(claim) is True
    assert store.release(claim) is False
    assert store.get_item(claim.item_id).state == "pending"
    assert store.decision_counts() == {}


def test_claim_item_respects_other_reviewers(store: Store) -> None:
    store.ingest([make_draft("T-1")])
    item_id = _id(store, "T-1")
    mine = store.claim_item(item_id, "alice")
    assert store.claim_item(item_id, "alice") == mine  # reopening keeps the claim
    with pytest.raises(ClaimError, match="being reviewed by alice"):
        store.claim_item(item_id, "bob")
    store.decide(mine, "escalate", "Needs a lead: refund exceeds my approval limit")
    with pytest.raises(ClaimError, match="is escalated: a lead resolves it"):
        store.claim_item(item_id, "bob")


def test_counts_follow_every_state_change(store: Store) -> None:
    store.ingest([make_draft("T-1"), make_draft("T-2"), make_draft("L-1", source="leads")])
    claim = store.claim_next("alice")
    assert claim is not None
    counts = {c.source: c for c in store.counts()}
    assert (counts["support"].pending, counts["support"].claimed) == (1, 1)
    store.decide(claim, "approve", "Refund amount verified in billing history")
    counts = {c.source: c for c in store.counts()}
    assert (counts["support"].pending, counts["support"].decided) == (1, 1)
    assert counts["leads"].total == 1


def test_reviewer_names_are_checked(store: Store) -> None:
    with pytest.raises(StoreError):
        store.claim_next("   ")
    with pytest.raises(StoreError):
        store.claim_next("a\x00b")


def _id(store: Store, external_id: str) -> int:
    item = store.find_item("support", external_id)
    assert item is not None
    return item.id


def test_claim_next_can_pass_over_skipped_items(store: Store) -> None:
    store.ingest([make_draft("T-1", stakes="high"), make_draft("T-2")])
    first = store.claim_next("alice")
    assert first is not None
    store.release(first)
    second = store.claim_next("alice", exclude={first.item_id})
    assert second is not None
    assert second.item_id != first.item_id
    assert store.claim_next("alice", exclude={first.item_id, second.item_id}) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"source": "x" * 101}, "source must be"),
        ({"external_id": ""}, "id must be"),
        ({"draft": ""}, "draft is empty"),
        ({"confidence": float("nan")}, "not in"),
        ({"confidence": 0.5, "confidence_basis": "none"}, "means unknown"),
        ({"confidence": None, "confidence_basis": "logprobs"}, "needs a confidence"),
        ({"stakes": "extreme"}, "stakes"),
    ],
)
def test_a_draft_that_the_schema_would_refuse_cannot_be_built(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_draft(**{"external_id": "T-1", **fields})  # type: ignore[arg-type]


def test_leases_skip_the_fsync_but_the_connection_stays_durable(sqlite_store: Store) -> None:
    store = sqlite_store  # SQLite's own machinery (query plans, WAL, fsync)
    store.ingest([make_draft("T-1")])
    claim = store.claim_next("alice")
    assert claim is not None
    # FULL (2) again after every lease or import transaction: ledger events always fsync.
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    with pytest.raises(ClaimError):
        store.claim_item(999, "alice")
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_has_item(store: Store) -> None:
    store.ingest([make_draft("T-1")])
    assert store.has_item("support", "T-1")
    assert not store.has_item("support", "T-2")
    assert not store.has_item("leads", "T-1")


def test_deferred_checkpoints_leave_the_wal_to_a_separate_connection(sqlite_store: Store) -> None:
    store = sqlite_store  # SQLite's own machinery (query plans, WAL, fsync)
    from store.db import checkpoint_wal

    store.defer_checkpoints()
    for batch in range(30):
        store.ingest([make_draft(f"T-{batch}-{n}", draft="x" * 5000) for n in range(40)])
    # Auto-checkpointing would have wrapped the log at ~1,000 pages (4 MB).
    wal = store.path.with_name(store.path.name + "-wal")
    assert wal.stat().st_size > 5_000_000
    busy, frames, copied = checkpoint_wal(store.path)
    assert busy == 0
    assert frames > 1000
    assert copied == frames


def test_a_database_on_a_network_file_system_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.filesystems import filesystem_type

    mounts = (
        "22 1 0:21 / / rw - ext4 /dev/sda1 rw\n"
        f"40 22 0:50 / {tmp_path} rw,relatime - nfs4 fileserver:/export rw\n"
    )
    assert filesystem_type(tmp_path / "q.db", mounts) == "nfs4"
    assert filesystem_type(Path("/usr/lib"), mounts) == "ext4"
    monkeypatch.setattr("store.filesystems.filesystem_type", lambda path: "nfs4")
    with pytest.raises(StoreError, match=r"on a network file system \(nfs4\)"):
        Store(tmp_path / "q.db")
    assert not (tmp_path / "q.db").exists()  # refused before anything was written


@pytest.mark.postgres
def test_a_bulk_import_keeps_postgresqls_plans_fresh(pg_url: str, clock: FakeClock) -> None:
    # Planning for an `items` it last saw empty, PostgreSQL read the whole table for
    # each batch's id lookup (195 ms a batch at 50k items).
    with Store(pg_url, now=clock) as store:
        assert isinstance(store.conn, PgConnection)
        counted = "SELECT reltuples FROM pg_class WHERE relname = 'items'"
        store.ingest([make_draft(f"T-{i}") for i in range(500)])
        assert store.conn.execute(counted).fetchone()[0] <= 0  # not yet: still small
        store.ingest([make_draft(f"T-{i}") for i in range(500, 1200)])
        assert store.conn.execute(counted).fetchone()[0] == 1200


def test_records_without_a_time_are_dated_a_microsecond_apart_across_batches(
    store: Store, clock: FakeClock
) -> None:
    store.ingest([make_draft("T-1"), make_draft("T-2", created_at=T0.replace(day=1))])
    store.ingest([make_draft("T-3")])
    clock.now = T0.replace(microsecond=999_999)  # the next second starts inside the batch
    store.ingest([make_draft("T-4"), make_draft("T-5")])
    times = {e: store.get_item(_id(store, e)).created_at for e in ("T-1", "T-2", "T-3", "T-4")}
    assert times == {
        "T-1": T0,
        "T-2": T0.replace(day=1),  # its own time
        "T-3": T0.replace(microsecond=1),  # after the last batch's, not at the clock's
        "T-4": T0.replace(microsecond=999_999),
    }
    assert store.get_item(_id(store, "T-5")).created_at == T0.replace(second=1)


def test_an_update_keeps_the_items_place_unless_the_record_names_a_time(
    store: Store, clock: FakeClock
) -> None:
    store.ingest([make_draft("T-1"), make_draft("T-2")])
    clock.now = T0.replace(hour=12)
    store.ingest([
        make_draft("T-1", draft="A corrected draft without a time of its own."),
        make_draft("T-2", draft="A corrected draft with one.", created_at=T0.replace(day=2)),
    ])  # fmt: skip
    first, second = store.get_item(_id(store, "T-1")), store.get_item(_id(store, "T-2"))
    assert (first.draft, first.created_at, first.updated_at) == (
        "A corrected draft without a time of its own.", T0, T0.replace(hour=12)
    )  # fmt: skip
    assert (second.created_at, second.imported_at) == (T0.replace(day=2), T0)


def test_bulk_writes_checkpoint_every_64_mb_then_cut_the_log(db_path: Path) -> None:
    def pages(store: Store) -> int:
        return int(store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

    with Store(db_path) as store:
        with store.bulk():
            assert pages(store) == 16_384
            with store.bulk():  # nested: still in bulk mode after the inner one
                store.ingest([make_draft(f"T-{n}") for n in range(200)])
            assert pages(store) == 16_384
            assert Path(f"{db_path}-wal").stat().st_size > 0
        assert pages(store) == 1_000
        assert Path(f"{db_path}-wal").stat().st_size == 0  # copied back and cut
        store.defer_checkpoints()  # the app's connection: its worker checkpoints
        with store.bulk():
            assert pages(store) == 0
        assert pages(store) == 0


def test_claim_and_open_shows_the_claim_it_made_and_the_queue_it_left(store: Store) -> None:
    store.ingest([make_draft("T-1", stakes="high"), make_draft("T-2")])
    found = store.claim_and_open("alice", exclude=[])
    assert found is not None
    claim, opened = found
    assert opened.item.external_id == "T-1"  # highest stakes first
    assert [(c.pending, c.claimed) for c in opened.counts] == [(1, 1)]
    assert opened.judgement is None
    other = store.find_item("support", "T-2")
    assert other is not None
    assert store.claim_and_open("bob", exclude=[other.id]) is None  # nothing else pending
    store.release(claim)


def test_an_id_is_found_in_every_source_that_has_it_by_seeks_not_a_scan(store: Store) -> None:
    sources = ("crm", "mail", "web")
    store.ingest(
        [make_draft(f"T-{n}", source=source) for source in sources for n in range(40)]
        + [make_draft("only-here", source="mail"), make_draft("T-5", source="zendesk")]
    )
    assert [i.source for i in store.items_named("T-5")] == ["crm", "mail", "web", "zendesk"]
    assert [(i.source, i.external_id) for i in store.items_named("only-here")] == [
        ("mail", "only-here")
    ]
    assert store.items_named("T-999") == []
    assert store.items_named("t-5") == []  # ids are matched exactly, case included
    if isinstance(store.conn, PgConnection):
        return
    # By the id alone SQLite read the whole (source, external_id) index: 41-65 ms at 1M.
    plans = query_plans(store.conn, lambda: store.items_named("T-5"), "external_id = 'T-5'")
    assert plans, plans
    assert all("(source=? AND external_id=?)" in plan for plan in plans), plans
    assert not any("SCAN items" in plan for plan in plans), plans
