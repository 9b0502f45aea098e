"""`signoff archive`: move events older than the retention minimum to a checked file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from providers.text import counted
from tui.cli_common import (
    ConfigOption,
    DbOption,
    ReviewerOption,
    UsageError,
    check_output,
    fail,
    identity_for,
    open_store,
    out,
    settings_for,
)
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
            done = move(store, through, output, who, settings.retention_days)
        except StoreError as error:
            fail(str(error))
        note = _sign(store, key, output) if key is not None else ""
    out.print(safe_text(
        f"{counted(done.events, 'event')} archived → {output} (events through {through}; "
        f"check it any time: signoff verify --manifest {output}.manifest.json){note}"
    ))  # fmt: skip


def _sign(store: Store, key: Path, output: Path) -> str:
    from store import StoreError
    from store.checkpoint import CheckpointError, sign
    from tui.autocheckpoint import read_key

    cut = store.conn.execute("SELECT max(through_seq) FROM archive_cuts").fetchone()[0]
    target = output.with_name(output.name + ".checkpoint")
    try:
        target.write_text(sign(store.checkpoint(at=int(cut)), read_key(key)), encoding="utf-8")
    except (OSError, CheckpointError, StoreError) as error:
        return f"; the checkpoint was not signed ({error})"
    return f"; checkpoint of the cut signed → {target.name}"
