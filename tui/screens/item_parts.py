"""What the item screen's mixins (`AdvocatePanel`, `Deciding`) read of it, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from store import Claim, Item
    from store.oversight import Requirements
    from tui.app import SignoffApp


class ItemParts(Screen[None]):
    """The attributes `ItemScreen` fills for each item, and the two methods it defines."""

    item: Item
    claim: Claim
    need: Requirements
    advocate: dict[str, str] | None
    """What the devil's advocate said (`tui.advocate`), once it has."""

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        raise NotImplementedError

    def _locked(self) -> bool:
        raise NotImplementedError
