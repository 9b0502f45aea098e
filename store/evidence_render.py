"""The evidence report as Markdown or as print-ready HTML (one self-contained file).

Every piece of text that came from outside signoff (names, sources, incident accounts)
is made visible (`providers.text.visible`) and escaped for the format, so nothing in
the data can become a link, a heading or a script in the report.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Final

from providers.text import visible

if TYPE_CHECKING:
    from store.evidence import Evidence

NOTE: Final = (
    "Requirements are paraphrased to name what each asks; read the texts themselves. "
    "ISO/IEC 42001 control numbers are those of the 2023 edition's Annex A."
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", visible(str(text)))


def _h(text: str) -> str:
    return html.escape(visible(str(text)))


def verdict(e: Evidence) -> str:
    """One line: do the chain, the register and the guards check out."""
    if e.ok:
        return "All integrity checks passed: chain, incident register and guards."
    return "INTEGRITY CHECKS FAILED: the figures below may not be trustworthy (see the list)."


def summary_rows(e: Evidence) -> list[tuple[str, str]]:
    """The headline figures, as (label, value)."""
    s = e.stats.overall
    period = "no events yet"
    if e.first_at and e.last_at:
        period = f"{e.first_at:%Y-%m-%d %H:%M} to {e.last_at:%Y-%m-%d %H:%M} UTC"
    catch = "-"
    if s.planted_seen:
        catch = f"{s.planted_caught} of {s.planted_seen} ({s.planted_caught / s.planted_seen:.0%})"
    return [
        ("period", period),
        ("ledger events", f"{e.chain.events:,}"),
        ("decisions standing", f"{s.decisions:,}"),
        ("reviewers", f"{len(e.stats.reviewers):,}"),
        ("edited, overridden or rejected",
         f"{sum(s.actions.get(a, 0) for a in ('edit', 'override', 'reject')):,}"),
        ("escalations (still open)", f"{e.escalations:,} ({e.escalations_open:,})"),
        ("catch trials caught", catch),
        ("incidents and complaints (open)",
         f"{len(e.incidents):,} ({e.incident_count(status='open'):,})"),
        ("decisions contradicted by a confirmed incident", f"{s.contradicted:,}"),
        *(
            [("archived (in files, not in these figures)",
              f"events 1-{e.cuts[-1].through_seq:,}")] if e.cuts else []
        ),
        ("signed checkpoint", "none checked" if e.checkpoint is None else
         f"{e.checkpoint.size:,} events, {'extended' if e.checkpoint.extends else 'NOT extended'}"),
    ]  # fmt: skip


def reviewer_rows(e: Evidence) -> list[list[str]]:
    """Per reviewer: decisions, changed or refused, catch trials, contradicted, median time."""
    rows = []
    for who in sorted(e.stats.reviewers.values(), key=lambda r: r.reviewer):
        changed = sum(who.actions.get(a, 0) for a in ("edit", "override", "reject"))
        caught = f"{who.planted_caught}/{who.planted_seen}" if who.planted_seen else "-"
        median = "-" if who.median_ms is None else f"{who.median_ms / 1000:.0f} s"
        rows.append([who.reviewer, f"{who.decisions:,}", f"{changed:,}", caught,
                     f"{who.contradicted:,}", median])  # fmt: skip
    return rows


REVIEWER_HEADER: Final = ["reviewer", "decisions", "changed or refused", "catch trials caught",
                          "contradicted", "median time"]  # fmt: skip


def incident_rows(e: Evidence) -> list[list[str]]:
    """Each incident: number, kind, severity, status, reported, by, what, resolution."""
    rows = []
    for i in e.incidents:
        r, x = i.report, i.resolution
        resolution = "" if x is None else f"{x.outcome} by {x.recorded_by}: {x.text}"
        rows.append([str(i.number), r.kind or "", r.severity or "", i.status,
                     f"{r.recorded_at:%Y-%m-%d}", r.reported_by,
                     ", ".join(f"#{seq}" for seq in r.decisions), r.text, resolution])  # fmt: skip
    return rows


INCIDENT_HEADER: Final = ["no.", "kind", "severity", "status", "reported", "by", "against",
                          "what happened", "resolution"]  # fmt: skip


def markdown(e: Evidence, *, version: str) -> str:
    """The report as Markdown."""
    out = [f"# signoff evidence report\n\n{_md(e.where)}, made {e.made_at:%Y-%m-%d %H:%M} UTC "
           f"by signoff {_md(version)}.\n\n**{verdict(e)}**\n\n_{NOTE}_\n\n## Summary\n\n"
           "| figure | value |\n|---|---|\n"]  # fmt: skip
    out += [f"| {_md(label)} | {_md(value)} |\n" for label, value in summary_rows(e)]
    out.append("\n## Requirements and what this ledger shows\n\n")
    for req in e.requirements:
        out.append(f"### {_md(req.framework)} {_md(req.clause)}\n\nAsks: {_md(req.asks)}.\n\n"
                   "The ledger shows:\n\n")  # fmt: skip
        out += [f"- {_md(line)}\n" for line in req.evidence]
        out.append(f"\nsignoff cannot evidence: {_md(req.cannot)}.\n\n")
    if e.problems:
        out.append("## Integrity checks that failed\n\n")
        out += [f"- {_md(p)}\n" for p in e.problems]
        out.append("\n")
    out.append(_md_table("Reviewers", REVIEWER_HEADER, reviewer_rows(e)))
    out.append(_md_table("Calibration: changed or refused, and contradicted, by confidence shown",
                         ["confidence shown", "decisions", "overridden or rejected",
                          "contradicted"], _band_rows(e)))  # fmt: skip
    out.append(_md_table("Incidents and complaints", INCIDENT_HEADER, incident_rows(e)))
    out.append(_reproduce())
    return "".join(out)


def _band_rows(e: Evidence) -> list[list[str]]:
    rows = []
    for name, row in e.stats.by_band.items():
        rows.append([name, f"{row.decisions:,}", f"{row.overridden:,}", f"{row.contradicted:,}"])
    return rows


def _md_table(title: str, header: list[str], rows: list[list[str]]) -> str:
    text = f"## {title}\n\n"
    if not rows:
        return text + "None.\n\n"
    text += "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    for row in rows:
        text += "| " + " | ".join(_md(cell) for cell in row) + " |\n"
    return text + "\n"


CHECKING: Final = (
    "Every figure above was read from the database when the report was made. To check "
    "them: `signoff verify` (chain, register, guards), `signoff verify --checkpoint FILE "
    "--verifier KEY` (a signed checkpoint), `signoff stats`, `signoff incident list`, and "
    "the auditor views `standing_decisions`, `overrides`, `escalations_and_resolutions`, "
    "`incidents` in the database itself."
)
"""How to check the report: our own text, its code spans in backticks (both formats)."""


def _reproduce() -> str:
    return f"## Checking this report\n\n{CHECKING}\n"


def _html_code(text: str) -> str:
    """`CHECKING`'s backtick spans as <code> (every other piece is prose)."""
    pieces = text.split("`")
    return "".join(f"<code>{_h(p)}</code>" if i % 2 else _h(p) for i, p in enumerate(pieces))


_CSS: Final = """
@page { size: A4; margin: 18mm 16mm; }
body { font: 10.5pt/1.45 system-ui, sans-serif; color: #111; max-width: 60em; margin: auto; }
h1 { font-size: 17pt; margin-bottom: 0; } h2 { font-size: 13pt; margin-top: 1.6em; }
h3 { font-size: 11pt; margin: 1.2em 0 .3em; } .note { color: #555; font-style: italic; }
.ok { color: #065f46; font-weight: bold; } .fail { color: #b91c1c; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { border: 1px solid #bbb; padding: .25em .45em; text-align: left; vertical-align: top; }
th { background: #f1f1f1; } tr, .req { page-break-inside: avoid; break-inside: avoid; }
.cannot { color: #7c2d12; } ul { margin: .2em 0; }
"""


def html_page(e: Evidence, *, version: str) -> str:
    """The report as one HTML file with print styles (A4), ready to print to PDF."""
    state = "ok" if e.ok else "fail"
    parts = [
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>signoff evidence report</title><style>{_CSS}</style></head><body>\n",
        f"<h1>signoff evidence report</h1>\n<p>{_h(e.where)}, made "
        f"{e.made_at:%Y-%m-%d %H:%M} UTC by signoff {_h(version)}.</p>\n",
        f'<p class="{state}">{_h(verdict(e))}</p>\n<p class="note">{_h(NOTE)}</p>\n',
        "<h2>Summary</h2>\n",
        _html_table(["figure", "value"], [list(row) for row in summary_rows(e)]),
        "<h2>Requirements and what this ledger shows</h2>\n",
    ]
    for req in e.requirements:
        items = "".join(f"<li>{_h(line)}</li>" for line in req.evidence)
        parts.append(
            f'<div class="req"><h3>{_h(req.framework)} {_h(req.clause)}</h3>'
            f"<p>Asks: {_h(req.asks)}.</p><p>The ledger shows:</p><ul>{items}</ul>"
            f'<p class="cannot">signoff cannot evidence: {_h(req.cannot)}.</p></div>\n'
        )
    if e.problems:
        items = "".join(f"<li>{_h(p)}</li>" for p in e.problems)
        parts.append(f'<h2>Integrity checks that failed</h2><ul class="fail">{items}</ul>\n')
    for title, header, rows in (
        ("Reviewers", REVIEWER_HEADER, reviewer_rows(e)),
        ("Calibration by confidence shown",
         ["confidence shown", "decisions", "overridden or rejected", "contradicted"],
         _band_rows(e)),
        ("Incidents and complaints", INCIDENT_HEADER, incident_rows(e)),
    ):  # fmt: skip
        parts.append(f"<h2>{_h(title)}</h2>\n")
        parts.append(_html_table(header, rows) if rows else "<p>None.</p>\n")
    parts.append(f"<h2>Checking this report</h2>\n<p>{_html_code(CHECKING)}</p>\n")
    parts.append("</body></html>\n")
    return "".join(parts)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_h(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_h(cell)}</td>" for cell in row) + "</tr>\n" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n"
