"""`python -m tests.unit_tests.pg_writer CONNINFO NAME N GATE [review]`: a concurrent writer.

Without `review`: append N events to the ledger as fast as it can (the chain fork
regression test). With `review`: claim the next item and record a decision on it, until
the queue is empty; prints how many it decided.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psycopg

from store import pg_ledger
from store.codec import sha256_text


def main() -> None:
    conninfo, name, count, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    reviewing = sys.argv[5:6] == ["review"]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        print("ready", flush=True)
        while not gate.exists():  # start together, so the writers really collide
            time.sleep(0.002)
        if reviewing:
            print(review(conn, name), flush=True)
            return
        for n in range(count):
            pg_ledger.append(conn, {
                "item_id": n, "source": "support", "external_id": f"{name}-{n}",
                "claim_id": int(name[1:]) * 100_000 + n,  # a decision is taken through a claim
                "reviewer": name, "action": "escalate",
                "justification": f"{name} sends item {n} to a lead for a second look",
                "output": None, "reason_code": None, "retracts": None,
                "draft_sha256": sha256_text(f"draft {n}"), "shown_confidence": 0.87,
                "shown_basis": "logprobs", "shown_limits": "[]", "time_on_item_ms": 4200,
                "recorded_at": "2026-11-30T15:00:00.000000Z",
            })  # fmt: skip


def review(conn: psycopg.Connection[object], name: str) -> int:
    """Claim and decide until nothing is pending; returns how many this reviewer decided."""
    import datetime as dt

    from store import pg_queue

    done = 0
    while (claim := pg_queue.claim_next(conn, name, dt.timedelta(minutes=10))) is not None:
        claim_id, _, source, external_id = claim
        pg_queue.record(conn, claim_id, {
            "source": source, "external_id": external_id, "reviewer": name,
            "action": "escalate", "justification": f"{name} wants a lead to see {external_id}",
            "output": None, "reason_code": None, "retracts": None,
            "draft_sha256": sha256_text(external_id), "shown_confidence": None,
            "shown_basis": "none", "shown_limits": "[]", "time_on_item_ms": 900,
            "recorded_at": "2026-11-30T15:00:00.000000Z",
        }, "escalated")  # fmt: skip
        done += 1
    return done


if __name__ == "__main__":
    main()
