"""`signoff plant`: add known-bad drafts to the queue as catch trials."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated, cast

import typer

from providers.base import STAKES, Stakes
from providers.text import counted
from tui.cli_common import UsageError, err, open_store, out, settings_for
from tui.cli_options import ConfigOption, DbOption
from tui.safe import safe_text


def register(app: typer.Typer) -> None:
    """Add the oversight commands to the `signoff` app."""
    app.command()(plant)


def plant(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV of known-bad drafts.")],
    source: Annotated[
        str | None,
        typer.Option(help="Source for records that name none [default: the file's name]."),
    ] = None,
    stakes: Annotated[str, typer.Option(help="Stakes for records that name none.")] = "medium",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Plant known-bad drafts as catch trials; each record says what is wrong in meta.flaw.

    Planted drafts look like any other in the queue; after deciding one, the reviewer is
    told privately what was wrong and whether they caught it. They never reach a provider
    and are left out of exports unless asked for.
    """
    from providers.files import Parsed, Rejected, format_for, read_records
    from tui.demo import strip_flaw

    if stakes not in STAKES:
        raise UsageError(f"--stakes must be one of {', '.join(STAKES)}")
    try:
        fmt = format_for(str(file))
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    good, bad = [], 0
    with file.open("rb") as stream:
        for record in read_records(
            stream, fmt, default_source=source or file.stem, default_stakes=cast(Stakes, stakes)
        ):
            if isinstance(record, Rejected):
                err.print(safe_text(f"{file}:{record.line}: {record.reason}"), style="red")
                bad += 1
                continue
            assert isinstance(record, Parsed)
            flaw = record.draft.meta.get("flaw")
            if not isinstance(flaw, str) or not flaw.strip():
                err.print(
                    safe_text(f"{file}:{record.line}: meta.flaw must say what is wrong with it"),
                    style="red",
                )
                bad += 1
                continue
            good.append((strip_flaw(record.draft), flaw.strip()))
    if bad:
        raise UsageError(f"{file}: {counted(bad, 'bad record')}; nothing was planted")
    with open_store(db, settings_for(config), create=True) as store:
        planted = store.plant_drafts(good, random.Random())
    out.print(f"planted {counted(len(planted), 'catch-trial draft')}")
