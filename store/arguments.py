"""The arguments of a decision, checked before any transaction: text, reason code, output.

Every message is the one line a reviewer or script sees; nothing here touches the
database.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from providers.records import check_text
from store.errors import DecisionError
from store.models import Action

REASON_CODE: Final = r"^[a-z0-9][a-z0-9_.-]{0,47}$"
"""What a reason code looks like (`factual-error`): the store's rule, the config's too."""
REASON_RE: Final = re.compile(REASON_CODE)


def checked_text(value: str, name: str) -> str:
    """`value` if it can be stored as the decision's `name`; else `DecisionError`."""
    try:
        return check_text(value, name)
    except ValueError as error:
        raise DecisionError(str(error)) from None


def checked_reason(code: str | None, action: Action) -> str | None:
    """The reason code as stored (lower case), required for override and reject."""
    if code is None or not code.strip():
        if action in ("override", "reject"):
            raise DecisionError(f"{action} needs a reason code (e.g. factual-error, tone, policy)")
        return None
    code = code.strip().lower()
    if not REASON_RE.match(code):
        raise DecisionError(
            f"reason code {code[:50]!r} must be a short tag of letters, digits, '-', '_' or '.'"
        )
    return code


def decision_output(action: Action, output: str | None, draft: str) -> str | None:
    """What the decision outputs: the draft (approve), the new text or value, or None."""
    if action == "approve":
        if output is not None and output != draft:
            raise DecisionError("approve keeps the draft as it is; use edit to change it")
        return draft
    if action in ("edit", "override"):
        if output is None or not output.strip():
            raise DecisionError(
                f"{action} needs the {'edited text' if action == 'edit' else 'new value'}"
            )
        text = checked_text(output, "output")
        if action == "edit" and text == draft:
            raise DecisionError("the edited text is the same as the draft; approve instead")
        return text
    if output is not None:
        raise DecisionError(f"{action} records no output")
    return None


def elapsed_ms(delta: dt.timedelta) -> int:
    """A duration in whole milliseconds, never negative (clocks step back)."""
    return max(0, int(delta.total_seconds() * 1000))
