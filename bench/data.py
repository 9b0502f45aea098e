"""The bench's data and its ingest pairs: records, a mixed ledger, ours vs raw inserts.

Everything here runs with the settings users run with: `OversightPolicy()` (the built-in
defaults: catch trials planted at 5 %, commit-first, friction), not the `off()` policy a
bare `Store(db)` gets.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from store import OversightPolicy, Store
from store.clock import iso
from store.codec import GENESIS_HASH
from store.ledger import event_hash
from store.search import index_new
from tui.import_reader import ImportPlan
from tui.importing import import_file

SIGNOFF = str(Path(sys.executable).with_name("signoff"))
"""The installed console script: every whole-process figure runs `signoff` as users do."""

USERS = OversightPolicy()
"""The policy a user has without a config file."""


def make_jsonl(path: Path, n: int) -> None:
    """N deterministic draft records (seed 7)."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(json.dumps({
                "id": f"T-{i}", "draft": f"Hello, about order {i}: we issued a refund.",
                "title": f"Ticket {i}", "confidence": round(rng.random(), 3),
                "stakes": rng.choice(("low", "medium", "high")),
                "data_limits": ["stale record"] if i % 3 == 0 else [],
            }) + "\n")  # fmt: skip


def fresh(folder: Path, name: str) -> Path:
    """A database path with no file (or WAL) left from a previous round."""
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def ingest_ours(jsonl: Path, db: Path | str) -> float:
    """Records/s as `signoff import` stores them: read, validate, batch, plant catch trials."""
    start = time.perf_counter()
    with Store(db, oversight=USERS) as store:
        # As `signoff import`: each batch's catch trials in its transaction, then a top-up.
        planting = store.planting(USERS.catch_rate, random.Random(7))
        plan = ImportPlan(str(jsonl), "jsonl", "bench")
        import_file(store, plan, stakes="medium", planting=planting)
        store.plant(USERS.catch_rate, planting.rng)
    return _lines(jsonl) / (time.perf_counter() - start)


_RAW_COLUMNS = (
    "source, external_id, kind, title, draft, draft_sha256, confidence, confidence_basis, "
    "data_limits, worst_limit, stakes, stakes_rank, meta, content_hash, created_at, "
    "imported_at, updated_at"
)


def ingest_raw(jsonl: Path, db: Path) -> float:
    """The yardstick: the same rows into the same schema and indexes, one `executemany`.

    `json.loads` per line and a tuple per row; no validation, no hashing (placeholders
    fill the hash columns), no catch trials; then the search index's catch-up, as ours.
    """
    Store(db).close()  # the schema, its indexes and triggers, outside the timing
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    stamp, sha = iso(dt.datetime.now(dt.UTC)), "0" * 64
    rank = {"low": 1, "medium": 2, "high": 3}
    rows = []
    with jsonl.open(encoding="utf-8") as stream:
        for line in stream:
            r = json.loads(line)
            limits = json.dumps(r["data_limits"])
            rows.append(("bench", r["id"], "draft", r["title"], r["draft"], sha, r["confidence"],
                         "provider", limits, 2 if r["data_limits"] else 0, r["stakes"],
                         rank[r["stakes"]], "{}", sha, stamp, stamp, stamp))  # fmt: skip
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO items ({_RAW_COLUMNS}) VALUES ({', '.join('?' * 17)})", rows)
    index_new(conn)
    conn.execute("COMMIT")
    conn.close()
    return len(rows) / (time.perf_counter() - start)


def import_process_s(jsonl: Path, db: Path, home: Path) -> float:
    """Seconds for `signoff import FILE` as a process (start-up and catch trials included)."""
    start = time.perf_counter()
    subprocess.run([SIGNOFF, "import", str(jsonl), "--db", str(db)],
                   check=True, capture_output=True, env=user_env(home), timeout=3600)  # fmt: skip
    return time.perf_counter() - start


def sqlite_utils_s(jsonl: Path, db: Path) -> float:
    """The yardstick: `sqlite-utils insert DB items FILE --nl` as a process."""
    start = time.perf_counter()
    tool = Path(sys.executable).with_name("sqlite-utils")
    subprocess.run([str(tool), "insert", str(db), "items", str(jsonl), "--nl"], check=True,
                   capture_output=True, timeout=3600)  # fmt: skip
    return time.perf_counter() - start


def user_env(home: Path) -> dict[str, str]:
    """A process environment with an empty config and data folder: the defaults apply."""
    return {**os.environ, "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"), "SIGNOFF_DB": ""}  # fmt: skip


def _lines(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for _ in stream)


_ACTIONS = (("approve", 70), ("edit", 12), ("reject", 8), ("escalate", 6), ("override", 4))


def make_ledger(db: Path, n: int) -> None:
    """N valid, chained events over the first n items, inserted in bulk (bench only).

    Actions are mixed as a real ledger's are (70 % approve, edits and overrides with their
    output, rejections with a reason code, escalations); a third of the events carry an
    oversight record (commit-first, now and then friction raised). The items stay
    pending: at a million events over a million items nothing would be left to claim
    for the rows measured after this one.
    """
    rng = random.Random(7)
    actions = [a for a, weight in _ACTIONS for _ in range(weight)]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    items = conn.execute(
        "SELECT id, source, external_id, draft_sha256, draft FROM items "
        "WHERE id NOT IN (SELECT item_id FROM plants) ORDER BY id LIMIT ?",
        (n,),
    ).fetchall()
    prev, when = GENESIS_HASH, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    conn.execute("BEGIN")
    for seq, (item_id, source, ext, sha, draft) in enumerate(items, 1):
        action = rng.choice(actions)
        output = {"approve": draft, "edit": draft + " Thank you for waiting.",
                  "override": "Please call us about this order."}.get(action)  # fmt: skip
        oversight = None
        if seq % 3 == 0:
            record: dict[str, object] = {
                "commit_first": {"value": "approve", "moved_toward_ai": action == "approve"}
            }
            if seq % 51 == 0:
                record["friction_raised"] = {"why": ["fast"], "signals": ["fast"], "items": 5}
            oversight = json.dumps(record, sort_keys=True)
        reviewer = f"rev{seq % 7}"
        stamp = iso(when)
        claim = conn.execute(
            "INSERT INTO claims (item_id, reviewer, claimed_at, lease_expires_at, ended_at, "
            "end_reason) VALUES (?, ?, ?, ?, ?, 'decided')",
            (item_id, reviewer, stamp, stamp, stamp),
        ).lastrowid
        fields = {
            "seq": seq, "item_id": item_id, "source": source, "external_id": ext,
            "claim_id": claim, "reviewer": reviewer, "action": action,
            "justification": f"Checked item {ext} against the source records ({seq % 97})",
            "output": output, "reason_code": "wrong-facts" if action in ("reject", "override")
            else None, "retracts": None, "draft_sha256": sha,
            "shown_confidence": rng.random(), "shown_basis": "provider", "shown_limits": "[]",
            "time_on_item_ms": 1000 + rng.randint(0, 60000), "recorded_at": stamp,
            "prev_hash": prev, "oversight": oversight,
        }  # fmt: skip
        fields["hash"] = prev = event_hash(fields)
        names = list(fields)
        conn.execute(f"INSERT INTO ledger ({', '.join(names)}) VALUES "
                     f"({', '.join('?' * len(names))})", [fields[k] for k in names])  # fmt: skip
        when += dt.timedelta(seconds=20)
    conn.execute("COMMIT")
    conn.close()
