"""Agreement figures against published worked examples, and from a real overlap."""

from __future__ import annotations

import dataclasses

import pytest

from store import OversightPolicy, Store
from store.agreement import agreement, double_reviewed
from store.oversight import in_double_review
from tests.conftest import FakeClock, make_draft


def test_cohens_kappa_matches_the_textbook_example() -> None:
    # Wikipedia, "Cohen's kappa", worked example: 50 grant proposals read by two
    # readers; yes/yes 20, yes/no 5, no/yes 10, no/no 15: kappa = 0.40.
    cells = [("approve", "approve", 20), ("approve", "reject", 5),
             ("reject", "approve", 10), ("reject", "reject", 15)]  # fmt: skip
    ratings = []
    item = 0
    for a, b, n in cells:
        for _ in range(n):
            item += 1
            ratings += [(item, "reader-a", a), (item, "reader-b", b)]
    found = agreement(ratings)
    (pair,) = found.pairs
    assert (pair.items, pair.agreed) == (50, 35)
    assert pair.kappa is not None
    assert pair.kappa.value == pytest.approx(0.40)
    assert pair.kappa.low < 0.40 < pair.kappa.high


def test_krippendorffs_alpha_matches_the_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal
    # example also on Wikipedia: 3 coders, 15 units, values 1-4 with gaps: alpha = 0.691.
    coders = {
        "A": [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
        "B": [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
        "C": [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
    }
    verbs = {1: "approve", 2: "edit", 3: "override", 4: "reject"}
    ratings = [(unit, coder, verbs[value]) for coder, values in coders.items()
               for unit, value in enumerate(values) if value is not None]  # fmt: skip
    found = agreement(ratings)
    assert found.alpha is not None
    assert found.alpha.value == pytest.approx(0.691, abs=0.001)
    assert found.alpha.low <= found.alpha.value <= found.alpha.high


def test_the_sample_is_fixed_by_id_and_about_its_share() -> None:
    ids = [f"T-{n}" for n in range(10_000)]
    sampled = [i for i in ids if in_double_review(0.1, "support", i)]
    assert 900 < len(sampled) < 1100
    assert sampled == [i for i in ids if in_double_review(0.1, "support", i)]
    assert not any(in_double_review(0.0, "support", i) for i in ids[:100])


def test_double_reviewed_items_give_the_agreement_figures(
    db_target: object, clock: FakeClock
) -> None:
    policy = dataclasses.replace(OversightPolicy.off(), double_review=1.0)
    with Store(db_target, now=clock, oversight=policy) as store:  # type: ignore[arg-type]
        store.ingest([make_draft(f"T-{n}") for n in range(4)])
        verdicts = [("approve", "approve"), ("reject", "reject"), ("approve", "reject"),
                    ("reject", "reject")]  # fmt: skip
        for n, (first, second) in enumerate(verdicts):
            for who, verb in (("alice", first), ("bob", second)):
                claim = store.claim_next(who)
                assert claim is not None
                clock.advance(seconds=20)
                store.decide(claim, verb, f"{who} checked refund {n} against the invoice",  # type: ignore[arg-type]
                             reason_code="tone" if verb == "reject" else None)  # fmt: skip
        ratings = double_reviewed(store.conn)
        assert len(ratings) == 8  # every first decision, rejections too, waited for bob
        found = agreement(ratings)
        assert (found.items, found.agreed) == (4, 3)
        assert found.pairs[0].reviewers == ("alice", "bob")
        states = {store.get_item(n).state for n in range(1, 5)}
        assert states == {"decided", "escalated"}  # the disagreement went to a lead
