"""`signoff team …` and `signoff migrate`: set up a shared PostgreSQL database, move a queue."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from providers.text import counted
from tui.cli_common import UsageError, open_store, out, settings_for
from tui.cli_options import ConfigOption, DbOption
from tui.safe import safe_text

team = typer.Typer(
    help="A team's shared PostgreSQL database: set it up, add reviewers, list them.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def register(app: typer.Typer) -> None:
    """Add `team` and `migrate` to the `signoff` app."""
    app.add_typer(team, name="team")
    app.command()(migrate)


def _team_url(url: str | None, config: Path | None) -> str:
    from store.pg import is_url
    from tui.paths import resolve_db

    target = resolve_db(url, settings_for(config).db)
    if not isinstance(target, str) or not is_url(target):
        raise UsageError(
            f"{target}: not a team database; give a postgresql://… URL "
            "(or set $SIGNOFF_DB, or db in the config)"
        )
    return target


@team.command("init")
def init(
    url: Annotated[
        str | None, typer.Argument(help="postgresql://… [default: --db, $SIGNOFF_DB, config].")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create the schema, the lead and reviewer roles and their privileges (run as the owner).

    Safe to run again: it brings privileges and policies up to date.
    """
    from store.pg_team import LEAD, REVIEWER
    from store.pg_team import init as install

    target = _team_url(url, config)
    with open_store(target, settings_for(config)) as store:
        install(store.team_connection())
        where = store.where
    out.print(safe_text(f"{where}: team database ready (roles {LEAD}, {REVIEWER})"))
    out.print("next: signoff team add NAME [--lead] --db URL  (one login per person)")


@team.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The reviewer's login (lower case).")],
    lead: Annotated[
        bool, typer.Option("--lead", help="A lead: imports, plants, sees all.")
    ] = False,
    password: Annotated[
        bool,
        typer.Option(
            "--password",
            help="Set a password (asked twice, hidden; read from stdin when piped).",
        ),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a reviewer's database login (or change an existing one's role)."""
    from store.pg_team import add as add_member

    target = _team_url(db, config)
    secret = _password() if password else None
    with open_store(target, settings_for(config)) as store:
        new = add_member(store.team_connection(), name, lead=lead, password=secret)
    role = "lead" if lead else "reviewer"
    out.print(safe_text(f"{'added' if new else 'updated'} {name} as a {role}"))
    if secret is None and new:
        out.print("no password set: the server's pg_hba.conf decides how they sign in")


def _password() -> str:
    if sys.stdin.isatty():
        secret = str(typer.prompt("password", hide_input=True, confirmation_prompt=True))
    else:
        secret = sys.stdin.readline().rstrip("\n")
    if len(secret) < 12:
        raise UsageError("the password must be at least 12 characters")
    return secret


@team.command("list")
def members(db: DbOption = None, config: ConfigOption = None) -> None:
    """List the team's logins and which are leads."""
    from store.pg_team import members as list_members

    target = _team_url(db, config)
    with open_store(target, settings_for(config)) as store:
        found = list_members(store.team_connection())
    for name, is_lead in found:
        out.print(safe_text(f"{name}{'  (lead)' if is_lead else ''}"))
    if not found:
        out.print("no reviewers yet: signoff team add NAME")


def migrate(
    source: Annotated[Path, typer.Argument(help="The SQLite database to copy.")],
    url: Annotated[str, typer.Argument(help="The team's postgresql://… database (empty).")],
    config: ConfigOption = None,
) -> None:
    """Copy a SQLite queue with its ledger, plants, outbox and cursors into PostgreSQL.

    The target must hold no items or events yet; the copy is one transaction, and its
    ledger is verified (same head hash) before it commits.
    """
    from store.migrate import copy

    settings = settings_for(config)
    target = _team_url(url, config)
    if not source.exists():
        raise UsageError(f"{source}: no such database")
    with open_store(source, settings) as lite, open_store(target, settings) as shared:
        copied = copy(lite, shared)
    out.print(safe_text(
        f"copied {counted(copied.items, 'item')} and {counted(copied.events, 'ledger event')} "
        f"to {copied.where}; head {copied.head[:16]}… verified on both"
    ))  # fmt: skip
