"""Statistics kept from one pass for the next (`store.stats_kept`): the same figures, sooner."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from store import Store, stats_kept
from store.archive import archive
from store.export import ExportFilter, stats_for
from store.models import Action
from store.reader import Reader
from store.stats import Tally, compute
from tests.conftest import FakeClock, make_draft
from tests.unit_tests.test_archive import a_month_of_decisions
from tests.unit_tests.test_stats_pass import _ledger, _row
from tests.unit_tests.test_team import GOOD, as_user, team  # noqa: F401  (a fixture)


def test_a_tally_kept_at_any_event_and_gone_on_with_counts_what_one_pass_counts() -> None:
    rng = random.Random(17)
    for _ in range(300):
        rows = [_row(event) for event in _ledger(rng, rng.randint(0, 80))]
        by_seq = {row[0]: row for row in rows}
        seqs = list(by_seq)
        wrong = frozenset(rng.sample(seqs, min(len(seqs), rng.randint(0, 6))))
        stood = frozenset(rng.sample(seqs, min(len(seqs), rng.randint(0, 6)))) - wrong
        expected = compute([rows] if rows else [], by_seq.get, wrong, stood)
        split = rng.randint(0, len(rows))
        first = Tally()
        if split:
            first.add(rows[:split])
        counted = {row[0]: row for row in rows[:split]}.get
        first.finish(counted, wrong, stood)  # as a pass does before its state is kept
        tally = stats_kept.loads(stats_kept.dumps(first))
        for start in range(split, len(rows), 3):
            tally.add(rows[start : start + 3])
        assert tally.finish(by_seq.get, wrong, stood) == expected, (rows, split)
        # Finishing leaves the counts as they were: they may be kept after.
        assert tally.finish(by_seq.get, wrong, stood) == expected


def test_justification_keys_are_the_same_in_every_process() -> None:
    """Kept keys meet new ones from another process: Python's `hash` would differ."""
    from store.policy import normalised_keys

    texts = ["Checked the refund, it matches", "ﬁne, CAFÉ"]
    script = f"from store.policy import normalised_keys; print(normalised_keys({texts!r}))"
    for seed in ("1", "2"):
        shown = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(__file__).parents[2])},
        ).stdout  # fmt: skip
        assert shown.strip() == str(normalised_keys(texts))


class _Counted:
    """Events each pass counted (`Tally.add` watched)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events = 0
        add = Tally.add

        def counting(tally: Tally, batch: Any) -> None:
            self.events += len(batch)
            add(tally, batch)

        monkeypatch.setattr(Tally, "add", counting)

    def of(self, run: Any) -> tuple[Any, int]:
        self.events = 0
        return run(), self.events


def _decide(store: Store, who: str, n: int, start: int = 0) -> list[int]:
    seqs = []
    for i in range(start, start + n):
        claim = store.claim_next(who)
        assert claim is not None
        action: Action = ("approve", "reject", "override", "approve", "escalate")[i % 5]
        seqs.append(store.decide(
            claim, action, f"Checked the refund against order {i} and its history",
            output="x" if action == "override" else None,
            reason_code="factual-error" if action in ("override", "reject") else None,
        ).seq)  # fmt: skip
    return seqs


def _three_decisions(db: Path, clock: FakeClock) -> None:
    with Store(db, now=clock) as store:
        store.ingest([make_draft(f"T-{i}") for i in range(4)])
        _decide(store, "ana", 3)


def _kept(store: Store) -> tuple[int, int] | None:
    row = store.conn.execute("SELECT upto, format FROM stats_kept").fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


@pytest.fixture
def keep_every(monkeypatch: pytest.MonkeyPatch) -> _Counted:
    """Figures kept after every pass that counts one new event; passes watched."""
    monkeypatch.setattr(stats_kept, "KEEP_AFTER", 1)
    return _Counted(monkeypatch)


def test_a_pass_goes_on_from_the_kept_figures_and_shows_what_a_fresh_one_shows(
    db_target: Path | str, clock: FakeClock, keep_every: _Counted
) -> None:
    """Both engines: retractions and incidents reaching back before the kept event."""
    with Store(db_target, now=clock) as store:
        store.ingest([make_draft(f"T-{i}", confidence=i / 14, model=f"m{i % 3}")
                      for i in range(14)])  # fmt: skip
        early = _decide(store, "ana", 6)
        _, counted = keep_every.of(store.stats)
        assert counted == 6
        assert _kept(store) == (6, stats_kept.FORMAT)
        later = _decide(store, "bo", 5, start=6)
        store.retract(early[0], "ana", "Took the wrong ticket, reopening it now")
        store.leads = frozenset({"lead"})
        incident = store.report_incident("lead", "A bad refund", [early[1], later[0]])
        store.resolve_incident(incident.number, "lead", "confirmed",
                               "The refund was wrong, checked")  # fmt: skip
        figures, counted = keep_every.of(store.stats)
        assert counted == 6  # the five decisions and the retraction, not the first six
        fresh, all_of_them = keep_every.of(lambda: store.stats(fresh=True))
        assert all_of_them == 12
        assert figures == fresh
        assert figures.overall.contradicted == 2
        assert figures.overall.actions["retract"] == 1
        assert figures == stats_for(store.conn, ExportFilter(include_planted=True))
        # Nothing new: nothing counted, nothing written.
        assert keep_every.of(store.stats) == (fresh, 0)


def test_figures_kept_are_forgotten_when_a_counted_items_model_changes(
    db_target: Path | str, clock: FakeClock, keep_every: _Counted
) -> None:
    """Calibration groups events by their item's model, which a re-import may change."""
    with Store(db_target, now=clock) as store:
        store.ingest([make_draft("T-1", model="m-old"), make_draft("T-2", model="m-a")])
        claim = store.claim_next("ana")
        assert claim is not None
        assert claim.item_id == 1
        first = store.decide(claim, "approve", "Checked the refund, it matches the order")
        store.stats()
        store.ingest([make_draft("T-2", model="m-b")])  # no event of T-2: still good
        assert _kept(store) is not None
        store.retract(first.seq, "ana", "Took the wrong ticket, reopening it now")
        store.stats()
        store.ingest([make_draft("T-1", model="m-new")])  # pending again: updated
        assert _kept(store) is None
        by_model, counted = keep_every.of(lambda: store.stats().by_model)
        assert counted == 2
        assert "m-old" not in by_model
        assert by_model["m-new"].decisions == 0


def test_figures_kept_before_an_archive_cut_or_in_another_format_are_not_used(
    db_target: Path | str, clock: FakeClock, keep_every: _Counted, tmp_path: Path
) -> None:
    with Store(db_target, now=clock) as store:
        a_month_of_decisions(store, clock)
        clock.advance(days=200)
        assert store.stats().events == 10
        assert _kept(store) == (10, stats_kept.FORMAT)
        archive(store, 6, tmp_path / "cut.jsonl", "dana")
        figures, counted = keep_every.of(store.stats)
        assert (figures.events, counted) == (4, 4)
        for change in ("UPDATE stats_kept SET format = 0",
                       "UPDATE stats_kept SET upto_hash = 'x'"):  # fmt: skip
            store.conn.execute(change)
            assert keep_every.of(store.stats) == (figures, 4)


def test_a_reader_keeps_figures_through_a_connection_of_its_own_or_skips_when_busy(
    db_path: Path, clock: FakeClock, keep_every: _Counted
) -> None:
    """The app's Stats screen reads through a read-only connection."""
    _three_decisions(db_path, clock)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with Reader(db_path) as reader:
        assert reader.stats().events == 3  # shown, though nothing could be kept
    blocker.execute("ROLLBACK")
    assert blocker.execute("SELECT count(*) FROM stats_kept").fetchone() == (0,)
    with Reader(db_path) as reader:
        shown = reader.stats()
        assert blocker.execute("SELECT upto FROM stats_kept").fetchone() == (3,)
        assert keep_every.of(reader.stats) == (shown, 0)
    blocker.close()


def test_only_a_login_that_sees_every_event_keeps_figures(
    team: str,  # noqa: F811
    keep_every: _Counted,
) -> None:
    with Store(as_user(team, "alice")) as alice:
        for n in range(2):
            claim = alice.claim_next("alice")
            assert claim is not None
            alice.decide(claim, "escalate", f"{GOOD}, ticket {n}")
        assert stats_kept.read(alice.conn) is None
        assert alice.stats().events == 2
    with Store(as_user(team, "dana")) as dana:
        assert dana.stats().events == 2
        assert _kept(dana) == (2, stats_kept.FORMAT)
    with Store(as_user(team, "alice")) as alice:
        claim = alice.claim_next("alice")
        assert claim is not None
        alice.decide(claim, "escalate", f"{GOOD}, ticket 2")
        assert alice.stats().events == 3
    with Store(as_user(team, "dana")) as dana:
        assert _kept(dana) == (2, stats_kept.FORMAT)  # alice's pass wrote nothing
        assert keep_every.of(dana.stats)[1] == 1


def test_signoff_stats_fresh_counts_every_event_whatever_was_kept(
    db_path: Path, clock: FakeClock, keep_every: _Counted
) -> None:
    """What is kept is a cache: an auditor counts from the ledger itself."""
    import json

    from tests.unit_tests.test_cli import run

    _three_decisions(db_path, clock)
    with Store(db_path, now=clock) as store:
        store.stats()
        # Kept state that disagrees with the ledger (as a tampered row would).
        store.conn.execute("UPDATE stats_kept SET state = ?", [stats_kept.dumps(Tally())])

    def decisions(*args: str) -> int:
        shown = run("stats", "--json", *args, "--db", str(db_path))
        assert shown.returncode == 0, shown.stderr
        return int(json.loads(shown.stdout)["overall"]["decisions"])

    assert (decisions(), decisions("--fresh")) == (0, 3)
