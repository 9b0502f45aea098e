"""`signoff archive`: move events older than the retention minimum to a checked file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from providers.text import counted
from tui.cli_common import (
    UsageError,
    check_output,
    fail,
    identity_for,
    open_store,
    out,
    settings_for,
)
from tui.cli_options import ConfigOption, DbOption, ReviewerOption
from tui.safe import safe_text

if TYPE_CHECKING:
    from store import Store


def register(app: typer.Typer) -> None:
    """Add `archive` to the `signoff` app."""
    app.command()(archive)


def archive(
    before: Annotated[
        str, typer.Option(help="Archive events recorded before this date (2026-05-01).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The archive file (JSONL).")],
    key: Annotated[
        Path | None,
        typer.Option(
            help="Also sign a checkpoint at the cut (FILE.checkpoint) [default: "
            "[checkpoints] key in the config].",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask (scripts): the events leave the database.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Move old events to a file, checked line by line first; their hashes stay (a lead's)."""
    import datetime as dt

    from store import StoreError
    from store.archive import archive as move
    from store.archive import plan_cut

    try:
        cutoff = dt.datetime.fromisoformat(before.strip())
    except ValueError:
        raise UsageError(f"--before {before!r} is not a date (2026-05-01)") from None
    if cutoff.tzinfo is None:
        cutoff = cutoff.replace(tzinfo=dt.UTC)
    check_output(output, force=force)
    settings = settings_for(config)
    key = key or (settings.checkpoints.key if settings.checkpoints else None)
    with open_store(db, settings) as store:
        who = identity_for(store, reviewer, settings)
        if not store.is_lead(who):
            raise UsageError(f"{who} is not a lead; a lead archives")
        try:
            through = plan_cut(store, cutoff, settings.retention_days)
            if not through:
                fail("nothing to archive: no event before that date can move (the newest "
                     "event, and anything still referred to, stays)")  # fmt: skip
            _confirm(through, output, yes=yes)
            done = move(store, through, output, who, settings.retention_days)
        except StoreError as error:
            fail(str(error))
        note = _sign(store, key, output, done.cut.through_seq) if key is not None else ""
    out.print(safe_text(
        f"{counted(done.events, 'event')} archived → {output} (events through {through}; "
        f"check it any time: signoff verify --manifest {output}.manifest.json){note}"
    ))  # fmt: skip


def _confirm(through: int, output: Path, *, yes: bool) -> None:
    """Name what leaves the database and ask; without a terminal, only `--yes` goes on."""
    if yes:
        return
    what = f"events 1 to {through:,} leave the database for {output} (their hashes stay)"
    if not sys.stdin.isatty():
        raise UsageError(f"{what}: add --yes to go on without being asked")
    if not typer.confirm(f"{what}. Archive them?", default=False):
        fail("nothing archived")


def _sign(store: Store, key: Path, output: Path, cut: int) -> str:
    from store import StoreError
    from store.checkpoint import CheckpointError, sign
    from tui.autocheckpoint import read_key

    target = output.with_name(output.name + ".checkpoint")
    try:
        target.write_text(sign(store.checkpoint(at=cut), read_key(key)), encoding="utf-8")
    except (OSError, CheckpointError, StoreError) as error:
        return f"; the checkpoint was not signed ({error})"
    return f"; checkpoint of the cut signed → {target.name}"
