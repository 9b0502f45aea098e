"""Decision-log commands: `export`, `verify`, `backup`, `stats`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from providers.text import counted
from store import Store, StoreError
from store.clock import iso, utc_now
from tui.cli_common import (
    UsageError,
    cannot_write,
    check_output,
    fail,
    open_store,
    out,
    settings_for,
    signoff_version,
)
from tui.cli_options import ConfigOption, DbOption
from tui.safe import dump_json, safe_text, stdout_for

if TYPE_CHECKING:
    from store.checkpoint import Checkpoint

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
    key: Annotated[
        Path | None,
        typer.Option(help="Also sign a checkpoint of the ledger as exported (FILE.checkpoint)."),
    ] = None,
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
        manifest_path,
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
    with open_store(db, settings_for(config)) as store, store.snapshot() as snap:
        head, total = snap.state()
        # The checkpoint of the ledger (and register) as exported, read in this snapshot.
        signed = store.checkpoint() if key is not None else None
        planted = snap.planted_exist()
        first, last = snap.seq_range(where)
        if first is None:
            left_out = ", planted ones left out" if planted and not include_planted else ""
            fail(f"no events match ({counted(total, 'event')} in the ledger{left_out}); "
                 "nothing written")  # fmt: skip
        if output is None:
            snap.write(chosen, stdout_for(chosen), where)
            return
        try:
            with atomic_write(output, newline="" if chosen == "csv" else None) as stream:
                count = snap.write(chosen, stream, where)
        except OSError as error:
            cannot_write(output, error)
    manifest = Manifest(
        file=output.name, format=chosen, events=count, first_seq=first, last_seq=last,
        ledger_head=head, ledger_events=total,
        filter=where.as_json(planted_exist=planted),
        sha256=file_sha256(output), exported_at=iso(utc_now()), signoff_version=signoff_version(),
        use_cards=dict(store.use_cards),
    )  # fmt: skip
    manifest.write(manifest_path(output))
    out.print(safe_text(
        f"{counted(count, 'event')} → {output} (manifest {manifest_path(output).name})"
    ))  # fmt: skip
    if key is not None and signed is not None:
        _sign_export(key, signed, output)


def _sign_export(key: Path, signed: Checkpoint, output: Path) -> None:
    """A checkpoint of the ledger as it was exported, beside the export."""
    from store.checkpoint import CheckpointError, sign

    size = signed.size
    try:
        note = sign(signed, key.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"{key}: cannot read the key ({error.strerror or error}); the export is written")
    except UnicodeDecodeError:
        fail(f"{key}: not a signoff key (not text); the export is written, unsigned")
    except CheckpointError as error:
        fail(f"{key}: {error}; the export is written, unsigned")
    target = output.with_name(output.name + ".checkpoint")
    try:
        target.write_text(note, encoding="utf-8")
    except OSError as error:
        cannot_write(target, error)
    out.print(safe_text(f"checkpoint of {size:,} events signed → {target.name}"))


def verify(
    file: Annotated[
        Path | None,
        typer.Argument(help="The export [default: from the manifest].", show_default=False),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Check an export against this manifest.", show_default=False)
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Prove the ledger extends this signed checkpoint.", show_default=False),
    ] = None,
    verifier: Annotated[
        str | None,
        typer.Option(help="The verifier key the checkpoint must be signed by.", show_default=False),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Check the chain, incident register, guards and drafts; also an export or a checkpoint."""
    from store.chain_split import processors
    from store.export import Manifest

    with open_store(db, settings_for(config)) as store:
        report = store.verify_chain(workers=processors())
        if not report.ok:
            fail(
                f"ledger broken at event {report.first_bad_seq}: {report.problem}; "
                f"{report.affected:,} of {counted(report.events, 'event')} are in doubt"
            )
        guards = store.integrity()
        if guards:
            for problem in guards:
                out.print(safe_text(problem), style="red")
            fail(f"the chain holds, but {counted(len(guards), 'check')} failed (above)")
        if checkpoint is not None:
            _verify_checkpoint(store, checkpoint, verifier)
        if manifest is None:
            entries = store.register_head()[0]
            register = (
                f"; incident register: {counted(entries, 'entry', 'entries')}" if entries else ""
            )
            out.print(f"ok: {counted(report.events, 'event')}, head {report.head}{register}")
            return
        try:
            expected = Manifest.read(manifest)
        except ValueError as error:
            raise UsageError(str(error)) from None
        target = file or manifest.parent / expected.file
        audit = store.verify_export(expected, target, workers=processors())
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
    with open_store(db, settings_for(config)) as store:
        temp = target.with_name(f".{target.name}.partial")
        try:
            temp.unlink(missing_ok=True)
            check, events = store.backup_to(temp)
            if check != "ok":
                temp.unlink(missing_ok=True)
                fail(f"the copy failed its integrity check ({check}); nothing was written")
            temp.replace(target)
        except (OSError, StoreError) as error:
            temp.unlink(missing_ok=True)
            reason = error.strerror if isinstance(error, OSError) else str(error)
            fail(f"{target}: cannot write the backup ({reason or error}); nothing was written")
    out.print(
        safe_text(f"backup written: {target} ({counted(events, 'ledger event')}, integrity ok)")
    )


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Count every event again, not only those after the figures an earlier pass kept.",
        ),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Per-reviewer habits and how often the AI was overridden, by confidence shown."""
    from tui.stats_view import (
        agreement_json,
        agreement_table,
        practice_json,
        practice_view,
        stats_json,
        stats_tables,
    )

    with open_store(db, settings_for(config)) as store:
        figures = store.stats(fresh=fresh)
        overlap = store.agreement()
        practice = store.practice_trend()
    if as_json:
        payload = {**stats_json(figures), "agreement": agreement_json(overlap),
                   "practice": practice_json(practice)}  # fmt: skip
        sys.stdout.write(dump_json(payload) + "\n")
        return
    for table in stats_tables(figures):
        out.print(table)
        out.print()
    out.print(agreement_table(overlap))
    out.print()
    out.print(practice_view(practice))


def _verify_checkpoint(store: Store, file: Path, verifier: str | None) -> None:
    """The ledger extends the signed checkpoint in `file`; remembered on this machine."""
    from tui.cli_checkpoint import read_signed
    from tui.state import remember_checkpoint

    if verifier is None:
        raise UsageError("--checkpoint needs --verifier (the signer's verifier key)")
    signed = read_signed(file, verifier)
    problem = store.extends(signed)
    if problem is not None:
        fail(f"{file}: the ledger does not extend this checkpoint: {problem}")
    remember_checkpoint(signed)
    out.print(safe_text(
        f"ok: the ledger extends the checkpoint of {signed.size:,} events signed by "
        f"{verifier.split('+')[0]} (remembered: a rebuilt ledger will be refused here)"
    ))  # fmt: skip


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
