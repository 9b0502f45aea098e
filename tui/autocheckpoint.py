"""Signed checkpoints every N events, kept in a folder outside the database.

A lead configures `[checkpoints] key, every, folder`; their app (after a decision that
crosses a multiple of `every`) and `signoff checkpoint --every N` sign each position due
that has no note yet: `FOLDER/<ledger>-<position>.checkpoint`. Before signing, the chain
is verified from the newest note already in the folder (checked with the key's own
verifier, and extended by the ledger), so a note is never put on a ledger nobody
checked; with no note yet, from the first event.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from store import StoreError

if TYPE_CHECKING:
    from store import Store
    from store.checkpoint import Checkpoint


@dataclass(frozen=True, slots=True)
class CheckpointPlan:
    """Where and how often: the `[checkpoints]` table of the config."""

    key: Path
    every: int
    folder: Path


def _tag(origin: str) -> str:
    """The ledger's part of a file name: its origin's hex (`signoff ledger 1a2b…`)."""
    return origin.rsplit(" ", 1)[-1]


def note_path(plan: CheckpointPlan, origin: str, size: int) -> Path:
    """Where the note for position `size` of that ledger goes."""
    return plan.folder / f"{_tag(origin)}-{size:012d}.checkpoint"


def signed_positions(plan: CheckpointPlan, origin: str) -> list[int]:
    """Positions of that ledger with a note in the folder, in order."""
    prefix = f"{_tag(origin)}-"
    found = []
    if not plan.folder.is_dir():
        return []
    for name in (entry.name for entry in plan.folder.iterdir()):
        number = name.removeprefix(prefix).removesuffix(".checkpoint")
        if name.startswith(prefix) and name.endswith(".checkpoint") and number.isdigit():
            found.append(int(number))
    return sorted(found)


def sign_due(store: Store, plan: CheckpointPlan, *, secret: str | None = None) -> list[Path]:
    """Sign every position due (a multiple of `every`, up to the head) without a note.

    Returns the notes written, oldest first.

    Raises:
        StoreError: The key cannot be read or used, the newest note is not this key's
            or not extended by the ledger, the chain does not verify, or a note cannot
            be written (nothing more is signed).
    """
    from store.checkpoint import CheckpointError, open_note, sign, verifier_of

    secret = secret if secret is not None else read_key(plan.key)
    try:
        verifier = verifier_of(secret)
    except CheckpointError as error:
        raise StoreError(f"{plan.key}: {error}") from None
    current = store.checkpoint()
    done = signed_positions(plan, current.origin)
    due = [n for n in range(plan.every, current.size + 1, plan.every) if n not in set(done)]
    if not due:
        return []
    since = None
    if done:
        newest = note_path(plan, current.origin, done[-1])
        try:
            kept: Checkpoint = open_note(newest.read_text(encoding="utf-8"), verifier)
        except (OSError, UnicodeDecodeError, CheckpointError) as error:
            raise StoreError(f"{newest}: not a note signed by this key ({error})") from None
        problem = store.extends(kept)
        if problem is not None:
            raise StoreError(f"the ledger does not extend {newest.name}: {problem}")
        since = (kept.size, kept.head)
    report = store.verify_chain(since)
    if not report.ok:
        raise StoreError(f"ledger broken at event {report.first_bad_seq}: {report.problem}; "
                         "nothing signed")  # fmt: skip
    written = []
    plan.folder.mkdir(parents=True, exist_ok=True)
    for size in due:
        target = note_path(plan, current.origin, size)
        try:
            target.write_text(sign(store.checkpoint(at=size), secret), encoding="utf-8")
        except OSError as error:
            raise StoreError(f"{target}: cannot write ({error.strerror or error})") from None
        written.append(target)
    return written


def read_key(path: Path) -> str:
    """The private key's text, or `StoreError` in one line."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise StoreError(f"{path}: cannot read the key ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise StoreError(f"{path}: not a signoff key (not text)") from None


def sign_due_in(target: Path | str, plan: CheckpointPlan) -> str:
    """`sign_due` on a connection of its own (a worker thread's); the outcome in words."""
    from store import Store

    try:
        with Store(target) as own:
            written = sign_due(own, plan)
    except StoreError as error:
        return f"No checkpoint signed: {error}"
    if not written:
        return ""
    last = written[-1].name.rsplit("-", 1)[-1].removesuffix(".checkpoint").lstrip("0")
    return f"Signed {len(written)} checkpoint(s), the newest at event {last}, in {plan.folder}."
