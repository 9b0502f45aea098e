"""A reviewer process for the concurrency tests: `python -m tests.unit_tests.worker MODE DB NAME N`.

claim: claim N items (long leases) and print each item id as it is claimed.
decide: claim and approve until the queue is empty or N decisions; print each committed seq.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

from store import Store


def main() -> None:
    mode, db, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with Store(db, lease=dt.timedelta(hours=1)) as store:
        store.delivers_for = frozenset({"support"})  # decisions also queue a delivery
        gate = os.environ.get("SIGNOFF_TEST_GATE")
        if gate:  # start together, so the claims really interleave
            print("ready", flush=True)
            while not Path(gate).exists():
                time.sleep(0.005)
        for n in range(count):
            claim = store.claim_next(name)
            if claim is None:
                break
            if mode == "claim":
                print(claim.item_id, flush=True)
                # A reviewer reads between claims; without a pause one process would
                # take its 200 while the other waits in SQLite's busy handler.
                time.sleep(0.002)
                continue
            event = store.decide(
                claim, "approve", f"{name} checked item {claim.item_id} in round {n} carefully"
            )
            # Printed only after COMMIT returned: every seq printed must survive a kill.
            print(event.seq, flush=True)


if __name__ == "__main__":
    main()
