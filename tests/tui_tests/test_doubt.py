"""Where the model was unsure: marked spans on the draft, a legend, and a key to walk them."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from providers.tokens import aligned
from store import Store
from tests.conftest import make_draft
from tests.tui_tests.conftest import AppFactory
from tui.doubt import STYLE_CURRENT, STYLE_UNSURE, STYLE_VERY, doubts, marked
from tui.screens.item import ItemScreen

DRAFT = "Hi Omar,\n\nYour refund of 40 EUR went out on 3 May.\n\nBest,\nSupport"
TOKENS = [("Hi", -0.01), (" Omar", -0.5), (",", -0.01), ("\n\n", -0.01), ("Your", -0.01),
          (" refund", -0.02), (" of", -0.01), (" 40", -2.0), (" EUR", -0.9), (" went", -0.01),
          (" out", -0.01), (" on", -0.01), (" 3", -1.6), (" May", -0.1), (".", -0.01),
          ("\n\n", -0.01), ("Best", -0.01), (",", -0.01), ("\n", -0.01),
          ("Support", -0.01)]  # fmt: skip


def styles_of(text: Text) -> list[tuple[str, str]]:
    return [(text.plain[s.start : s.end], str(s.style)) for s in text.spans]


def test_unsure_tokens_become_marks_merged_and_trimmed() -> None:
    tokens = aligned(DRAFT, TOKENS)
    found = doubts(DRAFT, tokens)
    assert [DRAFT[d.start : d.end] for d in found] == ["Omar", "40 EUR", "3"]
    shown, starts = marked(DRAFT, found, current=1)
    assert styles_of(shown) == [("Omar", STYLE_UNSURE), ("40 EUR", STYLE_CURRENT),
                                ("3", STYLE_VERY)]  # fmt: skip
    assert [shown.plain[s : s + 2] for s in starts] == ["Om", "40", "3 "]
    for style in (STYLE_VERY, STYLE_UNSURE, STYLE_CURRENT):  # attributes: NO_COLOR keeps them
        assert Style.parse(style).color is None
        assert Style.parse(style).bgcolor is None


def test_marks_follow_the_shown_text_when_control_characters_are_made_visible() -> None:
    draft = "a\u202eb c"
    found = doubts(draft, aligned(draft, [("a\u202eb", -0.01), (" c", -3.0)]))
    shown, starts = marked(draft, found)
    assert "\u202e" not in shown.plain
    assert shown.plain[starts[0]] == "c"


async def test_d_walks_the_marks_and_a_draft_without_tokens_says_so(
    review_store: Store, make_app: AppFactory
) -> None:
    review_store.ingest([
        make_draft("T-9", draft=DRAFT, stakes="high", tokens=aligned(DRAFT, TOKENS)),
    ])  # fmt: skip
    app = make_app(review_store)
    async with app.run_test(size=(80, 24)) as pilot:
        item = review_store.find_item("support", "T-9")
        assert item is not None
        app.open_item(item.id)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ItemScreen)
        assert screen.query_one("#draft-pane").border_subtitle == "3 marked · d next"
        assert "The model was unsure: reversed <30%, underlined <70% probability" in str(
            screen.query_one("#draft", Static).render()
        )
        await pilot.press("d", "d")
        assert screen.doubt_at == 1
        assert screen.query_one("#draft-pane").border_subtitle == "mark 2 of 3 · d next"
        await pilot.press("d", "d")
        assert screen.doubt_at == 0  # round again
        await pilot.press("s")  # skip to an item without token probabilities
        await pilot.pause()
        assert isinstance(app.screen, ItemScreen)
        assert app.screen.item.tokens == ()
        assert "No token probabilities" in str(app.screen.query_one("#draft", Static).render())
        await pilot.press("d")
        assert any("Nothing is marked" in str(n.message) for n in app._notifications)
