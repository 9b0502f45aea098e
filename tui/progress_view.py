"""Progress as a terminal chart: `signoff progress` and the app's progress view."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from store import ReviewerProgress, SourceProgress
from tui.format import bar
from tui.safe import safe_text

BAR = 16
"""Cells of the longest bar."""


def reviewer_chart(people: list[ReviewerProgress]) -> Table:
    """Per reviewer: done (green) and assigned, still waiting (grey), as one bar; figures."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for title in ("reviewer", "done ▇ / assigned ░", "done", "assigned", "escalated", "median"):
        table.add_column(title, no_wrap=True)
    most = max((p.done + p.assigned for p in people), default=0) or 1
    for p in people:
        done_cells = round(BAR * p.done / most)
        waiting_cells = round(BAR * (p.done + p.assigned) / most) - done_cells
        chart = Text("▇" * done_cells, style="green")
        chart.append("░" * waiting_cells, style="dim")
        median = "—" if p.median_ms is None else f"{p.median_ms / 1000:.0f} s"
        table.add_row(safe_text(p.reviewer), chart, f"{p.done:,}", f"{p.assigned:,}",
                      f"{p.escalated:,}", median)  # fmt: skip
    return table


def source_chart(sources: list[SourceProgress]) -> Table:
    """Per source: the counts by state, then the share decided as a bar."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for title in ("source", "decided", "pending", "assigned", "claimed", "escalated"):
        table.add_column(title, no_wrap=True)
    table.add_column("share", no_wrap=True)
    for s in sources:
        total = s.pending + s.claimed + s.decided + s.escalated
        share = s.decided / total if total else 0.0
        chart = Text(bar(share, BAR // 4), style="green")
        chart.append(f" {share:.0%}", style="dim")
        table.add_row(safe_text(s.source), f"{s.decided:,}", f"{s.pending:,}",
                      f"{s.assigned:,}", f"{s.claimed:,}", f"{s.escalated:,}", chart)  # fmt: skip
    return table
