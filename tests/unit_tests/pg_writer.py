"""`python -m tests.unit_tests.pg_writer URL NAME N GATE MODE`: one concurrent writer.

MODE `review`: a reviewer through the real store — claim the next item and decide it
until nothing is pending; prints how many it decided. MODE `naive`: append N events
straight into the ledger, reading the chain head without locking it (what most
"tamper-evident audit log" SQL does): the schema must refuse every stale link rather
than fork the chain; prints how many it appended and how many were refused.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from store.codec import sha256_text
from store.ledger import EVENT_FIELDS, chain_link


def main() -> None:
    url, name, count, gate, mode = sys.argv[1:6]
    print("ready", flush=True)
    while not Path(gate).exists():  # start together, so the writers really collide
        time.sleep(0.002)
    if mode == "review":
        print(review(url, name), flush=True)
    else:
        print(*naive(url, name, int(count)), flush=True)


def review(url: str, name: str) -> int:
    """Claim and decide until nothing is pending; returns how many this reviewer decided."""
    from store import Store

    done = 0
    with Store(url) as store:
        while (claim := store.claim_next(name)) is not None:
            store.decide(claim, "escalate", f"{name} wants a lead to see item {claim.item_id}")
            done += 1
    return done


def naive(url: str, name: str, count: int) -> tuple[int, int]:
    """Append `count` events without the store's lock; (appended, refused)."""
    appended = refused = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while appended < count:
            try:
                with conn.transaction():
                    head = conn.execute("SELECT position, hash FROM chain_head").fetchone()
                    assert head is not None
                    claim = int(name[1:]) * count + appended + 1  # the test made the claims
                    append(conn, event(name, appended, claim), (int(head[0]), str(head[1])))
                appended += 1
            except psycopg.errors.RaiseException:
                refused += 1
    return appended, refused


def event(name: str, n: int, claim: int) -> dict[str, Any]:
    """A valid escalation of item 1 through `claim` (each writer's n-th)."""
    return {
        "item_id": 1, "source": "support", "external_id": "T-1", "claim_id": claim,
        "reviewer": name, "action": "escalate", "retracts": None,
        "justification": f"{name} records event {n} of the fork test",
        "output": None, "reason_code": None, "draft_sha256": sha256_text(f"draft {n}"),
        "shown_confidence": 0.87, "shown_basis": "logprobs", "shown_limits": "[]",
        "time_on_item_ms": 4200, "recorded_at": "2026-11-30T15:00:00.000000Z",
    }  # fmt: skip


def append(conn: psycopg.Connection[Any], fields: dict[str, Any], head: tuple[int, str]) -> None:
    """Insert the event that would follow `head` (the trigger decides if it really does)."""
    row = chain_link(fields, head)
    conn.execute(
        f"INSERT INTO ledger ({', '.join(EVENT_FIELDS)}) "
        f"VALUES ({', '.join(['%s'] * len(EVENT_FIELDS))})",
        [row[name] for name in EVENT_FIELDS],
    )


if __name__ == "__main__":
    main()
