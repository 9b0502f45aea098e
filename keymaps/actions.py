"""Every remappable action, by stable binding id (`<scope>.<action>`).

The review app builds its Textual `Binding`s from this table; keymap files bind
keys to these ids. An id not listed here is a load error.
"""

from __future__ import annotations

from typing import Final

SCOPES: Final = ("app", "queue", "item", "dialog")
"""`app` bindings work everywhere, so their keys may not be reused in another scope."""

ACTIONS: Final[dict[str, str]] = {
    "app.quit": "Quit (releases your claim)",
    "app.help": "Show every key",
    "app.palette": "Command palette",
    "app.stats": "Decision statistics and calibration",
    "app.pull": "Pull new drafts from the configured providers",
    "app.escalations": "Escalations, oldest first (a lead resolves them)",
    "app.progress": "Progress per reviewer and per source",
    "app.incidents": "Incidents and complaints (a lead resolves them)",
    "queue.down": "Next row",
    "queue.up": "Previous row",
    "queue.page_down": "Page down",
    "queue.page_up": "Page up",
    "queue.top": "First row",
    "queue.bottom": "Last row",
    "queue.open": "Open the item (claims it; a decided one opens read-only)",
    "queue.next": "Claim the next item in priority order",
    "queue.filter": "Filter the queue",
    "queue.search": "Search ids, titles and drafts",
    "queue.refresh": "Refresh",
    "item.approve": "Approve the draft as it is",
    "item.edit": "Edit the draft, then record it",
    "item.override": "Override the AI's conclusion",
    "item.reject": "Reject the draft",
    "item.escalate": "Escalate to a lead",
    "item.skip": "Skip (records nothing)",
    "item.undo": "Undo your last decision",
    "item.back": "Back to the queue (releases the claim)",
    "item.toggle_input": "Show or hide the input the AI saw",
    "item.card": "The AI use card of this source (purpose, limits, owner)",
    "item.report": "Report an incident or complaint against a decided item",
    "item.next_doubt": "Jump to the next span the model was unsure of (marked)",
    "item.advocate": "Ask the devil's advocate (after your own judgement)",
    "dialog.submit": "Record the decision",
    "dialog.cancel": "Cancel (records nothing)",
}
"""Binding id → what it does, as the help screen and `signoff keys` show it."""
