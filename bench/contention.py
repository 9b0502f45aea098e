"""Two reviewers deciding at a human pace while a lead imports: does anyone see "locked"?

    python bench/contention.py [--drafts 40000] [--pace 0.3]

Each reviewer is its own process on the same SQLite file, with signoff's default
oversight (catch trials planted on import, friction, commit-first when it applies):
claim the next item, read for `--pace` seconds, decide. Meanwhile `signoff import`
(a real process, default settings) loads `--drafts` records. Prints, per reviewer,
the decisions made, every error that reached them, and their slowest store call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import SIGNOFF  # noqa: E402  (after the path is set)


def reviewer(db: str, name: str, pace: float, stop_file: str) -> None:
    """One reviewer: claim, read, decide, until the stop file appears; JSON summary out."""
    from store import Store, StoreError
    from store.oversight import OversightPolicy

    slowest, calls, errors, decided = 0.0, [], [], 0

    def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        nonlocal slowest
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            took = time.perf_counter() - start
            calls.append(took)
            slowest = max(slowest, took)

    with Store(db, oversight=OversightPolicy()) as store:
        n = 0
        while not Path(stop_file).exists():
            n += 1
            try:
                claim = timed(store.claim_next, name)
                if claim is None:
                    time.sleep(pace)
                    continue
                time.sleep(pace)
                need = store.requirements(claim)
                if need.commit_first:
                    item = store.get_item(claim.item_id)
                    guess = item.draft if item.kind in ("score", "label") else "expect-approve"
                    timed(store.commit_judgement, claim, guess)
                why = (
                    f"{name} compared item {claim.item_id} with the order history, round {n}, "
                    f"and the amounts agree " + "x" * (n % 7) + " " * 0
                )
                timed(
                    store.decide, claim, "approve", why + " " + "ok " * (n % 5) + "a" * (60 + n % 9)
                )
                decided += 1
            except StoreError as error:
                errors.append(f"{type(error).__name__}: {error}")
            except Exception as error:  # what would crash the app
                errors.append(f"CRASH {type(error).__name__}: {error}")
    calls.sort()
    print(
        json.dumps(
            {
                "reviewer": name,
                "decided": decided,
                "errors": errors,
                "slowest_s": round(slowest, 3),
                "p99_s": round(calls[int(len(calls) * 0.99) - 1], 4) if calls else None,
                "calls": len(calls),
            }
        )
    )


def main() -> None:
    """Run the scenario and print what the reviewers saw."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--drafts", type=int, default=40000)
    parser.add_argument("--pace", type=float, default=0.3)
    args = parser.parse_args()
    from store import Store
    from tests.conftest import make_draft

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "q.db")
        with Store(db) as store:
            store.ingest([make_draft(f"W-{i}", stakes="low") for i in range(500)])
        big = Path(tmp) / "big.jsonl"
        with big.open("w") as out:
            for i in range(args.drafts):
                out.write(
                    json.dumps(
                        {
                            "id": f"T-{100000 + 3 * i}",
                            "source": "support",
                            "draft": f"Hello, your refund for order {i} of 72 EUR "
                            f"was issued on Monday; it is not delayed.",
                            "confidence": 0.9,
                            "stakes": "medium",
                        }
                    )
                    + "\n"
                )
        stop = str(Path(tmp) / "stop")
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp, "XDG_DATA_HOME": tmp}
        reviewers = [
            subprocess.Popen(
                [sys.executable, __file__, "--reviewer", db, name, str(args.pace), stop],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for name in ("alice", "bob")
        ]
        time.sleep(1.0)
        start = time.perf_counter()
        done = subprocess.run(
            [SIGNOFF, "import", str(big), "--db", db],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
        )
        took = time.perf_counter() - start
        time.sleep(1.0)
        Path(stop).touch()
        results = [json.loads(r.communicate()[0]) for r in reviewers]
    print(f"import of {args.drafts:,} drafts: exit {done.returncode}, {took:.1f} s")
    print("  " + (done.stdout.strip().replace("\n", "\n  ") or done.stderr.strip()))
    for r in results:
        print(
            f"{r['reviewer']}: {r['decided']} decisions, {len(r['errors'])} errors, "
            f"slowest call {r['slowest_s']} s, p99 {r['p99_s']} s over {r['calls']} calls"
        )
        for error in r["errors"][:5]:
            print("   ", error)
    if done.returncode:
        print(done.stderr.strip()[-500:])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--reviewer":
        reviewer(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
    else:
        main()
