"""`signoff providers` and `signoff pull`: build configured providers and run them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from store.clock import utc_now
from tui.cli_common import UsageError, err, mix_in_catch_trials, open_store, out, settings_for
from tui.cli_options import ConfigOption, DbOption
from tui.config import ConfigError, Settings
from tui.safe import safe_text

if TYPE_CHECKING:
    import httpx

    from providers.adapter import Provider
    from store.pull import PullSummary


def build(
    name: str,
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Provider:
    """The provider configured as `[providers.NAME]`, with its secrets from the environment.

    Raises:
        ConfigError: Naming the file, the table and the key.
    """
    # Loaded here, not at import: the review app and other commands never need them.
    from providers import registry
    from providers.adapter import OptionsError

    where_file = str(settings.path) if settings.path else "config"
    tables = settings.providers
    if name not in tables:
        known = ", ".join(sorted(tables)) or "none configured"
        raise ConfigError(f"{where_file}: no [providers.{name}] table ({known})")
    table = tables[name]
    where = f"{where_file}: [providers.{name}]"
    type_name = table.get("type")
    if not isinstance(type_name, str):
        raise ConfigError(f"{where}: missing key 'type' (e.g. type = \"openai\")")
    try:
        cls = registry.load(type_name)
        base = settings.path.parent if settings.path else Path.cwd()
        options = cls.Options.parse(table, where, base_dir=base)
    except LookupError as error:
        raise ConfigError(f"{where}: {error}") from None
    except OptionsError as error:
        raise ConfigError(str(error)) from None
    environ = os.environ if env is None else env
    secrets: dict[str, str] = {}
    for secret, variable in cls.secret_names(options).items():
        value = environ.get(variable, "")
        if not value:
            raise ConfigError(f"{where}: ${variable} is not set (named by {secret}_env)")
        secrets[secret] = value
    from providers.http import Http, HttpPolicy  # httpx loads only when a provider runs

    http = Http(
        name,
        HttpPolicy(deadline=float(getattr(options, "deadline", 60.0))),
        secrets=tuple(secrets.values()),
        transport=transport,
    )
    return cls(name, options, http=http, secrets=secrets, now=utc_now)


def providers_command(config: ConfigOption = None) -> None:
    """List configured providers and installed provider types."""
    from rich.table import Table

    from providers import registry

    settings = settings_for(config)
    table = Table("name", "type", "source", box=None, header_style="bold")
    for name, raw in sorted(settings.providers.items()):
        type_name = str(raw.get("type", "?"))
        installed = type_name in registry.available()
        table.add_row(
            safe_text(name), safe_text(type_name + ("" if installed else " (not installed)")),
            safe_text(str(raw.get("source") or name)),
        )  # fmt: skip
    if settings.providers:
        out.print(table)
    else:
        out.print("no providers configured: add a [providers.NAME] table to your config")
    out.print(f"installed types: {', '.join(registry.available())}")


def pull_command(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Providers to run [default: all].", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be fetched; call nothing.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch again records already queued.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Fetch at most this many per provider.")] = None,
    watch: Annotated[
        float | None,
        typer.Option(help="Keep pulling every this many seconds until Ctrl-C.", show_default=False),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fill the queue from configured providers."""
    import asyncio

    settings = settings_for(config)
    chosen = names or sorted(settings.providers)
    if not chosen:
        raise UsageError("no providers configured: add a [providers.NAME] table to your config")
    failed = False
    with open_store(db, settings, create=True) as store:
        while True:
            for name in chosen:
                provider = build(name, settings)
                summary = asyncio.run(_run(store, provider, dry_run, refresh, limit))
                if not watch or summary.fetched or summary.errors:
                    _report(summary, dry_run)
                failed = failed or bool(summary.failed or summary.rejected)
            if not dry_run:
                mix_in_catch_trials(store, settings)
            if not watch or dry_run:
                break
            try:
                time.sleep(watch)
            except KeyboardInterrupt:
                break  # everything fetched so far is committed
    if failed:
        raise typer.Exit(1)


async def _run(store: Any, provider: Provider, dry_run: bool, refresh: bool,
               limit: int | None) -> PullSummary:  # fmt: skip
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from store.pull import pull

    options = provider.options
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"))  # fmt: skip
    try:
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task(provider.name, total=None, rate="")
            update: Callable[[PullSummary], None] = lambda s: bar.update(  # noqa: E731
                task, completed=s.fetched + s.failed, rate=f"{s.rate:.1f}/s, {s.failed} failed"
            )
            return await pull(
                store, provider, concurrency=int(getattr(options, "concurrency", 4)),
                rate_per_second=float(getattr(options, "rate_per_second", 0.0)),
                refresh=refresh, dry_run=dry_run, limit=limit, on_progress=update,
            )  # fmt: skip
    finally:
        await provider.http.close()


def _report(summary: PullSummary, dry_run: bool) -> None:
    for line in summary.errors[:50]:
        err.print(safe_text(line))
    if len(summary.errors) > 50:
        err.print(f"… and {len(summary.errors) - 50:,} more")
    if dry_run:
        todo = summary.jobs - summary.skipped
        out.print(safe_text(
            f"{summary.provider}: would fetch {todo:,} of {summary.jobs:,} records "
            f"({summary.skipped:,} already queued, {summary.rejected:,} unreadable)"
        ))  # fmt: skip
        return
    stored = summary.stored
    out.print(safe_text(
        f"{summary.provider}: {summary.fetched:,} fetched ({summary.rate:.1f}/s), "
        f"{summary.failed:,} failed, {summary.skipped:,} already queued, "
        f"{summary.rejected:,} unreadable; stored {stored.added:,} added, "
        f"{stored.updated:,} updated"
    ))  # fmt: skip


def push_command(db: DbOption = None, config: ConfigOption = None) -> None:
    """Deliver recorded decisions back to their sources (retries what failed before)."""
    import asyncio

    from store.push import push

    settings = settings_for(config)
    with open_store(db, settings) as store:
        receivers = {}
        for name, table in settings.providers.items():
            if table.get("deliver_url"):
                provider = build(name, settings)
                receivers[provider.source] = provider

        async def run() -> Any:
            try:
                return await push(store, receivers)
            finally:
                for provider in receivers.values():
                    await provider.http.close()

        summary = asyncio.run(run())
        waiting, oldest = store.backlog()
    for line in summary.errors[:50]:
        err.print(safe_text(line))
    out.print(safe_text(
        f"{summary.delivered:,} delivered, {summary.failed:,} failed (retried later with "
        f"backoff), {summary.unroutable:,} with no receiver; {waiting:,} waiting"
        + (f" since {oldest}" if oldest else "")
    ))  # fmt: skip
    if summary.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `providers`, `pull` and `push` to the `signoff` app."""
    app.command("providers")(providers_command)
    app.command("pull")(pull_command)
    app.command("push")(push_command)
