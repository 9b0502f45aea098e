"""The statistics as Rich renderables: tables for the CLI and the app, a calibration chart."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from store.agreement import Agreement, Interval
from store.practice import Period
from store.stats import CalibrationRow, ReviewerStats, Stats
from store.views import BINS
from tui.format import RED, bar
from tui.safe import safe_text

ACTIONS = ("approve", "edit", "override", "reject", "escalate", "retract")


def stats_tables(figures: Stats) -> list[Table]:
    """The figures as Rich tables (also used by the app's Stats screen)."""
    # One column per reviewer (teams are small; metrics are many): fits 80 columns.
    everyone = [*sorted(figures.reviewers.values(), key=lambda r: r.reviewer), figures.overall]
    known = Table("", title="Catches first: where it is known whether the AI was right",
                  title_justify="left", box=None, header_style="bold")  # fmt: skip
    for who in everyone:
        known.add_column(safe_text(who.reviewer), justify="right")
    for name, value in (
        ("AI wrong: caught", lambda w: str(w.caught)),
        ("AI wrong: approved anyway", lambda w: str(w.missed)),
        ("catch rate when the AI was wrong", _known_rate),
        ("AI right: agreed", lambda w: str(w.kept_right)),
        ("AI right: overridden anyway", lambda w: str(w.overrode_right)),
    ):
        known.add_row(name, *(value(w) for w in everyone))
    people = Table("", title="Reviewers", title_justify="left", box=None, header_style="bold")
    for who in everyone:
        people.add_column(safe_text(who.reviewer), justify="right")
    metrics: list[tuple[str, Callable[[ReviewerStats], str]]] = [
        *((action, partial(_count, action)) for action in ACTIONS),
        ("median time on item (s)", lambda w: _secs(w.median_ms)),
        ("p10 time on item (s)", lambda w: _secs(w.p10_ms)),
        ("longest approve streak", lambda w: str(w.longest_approve_streak)),
        ("repeated justifications", lambda w: f"{w.repeat_share:.0%}"),
        ("planted drafts seen", lambda w: str(w.planted_seen)),
        ("planted drafts caught", lambda w: str(w.planted_caught)),
        ("catch rate (95% interval)", _catch),
        ("friction raised", lambda w: str(w.friction_raised)),
        ("commit-first decisions", lambda w: str(w.commit_first)),
        ("… moved toward the AI", lambda w: str(w.moved_toward_ai)),
        ("second reviews (disagreed)", lambda w: f"{w.second_reviews} ({w.disagreements})"),
        ("contradicted by an incident", lambda w: str(w.contradicted)),
    ]
    for name, value in metrics:
        people.add_row(name, *(value(w) for w in everyone))
    tables = [known, people]
    for title, rows in (
        ("Overridden or rejected, by confidence shown", [figures.by_band[b] for b in BINS]),
        ("… by source", sorted(figures.by_source.values(), key=lambda r: r.group)),
        ("… by model", sorted(figures.by_model.values(), key=lambda r: r.group)),
    ):
        table = Table(
            "group",
            "decisions",
            "overridden/rejected",
            "rate",
            "contradicted",
            title=title,
            title_justify="left",
            box=None,
            header_style="bold",
        )
        for row in rows:
            table.add_row(
                safe_text(row.group), str(row.decisions), str(row.overridden),
                f"{row.rate:.0%}", str(row.contradicted),
            )  # fmt: skip
        tables.append(table)
    return tables


def stats_json(figures: Stats) -> dict[str, Any]:
    """The figures as plain JSON-ready data."""

    def person(who: Any) -> dict[str, Any]:
        return {
            "reviewer": who.reviewer, "actions": dict(who.actions), "decisions": who.decisions,
            "median_ms": who.median_ms, "p10_ms": who.p10_ms,
            "longest_approve_streak": who.longest_approve_streak,
            "repeat_share": round(who.repeat_share, 4),
            "planted_seen": who.planted_seen, "planted_caught": who.planted_caught,
            "catch_rate": who.catch_rate, "catch_interval_95": who.catch_interval,
            "friction_raised": who.friction_raised, "signals": dict(who.signals),
            "commit_first": who.commit_first, "moved_toward_ai": who.moved_toward_ai,
            "second_reviews": who.second_reviews, "disagreements": who.disagreements,
            "contradicted": who.contradicted, "ai_wrong_caught": who.caught,
            "ai_wrong_missed": who.missed, "ai_right_agreed": who.kept_right,
            "ai_right_overridden": who.overrode_right,
        }  # fmt: skip

    def rows(table: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"group": r.group, "decisions": r.decisions, "overridden": r.overridden,
                 "rate": round(r.rate, 4), "contradicted": r.contradicted}
                for r in table.values()]  # fmt: skip

    return {
        "events": figures.events,
        "overall": person(figures.overall),
        "reviewers": [person(r) for r in figures.reviewers.values()],
        "calibration": {"by_band": rows(figures.by_band), "by_source": rows(figures.by_source),
                        "by_model": rows(figures.by_model)},
    }  # fmt: skip


def _known_rate(who: ReviewerStats) -> str:
    seen = who.caught + who.missed
    return "-" if not seen else f"{who.caught / seen:.0%}"


def _count(action: str, who: ReviewerStats) -> str:
    return str(who.actions.get(action, 0))


def _catch(who: ReviewerStats) -> str:
    interval = who.catch_interval
    if who.catch_rate is None or interval is None:
        return "-"
    return f"{who.catch_rate:.0%} ({interval[0]:.0%}-{interval[1]:.0%})"


def _secs(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}"


def calibration_chart(rows: list[CalibrationRow], width: int = 30) -> Text:
    """Horizontal bars: the share of decisions overridden or rejected, per group.

    If confidence meant anything, the bars would shrink as confidence grows.
    """
    chart = Text()
    label_width = max((len(r.group) for r in rows), default=8)
    for row in rows:
        chart.append_text(safe_text(row.group.ljust(label_width), style="bold"))
        chart.append(" ")
        style = RED if row.rate >= 0.3 else "yellow" if row.rate >= 0.1 else "green"
        chart.append(bar(row.rate, width) if row.decisions else " " * width, style=style)
        chart.append(
            f" {row.rate:4.0%}  {row.overridden}/{row.decisions}\n" if row.decisions
            else "   no decisions yet\n",
            style="" if row.decisions else "dim",
        )  # fmt: skip
    chart.rstrip()
    return chart


def band_rows(figures: Stats) -> list[CalibrationRow]:
    """Calibration rows in band order."""
    return [figures.by_band[b] for b in BINS]


def agreement_table(found: Agreement) -> Table | Text:
    """Agreement on the double-reviewed items: overall, then each pair of reviewers."""
    if found.items == 0:
        return Text(
            "No item has two independent decisions yet: set [oversight] double_review "
            "(a share of items) or the policy table's second_reviewer.",
            style="dim",
        )
    table = Table(
        "reviewers", "items", "agreed", "Cohen's kappa (95% CI)", box=None, header_style="bold",
        title=f"Agreement on {found.items:,} double-reviewed items "
        f"(Krippendorff's alpha {_interval(found.alpha)})",
        title_justify="left", title_style="bold",
    )  # fmt: skip
    for pair in found.pairs:
        table.add_row(safe_text(" & ".join(pair.reviewers)), f"{pair.items:,}",
                      f"{pair.agreed:,}", _interval(pair.kappa))  # fmt: skip
    return table


def agreement_json(found: Agreement) -> dict[str, Any]:
    """The agreement figures as `signoff stats --json` prints them."""

    def interval(value: Interval | None) -> dict[str, float] | None:
        if value is None:
            return None
        return {"value": round(value.value, 4), "low": round(value.low, 4),
                "high": round(value.high, 4)}  # fmt: skip

    return {
        "items": found.items,
        "agreed": found.agreed,
        "krippendorff_alpha": interval(found.alpha),
        "pairs": [
            {"reviewers": list(p.reviewers), "items": p.items, "agreed": p.agreed,
             "cohens_kappa": interval(p.kappa)}
            for p in found.pairs
        ],
    }  # fmt: skip


def _interval(value: Interval | None) -> str:
    if value is None:
        return "— (too few items or one verb only)"
    return f"{value.value:.2f} ({value.low:.2f} to {value.high:.2f})"


def practice_view(periods: list[Period]) -> Group:
    """Unaided (AI-off practice) accuracy per month, the answers a month needs, any alarm."""
    from store.practice import DROP, alarm, needed_per_period

    title = Text("Unaided accuracy (AI-off practice), the team, per month", style="bold")
    if not periods:
        return Group(title, Text(
            "No practice answers yet: set [oversight] practice (e.g. 0.03) so that a share "
            "of opened items comes without draft or confidence.", style="dim"))  # fmt: skip
    table = Table("month", "answers", "correct", "rate", "95% interval", box=None,
                  header_style="bold")  # fmt: skip
    for p in periods:
        low, high = p.interval or (0.0, 0.0)
        table.add_row(p.month, str(p.answers), str(p.correct), f"{p.rate:.0%}",
                      f"{low:.0%}-{high:.0%}")  # fmt: skip
    answered = sum(p.answers for p in periods)
    base = sum(p.correct for p in periods) / answered
    needed, sums = needed_per_period(base)
    lines: list[RenderableType] = [title, table, Text(
        f"To see a drop of {DROP:.0%} points from {base:.0%} (one-sided, 5 % error, 80 % "
        f"power) a month needs {needed} practice answers:\n  {sums}", style="dim")]  # fmt: skip
    if (said := alarm(periods)) is not None:
        lines.append(Text(said, style=f"bold {RED}"))
    return Group(*lines)


def practice_json(periods: list[Period]) -> list[dict[str, Any]]:
    """The monthly figures as JSON-ready data."""
    return [{"month": p.month, "answers": p.answers, "correct": p.correct,
             "rate": round(p.rate, 4), "interval_95": p.interval} for p in periods]  # fmt: skip
