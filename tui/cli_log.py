"""Decision-log commands: `export`, `verify`, `backup`, `stats`."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from providers.text import counted
from store.clock import iso, utc_now
from tui.cli_common import (
    ConfigOption,
    DbOption,
    UsageError,
    cannot_write,
    check_output,
    fail,
    open_store,
    out,
    settings_for,
)
from tui.paths import resolve_db
from tui.safe import dump_json, safe_text, stdout_for

if TYPE_CHECKING:
    from store.export import ExportFilter

# Store modules load inside each command: `signoff review` never pays for the export code.

ACTIONS = ("approve", "edit", "override", "reject", "escalate", "retract")


def register(app: typer.Typer) -> None:
    """Add the decision-log commands to the `signoff` app."""
    app.command()(export)
    app.command()(verify)
    app.command()(backup)
    app.command()(stats)


def export(
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="jsonl, csv or md [default: from -o, else jsonl]."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="File to write (a manifest goes beside it).",
            show_default="stdout",
        ),
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this date or time (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date (inclusive) or time.")] = None,
    reviewer: Annotated[str | None, typer.Option(help="Only this reviewer's events.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    stakes: Annotated[str | None, typer.Option(help="Only items of these stakes.")] = None,
    include_planted: Annotated[
        bool,
        typer.Option("--include-planted", help="Include decisions on planted catch-trial drafts."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Export the decision log; with -o, atomically and with a manifest for audits.

    Decisions on planted catch-trial drafts are not real decisions and are left out
    unless --include-planted is given (the manifest says which).
    """
    from store.export import (
        FORMATS,
        ExportFilter,
        Manifest,
        atomic_write,
        file_sha256,
        ledger_state,
        manifest_path,
        planted_events_exist,
    )

    suffix = output.suffix.lstrip(".").lower() if output else ""
    chosen = fmt or suffix or "jsonl"
    if chosen not in FORMATS:
        raise UsageError(f"format {chosen!r} is not one of {', '.join(FORMATS)}")
    if fmt and suffix in FORMATS and suffix != fmt:
        raise UsageError(f"-f {fmt} would write {fmt.upper()} into {output}; name it .{fmt}")
    if output is not None:
        check_output(output, force=force)
    if action is not None and action not in ACTIONS:
        raise UsageError(f"--action must be one of {', '.join(ACTIONS)}")
    if stakes is not None and stakes not in ("low", "medium", "high"):
        raise UsageError("--stakes must be one of low, medium, high")
    where = ExportFilter(
        since=_when(since, "--since"), until=_when(until, "--until", end=True),
        reviewer=reviewer, action=action, source=source, stakes=stakes,
        include_planted=include_planted,
    )  # fmt: skip
    path = resolve_db(db)
    with open_store(path, settings_for(config)) as store:
        conn = store.conn
        # One read transaction: the file, its count and the head all describe one moment.
        conn.execute("BEGIN")
        try:
            head, total = ledger_state(conn)
            planted = planted_events_exist(conn)
            first, last = _seq_range(conn, where)
            if first is None:
                left_out = ", planted ones left out" if planted and not include_planted else ""
                fail(f"no events match ({counted(total, 'event')} in the ledger{left_out}); "
                     "nothing written")  # fmt: skip
            if output is None:
                _write(chosen, stdout_for(chosen), conn, where)
                return
            try:
                with atomic_write(output, newline="" if chosen == "csv" else None) as stream:
                    count = _write(chosen, stream, conn, where)
            except OSError as error:
                cannot_write(output, error)
        finally:
            conn.execute("COMMIT")
    manifest = Manifest(
        file=output.name, format=chosen, events=count, first_seq=first, last_seq=last,
        ledger_head=head, ledger_events=total,
        filter=where.as_json(planted_exist=planted),
        sha256=file_sha256(output), exported_at=iso(utc_now()), signoff_version=_version(),
    )  # fmt: skip
    manifest.write(manifest_path(output))
    out.print(safe_text(
        f"{counted(count, 'event')} → {output} (manifest {manifest_path(output).name})"
    ))  # fmt: skip


def _write(fmt: str, stream: Any, conn: sqlite3.Connection, where: ExportFilter) -> int:
    from store.export import events
    from store.writers import write_csv, write_jsonl, write_md

    if fmt == "jsonl":
        return write_jsonl(stream, events(conn, where))
    if fmt == "csv":
        return write_csv(stream, conn, where)
    return write_md(stream, conn, where, title="signoff decision log")


def _seq_range(conn: sqlite3.Connection, where: ExportFilter) -> tuple[int | None, int | None]:
    clause, args = where.sql()
    row = conn.execute(
        f"SELECT min(e.seq), max(e.seq) FROM ledger AS e JOIN items AS i "
        f"ON i.id = e.item_id WHERE {clause}",
        args,
    ).fetchone()
    return row[0], row[1]


def verify(
    file: Annotated[
        Path | None,
        typer.Argument(help="The export [default: from the manifest].", show_default=False),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Check an export against this manifest.", show_default=False)
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Recompute the ledger's hash chain; with --manifest, check an export too."""
    from store.audit import verify_export
    from store.export import Manifest

    with open_store(resolve_db(db), settings_for(config)) as store:
        report = store.verify_chain()
        if not report.ok:
            fail(
                f"ledger broken at event {report.first_bad_seq}: {report.problem}; "
                f"{report.affected:,} of {counted(report.events, 'event')} are in doubt"
            )
        if manifest is None:
            out.print(f"ok: {counted(report.events, 'event')}, head {report.head}")
            return
        try:
            expected = Manifest.read(manifest)
        except ValueError as error:
            raise UsageError(str(error)) from None
        target = file or manifest.parent / expected.file
        audit = verify_export(store.conn, expected, target)
    if not audit.ok:
        for problem in audit.problems:
            out.print(safe_text(f"{target.name}: {problem}"), style="red")
        fail(f"{target} does not match its manifest and the ledger")
    out.print(safe_text(
        f"ok: {target.name} holds the {counted(audit.checked, 'event')} its manifest lists, "
        f"and the ledger still has the head recorded at export ({expected.ledger_head[:12]})"
    ))  # fmt: skip


def backup(
    target: Annotated[Path, typer.Argument(help="Where to write the copy.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Copy the live database with SQLite's online backup (a plain cp of a WAL file is not safe)."""
    check_output(target, force=force)
    with open_store(resolve_db(db), settings_for(config)) as store:
        temp = target.with_name(f".{target.name}.partial")
        try:
            temp.unlink(missing_ok=True)
            copy = sqlite3.connect(temp)
            try:
                store.conn.backup(copy)
                check = copy.execute("PRAGMA integrity_check").fetchone()[0]
                events = copy.execute("SELECT count(*) FROM ledger").fetchone()[0]
            finally:
                copy.close()
            if check != "ok":
                temp.unlink(missing_ok=True)
                fail(f"the copy failed its integrity check ({check}); nothing was written")
            temp.replace(target)
        except (OSError, sqlite3.Error) as error:
            temp.unlink(missing_ok=True)
            reason = error.strerror if isinstance(error, OSError) else str(error)
            fail(f"{target}: cannot write the backup ({reason or error}); nothing was written")
    out.print(
        safe_text(f"backup written: {target} ({counted(events, 'ledger event')}, integrity ok)")
    )


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Per-reviewer habits and how often the AI was overridden, by confidence shown."""
    from store.export import ExportFilter, stats_for
    from tui.stats_view import stats_json, stats_tables

    with open_store(resolve_db(db), settings_for(config)) as store:
        figures = stats_for(store.conn, ExportFilter(include_planted=True))
    if as_json:
        sys.stdout.write(dump_json(stats_json(figures)) + "\n")
        return
    for table in stats_tables(figures):
        out.print(table)
        out.print()


def _when(text: str | None, option: str, *, end: bool = False) -> str | None:
    """A date (`2026-11-01`) or time (`2026-11-01T09:30`, UTC unless zoned) as stored text.

    A plain date given to --until includes that whole day.
    """
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date (2026-11-01) or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if end and len(text.strip()) == 10:
        moment += dt.timedelta(days=1)
    return iso(moment)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("signoff")
    except PackageNotFoundError:
        return "unknown"
