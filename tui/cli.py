"""The `signoff` command (Typer). Textual is imported only by commands that open the app."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, cast

import typer

from keymaps import ACTIONS, KeymapError, key_character, load_keymap
from providers.base import STAKES, Stakes
from providers.text import counted
from store import BatchSummary
from tui import (
    cli_archive,
    cli_checkpoint,
    cli_incidents,
    cli_leads,
    cli_oversight,
    cli_report,
    cli_team,
    pulling,
)
from tui import cli_log as log
from tui.cli_common import (
    UsageError,
    err,
    fail,
    identity_for,
    mix_in_catch_trials,
    open_store,
    out,
    reviewer_for,
    settings_for,
)
from tui.cli_options import ConfigOption, DbOption, KeymapOption, ReviewerOption
from tui.launch import GLOBAL_OPTIONS, guarded, run_app
from tui.paths import config_file, demo_db
from tui.safe import dump_json, safe_text

app = typer.Typer(
    name="signoff",
    help="Review AI drafts deliberately: every decision needs a typed justification.",
    add_completion=False,
    # Tracebacks with locals would print drafts and, later, API keys: never.
    pretty_exceptions_enable=False,
    # Plain help: Rich markup mode read "[default: …]" in help texts as a markup tag
    # and printed "Database file ." (and `<bool>` beside flags).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version

        out.print(f"signoff {version('signoff')}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db: DbOption = None,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
    keymap: KeymapOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """With no command, open the review app (same as `signoff review`).

    Options given before a command are handed to it (`signoff --db x.db import f`);
    one the command does not take is refused, never ignored.
    """
    if ctx.invoked_subcommand is None:
        review(db=db, config=config, reviewer=reviewer, keymap=keymap)
        return
    values = zip(GLOBAL_OPTIONS, (db, config, reviewer, keymap), strict=True)
    given = {name: value for name, value in values if value is not None}
    if not given:
        return
    command = cast("typer.core.TyperGroup", ctx.command).get_command(ctx, ctx.invoked_subcommand)
    # The same option, not just the same name: `export --reviewer` filters by reviewer,
    # which is not what `signoff --reviewer` (who you are) means.
    ours = {param.name: getattr(param, "help", None) for param in ctx.command.params}
    takes = {
        param.name for param in (command.params if command else [])
        if getattr(param, "help", None) == ours.get(param.name)
    }  # fmt: skip
    for name in given:
        if name not in takes:
            raise UsageError(
                f"--{name} does not apply to `signoff {ctx.invoked_subcommand}`; "
                "see `signoff " + ctx.invoked_subcommand + " --help`"
            )
    # Click hands these to the subcommand as defaults; its own options still win.
    ctx.default_map = {ctx.invoked_subcommand: {k: str(v) for k, v in given.items()}}


@app.command()
def review(
    db: DbOption = None,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
    keymap: KeymapOption = None,
) -> None:
    """Open the review app on the queue."""
    run_app(db, settings_for(config), reviewer, keymap)


@app.command("import")
def import_command(
    files: Annotated[
        list[str],
        typer.Argument(
            help="JSONL or CSV files; - reads JSONL from stdin.",
            metavar="FILE",
            show_default=False,
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="Source for records that name none [default: the file's name].", show_default=False
        ),
    ] = None,
    stakes: Annotated[str, typer.Option(help="Stakes for records that name none.")] = "medium",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import drafts into the queue. Bad records are reported by line; good ones are stored."""
    if stakes not in STAKES:
        raise UsageError(f"--stakes must be one of {', '.join(STAKES)}")
    try:
        import random

        from tui import importing  # rich.progress and the readers: only when importing
        from tui.import_reader import ReaderError

        plans = importing.plan(files, source)
    except ValueError as error:
        raise UsageError(str(error)) from None
    settings = settings_for(config)
    totals, rejected = BatchSummary(), 0
    with open_store(db, settings, create=True) as store:
        planting = store.planting(settings.oversight.catch_rate, random.Random())
        for item in plans:
            try:
                with importing.progress_bar(err, item) as on_progress:
                    result = importing.import_file(
                        store, item, stakes=cast(Stakes, stakes), on_progress=on_progress,
                        planting=planting,
                    )  # fmt: skip
            except KeyboardInterrupt:
                fail(
                    "interrupted: batches already committed are kept; run the import again "
                    "to finish (nothing is duplicated)",
                    130,
                )
            except OSError as error:
                fail(f"{item.arg}: cannot read ({error.strerror or error})")
            except ReaderError as error:
                fail(f"{item.arg}: {error}; batches already committed are kept")
            importing.report(out, err, result)
            totals += result.summary
            rejected += len(result.rejected)
        mix_in_catch_trials(store, settings, planting)
    if len(plans) > 1:
        out.print(f"total: {importing.describe(totals, rejected)}")
    if rejected:
        raise typer.Exit(1)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    demo_queue: Annotated[
        bool, typer.Option("--demo", help="Show the demo's database instead of yours.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
) -> None:
    """Show how many items each source has pending, claimed, decided and escalated."""
    settings = settings_for(config)
    with open_store(demo_db() if demo_queue else db, settings) as store:
        who = identity_for(store, reviewer, settings)
        where, team = store.where, store.team
        counts = store.counts()
        actions = store.decision_counts()
        head = store.head()
        waiting, oldest = store.backlog()
        failing = store.pull_failures()
    if as_json:
        states = ("pending", "claimed", "decided", "escalated")
        payload = {
            "database": where,
            "reviewer": who,
            "sources": [
                {"source": c.source, **{s: getattr(c, s) for s in states}, "total": c.total}
                for c in counts
            ],
            "totals": {s: sum(getattr(c, s) for c in counts) for s in (*states, "total")},
            "ledger": {"events": sum(actions.values()), "by_action": actions, "head": head},
            "outbox": {"waiting": waiting, "oldest": oldest},
            "pull_failures": [
                {"provider": f.provider, "records": f.records, "last_origin": f.last_origin,
                 "last_reason": f.last_reason, "last_at": f.last_at}
                for f in failing
            ],
        }  # fmt: skip
        sys.stdout.write(dump_json(payload) + "\n")
        return
    out.print(safe_text(f"database  {where}"))
    out.print(safe_text(f"reviewer  {who}" + (" (database login)" if team else "")))
    from rich.table import Table

    table = Table(
        "source",
        "pending",
        "claimed",
        "decided",
        "escalated",
        "total",
        box=None,
        header_style="bold",
    )
    for c in counts:
        table.add_row(
            safe_text(c.source),
            *(f"{n:,}" for n in (c.pending, c.claimed, c.decided, c.escalated, c.total)),
        )
    if counts:
        table.add_row(
            "all",
            *(
                f"{sum(getattr(c, s) for c in counts):,}"
                for s in ("pending", "claimed", "decided", "escalated", "total")
            ),
            style="bold",
        )
        out.print(table)
    else:
        out.print("the queue is empty: add drafts with `signoff import FILE.jsonl`")
    events = sum(actions.values())
    summary = ", ".join(f"{n:,} {action}" for action, n in sorted(actions.items()))
    out.print(
        f"ledger    {counted(events, 'event')}"
        + (f" ({summary})" if summary else "")
        + f", head {head[:12]}"
    )
    if waiting:
        out.print(
            f"outbox    {counted(waiting, 'decision')} waiting to be delivered (oldest {oldest}); "
            "run `signoff push`"
        )
    for failed in failing:
        out.print(safe_text(
            f"pull      {failed.provider}: {counted(failed.records, 'record')} not fetched yet; "
            f"last {failed.last_origin}: {failed.last_reason} — `signoff pull` tries again"
        ))  # fmt: skip


@app.command()
def show(
    external_id: Annotated[str, typer.Argument(metavar="ID", help="The item's id, e.g. A-311.")],
    source: Annotated[
        str | None, typer.Option(help="The source, when several have this id.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Print an item and its whole ledger history, newest first."""
    from tui.history import history_lines, incident_lines, item_header, undone_by

    with open_store(db, settings_for(config)) as store:
        found = [i for i in store.items_named(external_id) if source in (None, i.source)]
        if not found:
            where = f" in {source}" if source else ""
            fail(f"no item {external_id}{where}")
        if len(found) > 1:
            sources = ", ".join(i.source for i in found)
            raise UsageError(f"{external_id} is in several sources ({sources}): add --source")
        item = found[0]
        events = store.history(item.id)
        complaints = [
            incident_lines(store, found)
            for found in store.incidents_against([e.seq for e in events])
        ]
    out.print(item_header(item))
    out.print(safe_text(item.draft, multiline=True))
    out.print()
    if not events:
        out.print("no decisions recorded on this item yet")
    for block in history_lines(events, undone_by(events)):
        out.print(block)
        out.print()
    for lines in complaints:
        for line in lines:
            out.print(safe_text(line))
        out.print()


@app.command()
def keys(
    keymap: KeymapOption = None,
    config: ConfigOption = None,
) -> None:
    """List every action with its key(s) in the active keymap."""
    settings = settings_for(config)
    name = keymap or settings.keymap
    origin = str(settings.path) if settings.path else "config"
    try:
        active = load_keymap(name, settings.keys, origin=origin)
    except KeymapError as error:
        raise UsageError(str(error)) from None
    out.print(safe_text(f"keymap {active.name}: {active.description}"))
    from rich.table import Table

    table = Table("id", "keys", "action", box=None, header_style="bold")
    for binding_id, description in ACTIONS.items():
        bound = active.keys.get(binding_id, ())
        # `?` and `/` as the app shows them, not Textual's `question_mark` and `slash`.
        shown = ", ".join(key_character(key) or key for key in bound)
        table.add_row(binding_id, safe_text(shown or "(unbound)"), description)
    out.print(table)


@app.command("config")
def config_command(
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the config file's JSON Schema.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Check the config file and say which one is used; --schema for editors."""
    if schema:
        from tui.config import schema as config_schema

        sys.stdout.write(dump_json(config_schema()) + "\n")
        return
    settings = settings_for(config)
    if settings.path is None:
        out.print(safe_text(f"no config file ({config_file()} does not exist): defaults apply"))
        return
    names = ", ".join(sorted(settings.providers)) or "none"
    out.print(safe_text(f"{settings.path}: valid; providers: {names}"))


@app.command()
def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Start the demo queue over.")] = False,
    config: ConfigOption = None,
    reviewer: ReviewerOption = None,
    keymap: KeymapOption = None,
) -> None:
    """Open signoff on the bundled demo queue (in its own database, never yours)."""
    path = demo_db()
    if reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    fresh = not path.exists()
    from tui.demo import DEMO_OVERSIGHT, load_demo

    # The demo runs under its own oversight policy, so that every mechanism shows.
    base = settings_for(config)
    # The demo runs as a lead too, so that resolving sam's escalation can be tried.
    settings = dataclasses.replace(
        base, oversight=DEMO_OVERSIGHT, leads=base.leads | {reviewer_for(reviewer, base)}
    )
    with open_store(path, settings, create=True) as store:
        if fresh:
            load_demo(store)
    if not sys.stdout.isatty():
        # No terminal to draw on (a pipe, CI): show what was loaded instead.
        out.print(safe_text(f"demo database: {path}"))
        status(as_json=False, demo_queue=True, config=config, reviewer=reviewer)
        return
    run_app(path, settings, reviewer, keymap)
    out.print(safe_text(f"demo database: {path}  (see it with: signoff status --demo)"))


def main() -> None:
    """The full CLI (`tui.launch.main` opens the app without it)."""
    guarded(app)


log.register(app)
pulling.register(app)
cli_oversight.register(app)
cli_team.register(app)
cli_leads.register(app)
cli_checkpoint.register(app)
cli_incidents.register(app)
cli_report.register(app)
cli_archive.register(app)

if __name__ == "__main__":
    main()
