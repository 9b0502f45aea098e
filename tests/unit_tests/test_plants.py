"""Catch trials: mutations, planting, and what planted drafts may never do."""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path
from typing import Any, cast

import pytest

from providers.base import DataLimit, Draft
from providers.tokens import spliced
from store import Store
from store.clock import parse_iso
from store.export import ExportFilter, events, planted_events_exist, stats_for
from store.ingest import INSERT_COLUMNS, prepare
from store.mutate import mutate
from tests.conftest import FakeClock, make_draft
from tests.engines import REFUSED, Explaining, rows_read

REASON = "Checked the refund amount against the billing history for this order"


@pytest.mark.parametrize(
    ("text", "kind", "expected_kind", "expected_text"),
    [
        ("Your score is 72.", "score", "number", "Your score is 27."),
        ("Refunds can be issued within a week.", "reply", "negation",
         "Refunds cannot be issued within a week."),
        ("Delivery on 2026-12-03 as agreed.", "reply", "swap", "Delivery on 2026-12-10 as agreed."),
    ],
)  # fmt: skip
def test_each_mutation_changes_one_thing_and_says_what(
    text: str, kind: str, expected_kind: str, expected_text: str
) -> None:
    found = None
    for seed in range(50):  # the kind is picked at random among those that apply
        found = mutate(text, kind, random.Random(seed))
        if found is not None and found.kind == expected_kind:
            break
    assert found is not None
    assert (found.kind, found.text) == (expected_kind, expected_text)
    assert found.detail


def test_a_text_with_nothing_to_change_gets_a_promise_nobody_made() -> None:
    found = mutate("Thanks for writing in.", "reply", random.Random(3))
    assert found is not None
    assert found.kind == "policy-claim"
    assert found.text.startswith("Thanks for writing in. ")


def test_labels_swap_to_another_allowed_label() -> None:
    found = mutate("ok", "label", random.Random(1), ["ok", "fraud", "review"])
    assert found is not None
    assert found.text in ("fraud", "review")
    assert mutate("ok", "label", random.Random(1), ["ok"]) is None


def _queue(store: Store, n: int = 100) -> None:
    store.ingest(
        [
            make_draft(
                f"T-{1000 + i}",
                draft=f"Your refund of {20 + i} EUR is issued and will arrive by Friday.",
                created_at=None,
            )
            for i in range(n)
        ]
    )


def test_planting_tops_the_queue_up_to_the_rate_with_lookalike_items(store: Store) -> None:
    _queue(store)
    planted = store.plant(0.05, random.Random(7))
    assert len(planted) == 5  # 5 of 105: round(100 * 0.05 / 0.95)
    assert store.plant(0.05, random.Random(8)) == []  # already at the rate
    assert store.plant_count() == (5, 100)
    for one in planted:
        item = store.get_item(one.item_id)
        assert re.fullmatch(r"T-\d{4}", item.external_id)
        assert (item.source, item.kind, item.state) == ("support", "reply", "pending")
        base_id = store.conn.execute(
            "SELECT base_item_id FROM plants WHERE item_id = ?", (one.item_id,)
        ).fetchone()[0]
        base = store.get_item(base_id)
        assert item.draft != base.draft
        assert (item.confidence, item.data_limits, item.title) == (
            base.confidence, base.data_limits, base.title,
        )  # fmt: skip


def test_a_plants_row_is_the_row_a_draft_of_its_fields_gets(store: Store) -> None:
    # A plant's row is built from its base's row as stored (`store.plants._fields`), not
    # through an Item and a Draft: each column, the content hash among them, must be
    # what `prepare` makes of a Draft with the base's fields and the plant's text, id,
    # time and tokens. The bases vary in every column a plant copies.
    limits = (
        DataLimit("thin", "two rows", "info"),
        DataLimit("stale", "CRM snapshot is a day old", "high"),
        DataLimit("gap", "no orders before 2024", "warn"),
    )
    drafts = []
    for i in range(40):
        text = f"Your refund of {20 + i} EUR is issued and will arrive by Friday."
        drafts.append(make_draft(
            f"T-{1000 + i}", draft=text, created_at=None, input=f"Ticket body {i} — é",
            model="m-1" if i % 2 else "", stakes=("low", "medium", "high")[i % 3],
            confidence=None if i % 5 == 0 else 0.5 + i / 100,
            confidence_basis="none" if i % 5 == 0 else "logprobs",
            data_limits=limits[: i % 4],
            meta={"z": i, "a": {"y": [1, "ü"], "b": None}, "labels": ["x"]} if i % 2 else {},
            tokens=((7, -0.25), (len(text) - 7, -1.5)) if i % 3 else (),
        ))  # fmt: skip
    store.ingest(drafts)
    store.plant(0.5, random.Random(5))
    columns = ", ".join(INSERT_COLUMNS)
    pairs = store.conn.execute("SELECT item_id, base_item_id FROM plants").fetchall()
    assert len(pairs) == 40
    for item_id, base_id in pairs:
        row = store.conn.execute(f"SELECT {columns} FROM items WHERE id = ?", (item_id,))
        stored = dict(zip(INSERT_COLUMNS, row.fetchone(), strict=True))
        base = store.get_item(base_id)
        expected = Draft(
            source=base.source, external_id=stored["external_id"], draft=stored["draft"],
            kind=base.kind, title=base.title, input=base.input, confidence=base.confidence,
            confidence_basis=base.confidence_basis, data_limits=base.data_limits,
            model=base.model, stakes=base.stakes, created_at=parse_iso(stored["created_at"]),
            meta=base.meta, tokens=spliced(base.draft, stored["draft"], base.tokens),
        )  # fmt: skip
        times = ("created_at", "imported_at", "updated_at")
        wanted = dict(zip(INSERT_COLUMNS, prepare(expected), strict=True))
        assert {k: v for k, v in stored.items() if k not in times} == {
            k: v for k, v in wanted.items() if k not in times
        }
        assert stored["token_logprobs"] is None or base.tokens


def test_planting_is_deterministic_for_a_seed(tmp_path: Path, clock: FakeClock) -> None:
    drafts = []
    for name in ("a.db", "b.db"):
        with Store(tmp_path / name, now=clock) as store:
            _queue(store, 60)
            store.plant(0.1, random.Random(42))
            drafts.append(
                store.conn.execute(
                    "SELECT external_id, draft, created_at FROM items WHERE id IN "
                    "(SELECT item_id FROM plants) ORDER BY id"
                ).fetchall()
            )
    assert drafts[0] == drafts[1]


def test_planted_decisions_are_flagged_kept_out_of_exports_and_never_delivered(
    store: Store,
) -> None:
    _queue(store, 20)
    store.delivers_for = frozenset({"support"})
    (planted,) = store.plant(0.05, random.Random(1))
    rejected = store.decide(
        store.claim_item(planted.item_id, "alice"), "reject",
        "The amount in this reply does not match the order", reason_code="factual-error",
    )  # fmt: skip
    assert rejected.oversight is not None
    assert rejected.oversight["planted"]["caught"] is True
    real = store.claim_next("alice")
    assert real is not None
    approved = store.decide(real, "approve", REASON)
    assert [e["seq"] for e in events(store.conn, ExportFilter())] == [approved.seq]
    everything = events(store.conn, ExportFilter(include_planted=True))
    assert [e["seq"] for e in everything] == [rejected.seq, approved.seq]
    assert planted_events_exist(store.conn)
    assert ExportFilter().as_json(planted_exist=True) == {"planted": "excluded"}
    assert store.conn.execute("SELECT event_seq FROM outbox").fetchall() == [(approved.seq,)]
    with pytest.raises(REFUSED, match="never sent"):
        store.conn.execute(
            "INSERT INTO outbox (event_seq, source, idempotency_key, payload, next_attempt_at) "
            "VALUES (?, 'support', 'x', '{}', '2026-01-01')",
            (rejected.seq,),
        )


def test_catch_rates_come_with_a_wilson_interval(store: Store) -> None:
    _queue(store, 80)
    planted = store.plant(0.1, random.Random(5))
    assert len(planted) == 9
    for n, one in enumerate(planted):
        claim = store.claim_item(one.item_id, "alice" if n % 2 else "bob")
        if n % 2 or n == 0:
            store.decide(claim, "approve", f"{REASON}, case {n}, the amounts agree")
        else:
            store.decide(
                claim, "reject", f"The amount is wrong in case {n}", reason_code="factual-error"
            )
    figures = stats_for(store.conn, ExportFilter(include_planted=True))
    alice, bob = figures.reviewers["alice"], figures.reviewers["bob"]
    assert (alice.planted_seen, alice.planted_caught) == (4, 0)
    assert (bob.planted_seen, bob.planted_caught) == (5, 4)
    assert bob.catch_interval == pytest.approx((0.3755, 0.9638), abs=1e-4)
    # Planted drafts say nothing about the AI: calibration leaves them out.
    assert sum(row.decisions for row in figures.by_band.values()) == 0


def test_a_real_record_that_needs_a_planted_id_moves_the_plant(store: Store) -> None:
    _queue(store, 20)
    (planted,) = store.plant(0.05, random.Random(1))
    taken = store.get_item(planted.item_id).external_id
    summary = store.ingest([make_draft(taken, draft="A real reply that arrived later.")])
    assert summary.added == 1
    real = store.find_item("support", taken)
    assert real is not None
    assert real.draft == "A real reply that arrived later."
    moved = store.get_item(planted.item_id)
    assert moved.external_id != taken
    assert re.fullmatch(r"T-\d{4}", moved.external_id)


def test_a_crowded_id_range_still_yields_free_lookalike_ids(store: Store) -> None:
    store.ingest([make_draft(f"K-{n:03d}") for n in range(1000)])  # every 3-digit id taken
    planted = store.plant(0.05, random.Random(3))
    assert len(planted) == 53
    assert all(re.fullmatch(r"K-\d{4}", p.external_id) for p in planted)


def test_an_id_sample_keeps_its_size_and_its_span_as_plants_pass_its_end() -> None:
    from store.plant_ids import IdFormat

    learnt = IdFormat({3, 5, 9}, padded=0)
    assert learnt.span == (3, 9)
    learnt.replace_largest(12)  # a plant took the first free id after the range
    assert (learnt.numbers, learnt.span) == ({3, 5, 12}, (3, 12))
    alone = IdFormat({4}, padded=0)
    alone.replace_largest(6)
    assert (alone.numbers, alone.span) == ({6}, (6, 6))
    assert IdFormat(set(), padded=0).span is None  # the model id's number stands in
    empty = IdFormat(set(), padded=0)
    empty.replace_largest(2)
    assert (empty.numbers, empty.span) == ({2}, (2, 2))


def test_a_plants_neighbour_is_sought_at_its_stakes_level_not_walked_to(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store import OversightPolicy, plant_places
    from tests.conftest import query_plans

    with Store(db_path, now=clock, oversight=OversightPolicy(catch_rate=0)) as store:
        stakes = ("low", "medium", "high")
        store.ingest([make_draft(f"T-{i}", stakes=stakes[i % 3]) for i in range(60)])
        windows = query_plans(
            store.conn, lambda: store.plant(0.05, random.Random(7)), "+stakes_rank = "
        )
        # The fallback, for a sparse source: no window in the stretch, nor in the queue.
        monkeypatch.setattr(plant_places, "_WINDOWS", 0)
        monkeypatch.setattr(plant_places, "_NEAR_WINDOWS", 0)
        fallbacks = query_plans(
            store.conn, lambda: store.plant(0.1, random.Random(7)), "id NOT IN (SELECT"
        )
    # A window is walked by the primary key from its random start to the first match (at
    # most 256 ids), not read whole and sorted, nor looked up by source.
    assert windows, windows
    assert all("INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan for plan in windows), windows
    assert not any("TEMP B-TREE" in plan for plan in windows), windows
    # By `stakes` alone the walk passed every pending item of higher stakes first: 170 ms
    # a plant at a million items (3 hours for an import's 5 %).
    assert fallbacks, fallbacks
    assert all("(state=? AND stakes_rank=?)" in plan for plan in fallbacks), fallbacks


def test_a_base_pick_probes_the_plants_not_reads_them_from_the_first(store: Store) -> None:
    """A base may be no plant and no plant's base: each tested by a probe, both engines.

    PostgreSQL answered both `NOT EXISTS` with a merge anti-join that read the plants'
    index from its first entry up to the pick's random start, every pick: at 100k items
    and 5,263 plants 35,000 buffers a group of picks (9 ms), a top-up of 300k items 36.5 s.
    """
    from store import plant_places
    from store.dialect import dialect_of

    items = 3000
    store.ingest([make_draft(f"T-{i}") for i in range(items)])
    store.plant(0.1, random.Random(7))  # 333 plants, their bases all over the queue
    conn = store.conn
    pg = dialect_of(conn).name == "postgresql"
    if pg:
        conn.execute("ANALYZE")
    explaining = Explaining(conn, lambda sql: "from_id" in sql)
    plans = explaining.plans

    top = int(conn.execute("SELECT max(id) FROM items WHERE id <= ?", (items,)).fetchone()[0])
    # Stands in for the connection: pick_bases only executes.
    picked = plant_places.pick_bases(
        cast(Any, explaining), random.Random(3), 8, (top - 60, top), ()
    )
    assert picked
    assert len(plans) == 1
    if pg:
        read = rows_read(plans[0], "plants")
        # A probe a candidate (~10 candidates for 8 picks near the end), not ~300 each.
        assert read < 100, read
    else:
        assert "SEARCH p USING COVERING INDEX plants_base" in plans[0], plans[0]
        assert "SCAN p" not in plans[0], plans[0]


@pytest.mark.parametrize("times", ["given", "stamped"])
def test_one_planting_run_spreads_its_catch_trials_through_the_queue(
    store: Store, clock: FakeClock, times: str
) -> None:
    # Each plant sits beside a random real item of its stakes. Picking that item among
    # the oldest few hundred put a whole run's plants together at the head of a queue
    # three days deep ("given" times), where they give themselves away and fill a
    # reviewer's first hour; placing it a fixed 1-59 s later put them after the last
    # real item of an import without times, stamped a batch of 100 at a time, 0.1 s
    # apart ("stamped"); and one time for a whole batch let a plant only follow the
    # whole batch: a run of plants after each.
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for batch in range(30):
        store.ingest(
            [make_draft(f"T-{1000 + i}", created_at=start + dt.timedelta(minutes=i * 1.5)
                        if times == "given" else None)
             for i in range(batch * 100, batch * 100 + 100)]
        )  # fmt: skip
        clock.advance(seconds=0.1)
    planted = {p.item_id for p in store.plant(0.05, random.Random(5))}
    assert len(planted) == 158
    order = [row[0] for row in store.conn.execute(
        "SELECT id FROM items WHERE state = 'pending' ORDER BY stakes_rank DESC, created_at, id"
    ).fetchall()]  # fmt: skip
    tenths = [sum(i in planted for i in order[k * 316 : (k + 1) * 316]) for k in range(10)]
    assert sum(tenths) == 158
    assert max(tenths) <= 30, tenths  # 16 expected in each tenth
    runs = "".join("p" if i in planted else "." for i in order).split(".")
    assert max(len(run) for run in runs) <= 3, [len(run) for run in runs if run]


def test_a_planting_run_walks_the_queue_a_stretch_for_each_group(
    store: Store, clock: FakeClock
) -> None:
    # Each group's neighbours come from the next stretch of the queue, so a transaction
    # writes to one part of the queue's indexes (neighbours from anywhere: 16.4 -> 11.9 s
    # for 52,632 plants at a million items), and the run ends where it began: the k-th
    # plant made sits about k/n of the way down the queue.
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    store.ingest([make_draft(f"T-{1000 + i}", created_at=start + dt.timedelta(minutes=i))
                  for i in range(3000)])  # fmt: skip
    made = [p.item_id for p in store.plant(0.05, random.Random(5))]
    assert len(made) == 158
    order = [row[0] for row in store.conn.execute(
        "SELECT id FROM items WHERE state = 'pending' ORDER BY stakes_rank DESC, created_at, id"
    ).fetchall()]  # fmt: skip
    place = {item_id: at / len(order) for at, item_id in enumerate(order)}
    drift = [abs(place[item_id] - k / len(made)) for k, item_id in enumerate(made)]
    assert max(drift) < 0.15, max(drift)


def test_an_import_plants_its_share_with_each_batch_spread_through_it(
    sqlite_store: Store, clock: FakeClock
) -> None:
    store = sqlite_store  # on PostgreSQL all are planted after the import (see below)
    # Plants made in an import's own transactions (`ingest_planting`) must mix in as a
    # run after it does: the same share, spread through the whole import, not
    # gathered where the first batches were (where bases and neighbours first exist).
    planting = store.planting(0.05, random.Random(5))
    for batch in range(30):  # ids with gaps: the plants' ids are drawn among them
        rows = [prepare(make_draft(f"T-{1000 + 3 * i}", created_at=None))
                for i in range(batch * 100, batch * 100 + 100)]  # fmt: skip
        summary = store.ingest_planting(rows, planting)
        assert summary.added == 100  # plants are not counted as the batch's items
        clock.advance(seconds=0.1)
    assert 150 <= len(planting.made) <= 158  # 5.26 a batch: the rest rounded down
    topped = store.plant(0.05, planting.rng)
    assert len(planting.made) + len(topped) == 158
    assert store.plant_count() == (158, 3000)
    assert sum(c.total for c in store.counts()) == 3158  # the item counts include them
    planted = {p.item_id for p in planting.made}
    order = [row[0] for row in store.conn.execute(
        "SELECT id FROM items WHERE state = 'pending' ORDER BY stakes_rank DESC, created_at, id"
    ).fetchall()]  # fmt: skip
    tenths = [sum(i in planted for i in order[k * 316 : (k + 1) * 316]) for k in range(10)]
    assert min(tenths) >= 8, tenths  # 15-16 expected in each tenth
    assert max(tenths) <= 26, tenths
    runs = "".join("p" if i in planted else "." for i in order).split(".")
    assert max(len(run) for run in runs) <= 3, [len(run) for run in runs if run]
    bases = dict(store.conn.execute("SELECT item_id, base_item_id FROM plants").fetchall())
    assert not set(bases.values()) & set(bases)  # every base is a real item
    assert len(set(bases.values())) == len(bases)  # and a base of one plant only


def test_an_import_plants_with_its_batches_on_sqlite_only(store: Store) -> None:
    from store.dialect import dialect_of

    planting = store.planting(0.05, random.Random(5))
    store.ingest_planting([prepare(make_draft(f"T-{3 * i}")) for i in range(400)], planting)
    inline = len(planting.made)
    assert inline == (21 if dialect_of(store.conn).name == "sqlite" else 0)
    assert inline + len(store.plant(0.05, planting.rng)) == 21  # round(400 * 0.05 / 0.95)


def test_an_import_of_dense_ids_leaves_its_plants_to_the_top_up(store: Store) -> None:
    # T-1000, T-1001, …: no free id in the range, and one after it is what the next
    # batch's records want (each would move the plant, batch after batch). On
    # PostgreSQL every import leaves its plants to the top-up (`Store.planting`).
    planting = store.planting(0.05, random.Random(5))
    for batch in range(20):
        rows = [prepare(make_draft(f"T-{1000 + i}")) for i in range(batch * 100, batch * 100 + 100)]
        store.ingest_planting(rows, planting)
    assert planting.made == []
    assert planting.stopped == (planting.rate > 0)  # not tried again after the first batch
    assert len(store.plant(0.05, planting.rng)) == 105  # round(2000 * 0.05 / 0.95)
    assert store.plant_count() == (105, 2000)


def test_an_import_into_a_queue_over_the_rate_plants_only_past_the_excess(
    sqlite_store: Store,
) -> None:
    store = sqlite_store
    _queue(store)
    store.plant(0.5, random.Random(1))  # 100 plants: 95 over a 5 % rate
    planting = store.planting(0.05, random.Random(2))
    store.ingest_planting([prepare(make_draft(f"N-{3 * i}")) for i in range(1000)], planting)
    assert planting.made == []  # 1,000 more call for 52.6: still under the excess
    store.ingest_planting([prepare(make_draft(f"M-{3 * i}")) for i in range(1000)], planting)
    assert len(planting.made) == 10  # 2,100 real call for 110.5 plants; 100 were there


def test_a_mutation_takes_the_first_pattern_in_its_list_not_the_first_in_the_text() -> None:
    def first(text: str, kind: str) -> str:
        for seed in range(50):
            found = mutate(text, "reply", random.Random(seed))
            if found is not None and found.kind == kind:
                return found.detail
        raise AssertionError(f"no {kind} mutation of {text!r}")

    # Days come before months, `is not` before `is`, whatever their place in the text.
    assert first("In March, on a Friday.", "swap").startswith("Friday was changed to ")
    assert first("It is ready; it is not late.", "negation") == "'is not' was flipped to 'is'"
    assert first("Shipped in May.", "swap").startswith("May was changed to ")
