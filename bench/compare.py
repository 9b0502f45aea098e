"""Two or more `make bench` results side by side, as the README's Performance table.

    python bench/compare.py bench/results/bench-A.json bench/results/bench-B.json

One Markdown row per figure: each run's ratio, the last run's medians with ranges,
the goal, and whether each run met it. The runs should come from one commit (their
JSON says which); rows whose verdicts differ between runs are counted at the end.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

DASH = "\u2013"
"""Between a range's ends, and in a cell a run has no figure for (as the README writes)."""


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _span(values: list[float], unit: str) -> str:
    middle, low, high = statistics.median(values), min(values), max(values)
    return f"{_number(middle)} {unit} ({_number(low)}{DASH}{_number(high)})"


def table(runs: list[dict[str, Any]]) -> list[str]:
    """The Markdown lines: header, one row per figure of the last run, and a summary."""
    names = [f"run {n + 1}" for n in range(len(runs))]
    head = ["figure", *(f"{name} ratio" for name in names), f"{names[-1]}: ours",
            f"{names[-1]}: yardstick", "goal", f"met ({' / '.join(names)})"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |",
             "|---|" + "--:|" * len(runs) + "---|---|---|---|"]  # fmt: skip
    by_figure = [{row["figure"]: row for row in run["rows"]} for run in runs]
    differ = 0
    for row in runs[-1]["rows"]:
        seen = [rows.get(row["figure"]) for rows in by_figure]
        ratios = [f"{r['ratio']:.2f}" if r else DASH for r in seen]
        met = ["yes" if r and r["met"] else ("**no**" if r else DASH) for r in seen]
        differ += len({m for m in met if m != DASH}) > 1
        lines.append("| " + " | ".join([
            row["figure"], *ratios, _span(row["ours"], row["unit"]),
            _span(row["yardstick"], row["unit"]), row["goal"], " / ".join(met),
        ]) + " |")  # fmt: skip
    commits = sorted({run.get("commit", "unknown") for run in runs})
    lines.append("")
    lines.append(
        f"commits: {', '.join(commits)}; rows whose verdict differs between runs: {differ}"
    )
    return lines


def main() -> None:
    """Print the table of the result files named on the command line."""
    paths = [Path(arg) for arg in sys.argv[1:]]
    if not paths:
        sys.exit("usage: python bench/compare.py RESULT.json [RESULT.json ...]")
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    print("\n".join(table(runs)))


if __name__ == "__main__":
    main()
