"""`signoff assign`, `signoff progress`, `signoff escalations`: what a lead runs."""

from __future__ import annotations

from typing import Annotated

import typer

from providers.base import STAKES
from providers.text import counted
from tui.cli_common import UsageError, identity_for, open_store, out, settings_for
from tui.cli_options import ConfigOption, DbOption, ReviewerOption
from tui.safe import safe_text


def register(app: typer.Typer) -> None:
    """Add the leads' commands to the `signoff` app."""
    app.command()(assign)
    app.command()(progress)
    app.command()(escalations)


def assign(
    to: Annotated[
        str | None,
        typer.Argument(metavar="REVIEWER", help="Who gets the items (omit with --to-everyone)."),
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--to-everyone", help="Give the items back to the whole queue.")
    ] = False,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    stakes: Annotated[str | None, typer.Option(help="Only low, medium or high.")] = None,
    search: Annotated[
        str | None, typer.Option(help="Ids, titles or drafts containing this.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many, in review order.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Assign pending items to a reviewer (a lead's command); they are served to them first."""
    from store.views import QueueFilter

    if (to is None) == (not everyone):
        raise UsageError("name one reviewer, or pass --to-everyone")
    if stakes is not None and stakes not in STAKES:
        raise UsageError(f"--stakes must be one of {', '.join(STAKES)}")
    where = QueueFilter(status="pending", source=source, kind=kind,
                        stakes=stakes, search=search or "")  # type: ignore[arg-type]  # fmt: skip
    settings = settings_for(config)
    with open_store(db, settings) as store:
        lead = identity_for(store, reviewer, settings)
        moved = store.assign(where, to, by=lead, limit=limit)
    whom = "everyone" if to is None else to
    out.print(safe_text(f"{counted(moved, 'pending item')} assigned to {whom}"))


def progress(db: DbOption = None, config: ConfigOption = None) -> None:
    """Per reviewer and per source: done, assigned, pending, escalated, median time."""
    from tui.progress_view import reviewer_chart, source_chart

    with open_store(db, settings_for(config)) as store:
        people, sources = store.progress()
    out.print("Reviewers (green: decisions standing; grey: assigned and waiting)")
    out.print(reviewer_chart(people) if people else "  no decisions or assignments yet")
    out.print()
    out.print("Sources")
    out.print(source_chart(sources) if sources else "  the queue is empty")


def escalations(db: DbOption = None, config: ConfigOption = None) -> None:
    """The escalations, oldest first, with who escalated each and why."""
    with open_store(db, settings_for(config)) as store:
        waiting = store.escalations()
    if not waiting:
        out.print("nothing is escalated")
    for e in waiting:
        when = e.event.recorded_at.strftime("%Y-%m-%d %H:%M")
        out.print(safe_text(f"{when}  {e.item.source}/{e.item.external_id}  {e.item.title}"))
        for decision in (e.event,) if e.first is None else (e.first, e.event):
            verb = "" if e.first is None else f" {decision.action}"
            out.print(safe_text(f"    {decision.reviewer}{verb}: {decision.justification}"))
