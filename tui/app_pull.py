"""The app's background pull: every configured provider, one notice each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from tui.safe import visible
from tui.screens.queue import QueueScreen

if TYPE_CHECKING:
    from tui.app import SignoffApp


async def pull_all(app: SignoffApp) -> None:
    """Pull from every configured provider in turn, each result a notice; then refresh."""
    from store.pull import pull
    from tui.config import ConfigError
    from tui.pulling import build

    for name in sorted(app.settings.providers):
        try:
            provider = build(name, app.settings)
        except ConfigError as error:
            app.notify(visible(str(error)), severity="error", markup=False, timeout=15)
            continue
        try:
            # Same event loop as the UI: network waits never block keys, and each
            # small batch commits between keystrokes.
            summary = await pull(
                app.store,
                provider,
                concurrency=int(getattr(provider.options, "concurrency", 4)),
                batch_size=20,
            )
        finally:
            await provider.http.close()
        troubled = bool(summary.failed or summary.rejected)
        severity: Literal["warning", "information"] = "warning" if troubled else "information"
        lines = [f"{name}: {summary.fetched} new, {summary.failed} failed, "
                 f"{summary.skipped} already queued"]  # fmt: skip
        lines += [f"• {error}" for error in summary.errors[:3]]
        if len(summary.errors) > 3:
            lines.append(f"… {len(summary.errors) - 3} more: `signoff status` lists them")
        app.notify(
            "\n".join(visible(line) for line in lines),
            severity=severity, markup=False, timeout=15 if troubled else 8,
        )  # fmt: skip
    if isinstance(app.screen, QueueScreen):
        app.screen.refresh_queue(keep=None)
