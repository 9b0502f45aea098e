"""`signoff report --evidence`: ledger facts mapped to the requirements they evidence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tui.cli_common import (
    UsageError,
    cannot_write,
    check_output,
    open_store,
    out,
    settings_for,
    signoff_version,
)
from tui.cli_options import ConfigOption, DbOption
from tui.safe import safe_text, stdout_for

if TYPE_CHECKING:
    from store import Store
    from store.evidence import CheckpointSeen

FORMATS = ("md", "html")


def register(app: typer.Typer) -> None:
    """Add `report` to the `signoff` app."""
    app.command()(report)


def report(
    evidence: Annotated[
        bool,
        typer.Option(
            "--evidence",
            help="The evidence report: figures mapped to EU AI Act, NIST AI RMF, ISO/IEC 42001.",
        ),
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="md or html [default: from -o, else md]."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Check the ledger against this signed checkpoint.", show_default=False),
    ] = None,
    verifier: Annotated[
        str | None,
        typer.Option(help="The verifier key the checkpoint is signed by.", show_default=False),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A report for auditors and regulators (Markdown, or HTML ready to print to PDF)."""
    from store.clock import utc_now
    from store.evidence import gather
    from store.evidence_render import html_page, markdown
    from store.export import atomic_write

    if not evidence:
        raise UsageError(
            "say which report: --evidence (ledger facts mapped to the requirements they evidence)"
        )
    chosen = fmt or (output.suffix.lstrip(".").lower() if output is not None else "md")
    chosen = {"htm": "html", "markdown": "md"}.get(chosen, chosen)
    if chosen not in FORMATS:
        raise UsageError(f"--format must be md or html, not {chosen!r}")
    if (checkpoint is None) != (verifier is None):
        raise UsageError("--checkpoint and --verifier go together")
    if output is not None:
        check_output(output, force=force)
    settings = settings_for(config)
    with open_store(db, settings) as store:
        seen = _checkpoint(store, checkpoint, verifier)
        gathered = gather(
            store, now=utc_now(), checkpoint=seen, retention_days=settings.retention_days
        )
    render = html_page if chosen == "html" else markdown
    text = render(gathered, version=signoff_version())
    if output is None:
        stdout_for(chosen).write(text)
        return
    try:
        with atomic_write(output) as stream:
            stream.write(text)
    except OSError as error:
        cannot_write(output, error)
    state = "all checks passed" if gathered.ok else "CHECKS FAILED (see the report)"
    out.print(safe_text(f"evidence report → {output} ({state})"))


def _checkpoint(store: Store, file: Path | None, verifier: str | None) -> CheckpointSeen | None:
    """The signed checkpoint given, or else the one this machine last verified."""
    from store.evidence import CheckpointSeen
    from tui.cli_checkpoint import read_signed
    from tui.state import remembered_checkpoints

    if file is None or verifier is None:
        known = remembered_checkpoints().get(store.checkpoint().origin)
        if known is None:
            return None
        problem = store.extends(known)
        return CheckpointSeen(known.size, "verified earlier on this machine", problem is None,
                              problem)  # fmt: skip
    signed = read_signed(file, verifier)
    problem = store.extends(signed)
    return CheckpointSeen(signed.size, f"signed by {verifier.split('+')[0]}", problem is None,
                          problem)  # fmt: skip
