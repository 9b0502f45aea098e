"""`signoff incident report|resolve|list`: the incident and complaint register."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from providers.text import counted
from tui.cli_common import UsageError, fail, identity_for, open_store, out, settings_for
from tui.cli_options import ConfigOption, DbOption, ReviewerOption
from tui.safe import safe_text

if TYPE_CHECKING:
    from store import Store

incident = typer.Typer(
    help="Incidents and complaints against decisions: report one, resolve one (leads), list.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def register(app: typer.Typer) -> None:
    """Add `incident` to the `signoff` app."""
    app.add_typer(incident, name="incident")


@incident.command()
def report(
    decisions: Annotated[
        list[str],
        typer.Argument(
            metavar="DECISION...",
            help="Ledger event numbers, or item ids (their decision that stands).",
        ),
    ],
    what: Annotated[str, typer.Option("--what", help="What happened (10 characters or more).")],
    kind: Annotated[str, typer.Option(help="incident or complaint.")] = "incident",
    severity: Annotated[str, typer.Option(help="low, medium, high or critical.")] = "medium",
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="Who raised it, if not you (e.g. 'customer 4411').", show_default=False
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Record an incident or complaint against one or more decisions."""
    from store.register import KINDS, SEVERITIES

    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
    if severity not in SEVERITIES:
        raise UsageError(f"--severity must be one of {', '.join(SEVERITIES)}")
    settings = settings_for(config)
    with open_store(db, settings) as store:
        who = identity_for(store, reviewer, settings)
        seqs = [_decision(store, name) for name in decisions]
        made = store.report_incident(
            who,
            what,
            seqs,
            kind=kind,
            severity=severity,
            reported_by=by,
        )
    out.print(safe_text(
        f"{made.report.kind} {made.number} recorded against "
        f"{counted(len(made.report.decisions), 'decision')}; a lead resolves it "
        f"(signoff incident resolve {made.number})"
    ))  # fmt: skip


@incident.command()
def resolve(
    number: Annotated[int, typer.Argument(help="The incident's number.")],
    outcome: Annotated[
        str, typer.Argument(help="confirmed (the decisions were wrong) or unfounded.")
    ],
    why: Annotated[str, typer.Option("--why", help="The justification for the resolution.")],
    db: DbOption = None,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Close an incident with a justified resolution (a lead's command)."""
    from store.register import OUTCOMES

    if outcome not in OUTCOMES:
        raise UsageError(f"the outcome must be one of {', '.join(OUTCOMES)}")
    settings = settings_for(config)
    with open_store(db, settings) as store:
        lead = identity_for(store, reviewer, settings)
        closed = store.resolve_incident(number, lead, outcome, why)
    out.print(safe_text(f"incident {closed.number} resolved: {closed.status}"))


@incident.command(name="list")
def list_(
    status: Annotated[
        str | None,
        typer.Option(help="Only open, confirmed or unfounded ones.", show_default=False),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Every incident and complaint, newest first, with its resolution."""
    if status is not None and status not in ("open", "confirmed", "unfounded"):
        raise UsageError("--status must be one of open, confirmed, unfounded")
    from tui.history import incident_lines

    with open_store(db, settings_for(config)) as store:
        found = store.incidents(status=status)
        lines = [incident_lines(store, i) for i in found]
    if not found:
        out.print("no incidents" if status is None else f"no {status} incidents")
    for block in lines:
        for line in block:
            out.print(safe_text(line))
        out.print()


def _decision(store: Store, name: str) -> int:
    """A ledger event number as given, or the standing decision on the item named."""
    if name.isdigit():
        return int(name)
    found = store.items_named(name)
    if not found:
        fail(f"no item {name} (give an item id or a ledger event number)")
    if len(found) > 1:
        raise UsageError(f"{name} is in several sources: give the decision's event number")
    from tui.history import standing_decision

    standing = standing_decision(store.history(found[0].id))
    if standing is None:
        fail(f"{name} has no decision that stands")
    return standing.seq
