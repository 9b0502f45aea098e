"""`signoff keygen` and `signoff checkpoint`: signed proof of the ledger, kept elsewhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tui.cli_common import (
    UsageError,
    cannot_write,
    check_output,
    fail,
    open_store,
    out,
    settings_for,
)
from tui.cli_options import ConfigOption, DbOption
from tui.safe import safe_text

if TYPE_CHECKING:
    from store.checkpoint import Checkpoint


def register(app: typer.Typer) -> None:
    """Add the checkpoint commands to the `signoff` app."""
    app.command()(keygen)
    app.command()(checkpoint)


def keygen(
    name: Annotated[str, typer.Argument(help="The key's name, e.g. dana@example.org.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Where the private key goes.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Make an Ed25519 key for signing checkpoints; keep the file away from the database."""
    from store.checkpoint import CheckpointError, generate_key

    check_output(out_file, force=force)
    try:
        secret, verifier = generate_key(name)
    except CheckpointError as error:
        raise UsageError(str(error)) from None
    try:
        handle = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(secret + "\n")
    except OSError as error:
        cannot_write(out_file, error)
    out.print(safe_text(f"private key: {out_file} (readable only by you; never share it)"))
    out.print(safe_text(f"verifier key (give this to auditors): {verifier}"))


def checkpoint(
    key: Annotated[
        Path | None,
        typer.Option(
            help="Your private key file (from `signoff keygen`) [default: [checkpoints] "
            "key in the config].",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the checkpoint here.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    every: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Sign every multiple of N events not signed yet, into --folder.",
            show_default=False,
        ),
    ] = None,
    folder: Annotated[
        Path | None,
        typer.Option(
            help="Where --every keeps its notes [default: from the config, else "
            "checkpoints in the data folder].",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Sign the ledger's length and head (the chain verified first); --every: all due."""
    from store.checkpoint import CheckpointError, sign

    settings = settings_for(config)
    plan = settings.checkpoints
    key = key or (plan.key if plan is not None else None)
    if key is None:
        raise UsageError("give --key (or set [checkpoints] key in the config)")
    if every is not None:
        _sign_every(key, every, folder, db, config)
        return
    if output is not None:
        check_output(output, force=force)
    try:
        secret = key.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{key}: cannot read the key ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{key}: not a signoff key (not text)") from None
    with open_store(db, settings) as store:
        report = store.verify_chain()
        if not report.ok:
            fail(f"ledger broken at event {report.first_bad_seq}: {report.problem}; not signed")
        current = store.checkpoint()
    try:
        note = sign(current, secret)
    except CheckpointError as error:
        raise UsageError(f"{key}: {error}") from None
    if output is None:
        out.print(note, end="")
        return
    try:
        output.write_text(note, encoding="utf-8")
    except OSError as error:
        cannot_write(output, error)
    out.print(safe_text(f"checkpoint of {current.size:,} events signed → {output}"))


def read_signed(file: Path, verifier: str) -> Checkpoint:
    """The checkpoint in `file` if `verifier`'s key signed it; else one line and exit."""
    from store.checkpoint import CheckpointError, open_note

    try:
        return open_note(file.read_text(encoding="utf-8"), verifier)
    except OSError as error:
        raise UsageError(f"{file}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not a checkpoint (not text)") from None
    except CheckpointError as error:
        fail(f"{file}: {error}")


def _sign_every(
    key: Path, every: int, folder: Path | None, db: str | None, config: Path | None
) -> None:
    """Sign each multiple of `every` that has no note in the folder yet."""
    from store import StoreError
    from tui.autocheckpoint import CheckpointPlan, read_key, sign_due
    from tui.paths import data_dir

    settings = settings_for(config)
    configured = settings.checkpoints.folder if settings.checkpoints else None
    plan = CheckpointPlan(key, every, folder or configured or data_dir() / "checkpoints")
    try:
        secret = read_key(key)
    except StoreError as error:
        raise UsageError(str(error)) from None
    with open_store(db, settings) as store:
        try:
            written = sign_due(store, plan, secret=secret)
        except StoreError as error:
            fail(str(error))
    if not written:
        out.print(safe_text(f"nothing due: every multiple of {every:,} is signed in {plan.folder}"))
        return
    out.print(safe_text(f"{len(written)} checkpoint(s) signed in {plan.folder}, the newest "
                        f"{written[-1].name}"))  # fmt: skip
