"""`python -m tests.unit_tests.pg_writer CONNINFO NAME N GATE`: append N events, as fast as it can.

One of several concurrent writers in the chain fork regression test.
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
    with psycopg.connect(conninfo, autocommit=True) as conn:
        print("ready", flush=True)
        while not gate.exists():  # start together, so the writers really collide
            time.sleep(0.002)
        for n in range(count):
            pg_ledger.append(conn, {
                "item_id": n, "source": "support", "external_id": f"{name}-{n}",
                "claim_id": None, "reviewer": name, "action": "escalate",
                "justification": f"{name} sends item {n} to a lead for a second look",
                "output": None, "reason_code": None, "retracts": None,
                "draft_sha256": sha256_text(f"draft {n}"), "shown_confidence": 0.87,
                "shown_basis": "logprobs", "shown_limits": "[]", "time_on_item_ms": 4200,
                "recorded_at": "2026-11-30T15:00:00.000000Z",
            })  # fmt: skip


if __name__ == "__main__":
    main()
