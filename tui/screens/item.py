"""The item screen: one claimed draft, its confidence and data limits, and the decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Select, Static

from store import Claim, ClaimError, DecisionError, Event, StoreError
from tui.bindings import Remappable, TextForm, bind
from tui.doubt import doubts, legend, line_of, marked
from tui.format import STAKES_NAME, STAKES_STYLE, age, confidence_panel, limits_panel
from tui.frame import draw_now, put
from tui.safe import safe_text, visible
from tui.screens.advocate_panel import AdvocatePanel
from tui.screens.deciding import Deciding
from tui.screens.justify import JustificationForm
from tui.screens.oversight import CommitFirst
from tui.widgets.footer import Footer
from tui.widgets.recorded import RecordedLine

if TYPE_CHECKING:
    from store.review import Opened
    from tui.app import SignoffApp


_WHILE_JUSTIFYING = frozenset({"toggle_input", "card", "next_doubt", "back"})
"""The item's actions that still work while the inline reason form is open."""


def _not_asked(justification: str, output: str | None, reason: str | None) -> Event:
    raise DecisionError("nothing is being decided")  # the form is renewed before it shows


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ItemScreen(Deciding, AdvocatePanel, TextForm, Remappable, Screen[None]):
    """Shows a claimed item. Opening claims it; leaving, skipping or quitting releases it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        bind("item.approve", "decide('approve')"),
        bind("item.edit", "edit"),
        bind("item.override", "decide('override')"),
        bind("item.reject", "decide('reject')"),
        bind("item.escalate", "decide('escalate')"),
        bind("item.skip", "skip"),
        bind("item.undo", "undo"),
        # Shown in the pane title and the item line instead: the footer must fit 80 columns.
        bind("item.toggle_input", "toggle_input", show=False),
        bind("item.card", "card", show=False),
        bind("item.next_doubt", "next_doubt", show=False),
        bind("item.advocate", "advocate", show=False),
        bind("item.back", "back", show=False),
    ]

    typing_hint = (
        "Record your own judgement first (the form on the left): until then letters type "
        "into it and no command runs; {item.back} goes back to the queue."
    )

    def __init__(self, claim: Claim, opened: Opened) -> None:
        super().__init__()
        self._take(claim, opened)

    def expects_text(self) -> bool:
        """Letters belong to a form: the reason under the draft, or the commit-first form.

        The reason form, while it is open; the commit-first form once the reviewer has
        started on it. Until then (the form just opened, focus on its verdict list)
        single keys still skip, undo or go back; a score or label field has focus and
        takes them anyway.
        """
        return self.justifying or (not self.committed and self.engaged)

    def hint(self) -> str:
        """What a letter kept from running a command here was for."""
        return self.reason_hint if self.justifying else self.typing_hint

    reason_hint = (
        "Typing goes into the reason under the draft; {dialog.cancel} closes it, "
        "nothing is recorded by letters."
    )

    def withholds(self, key: str) -> bool:
        """A key of the item's own commands, switched off while the reason is asked."""
        if not self.is_mounted or not self.justifying:
            return False
        keys = self.signoff.keymap.keys
        return any(
            key in keys.get(binding.id, ())
            for binding in self.BINDINGS
            if isinstance(binding, Binding) and binding.id is not None
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the reason is asked, the item's commands are off (and out of the footer).

        Looking stays on (the next marked span, the input, the use card); going back
        to the queue closes the form first (`action_back`).
        """
        if action in _WHILE_JUSTIFYING or not self.is_mounted or not self.justifying:
            return super().check_action(action, parameters)
        return False

    @on(Input.Changed)
    @on(Select.Changed)
    def _engage(self) -> None:
        """Typing or choosing in the form engages it (see `expects_text`)."""
        self.engaged = True

    def _take(self, claim: Claim, opened: Opened) -> None:
        item, need, judgement, counts = opened
        self.item = item
        """The item as it was when claimed."""
        self.claim = claim
        """The reviewer's claim on it; every decision goes through it."""
        self.need = need
        """What deciding takes: commit-first, justification length, second reviewer."""
        self.counts = counts
        """The queue's counts as read with the item, for the top line."""
        self.committed = not need.commit_first or judgement is not None
        """False while a commit-first item waits for the reviewer's own judgement."""
        self.engaged = False
        """True once the reviewer typed, chose or tried to decide on this item's form."""

    @property
    def signoff(self) -> SignoffApp:
        """The app, typed."""
        return cast("SignoffApp", self.app)

    def compose(self) -> ComposeResult:
        """Head line, draft beside the confidence and limits panels, input below.

        The widgets are filled by `_fill`, so the next item reuses this screen: building
        and styling a new screen per decision took most of the time between items.
        """
        yield Static(id="topbar")
        yield Static(id="item-head")
        yield Static(id="oversight")
        with Horizontal(id="item-body"):
            # The commit-first form lives here while an item waits for a judgement.
            yield Vertical(id="commit-slot")
            with VerticalScroll(id="draft-pane") as draft_pane:
                draft_pane.border_title = "Draft"
                yield Static(id="draft")
                from textual.widgets import Collapsible

                # Transparency the reviewer can use, never the draft, never the
                # confidence: collapsed, and only where the model reported any.
                with Collapsible(
                    title="The model's reasoning (not part of the answer)",
                    collapsed=True,
                    id="reasoning-box",
                ):
                    yield Static(id="reasoning")
            with VerticalScroll(id="side"):
                # Each panel one Static drawing its own border: a box around a Static was
                # two widgets to lay out and draw in the next item's frame (record key →
                # next item, 20k queue, alternated pairs of 100 decisions, pooled median:
                # 21.2 → 19.6 ms over 4 pairs, 24.3 → 22.5 ms over 6).
                yield _panel("advocate", "Devil's advocate", "not a verdict")
                yield _panel("confidence", "Confidence")
                yield _panel("limits", "Data limits")
                yield _panel("about", "About")
                if self.signoff.guidelines:
                    from textual.widgets import Markdown  # markdown-it is slow to import

                    with Vertical(id="guidelines-box") as box:
                        box.border_title = "Guidelines"
                        yield Markdown(open_links=False, id="guidelines")
        with VerticalScroll(id="input-pane") as input_pane:
            toggle = self.signoff.key_display("item.toggle_input")
            input_pane.border_title = f"Input the AI saw ({toggle} to hide)"
            yield Static(id="input")
        # Approve and escalate ask their reason here, the draft still in view (`Deciding`).
        yield JustificationForm(Text(), _not_asked, self._reason_given, draft="", id="reason-form")
        # 80 columns hold the decisions, undo, quit and help, but not the palette hint too.
        yield RecordedLine()
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        """Fill in the item and keep the claim alive while the reviewer reads."""
        self._fill()
        every = max(5.0, self.signoff.store.lease.total_seconds() / 3)
        self.set_interval(every, self._renew)

    def show(self, claim: Claim, opened: Opened) -> None:
        """Show the next claimed item on this screen (the widgets stay; contents change)."""
        self._take(claim, opened)
        self._fill()

    def _fill(self) -> None:
        item = self.item
        put(self.query_one("#topbar", Static), self.signoff.topbar(self.counts))
        put(self.query_one("#item-head", Static), self._head())
        put(self.query_one("#oversight", Static), self._oversight_line())
        self._reveal(self.committed)
        put(self.query_one("#limits", Static), limits_panel(item.data_limits))
        put(self.query_one("#about", Static), self._about())
        put(
            self.query_one("#input", Static),
            safe_text(item.input or "(no input recorded)", multiline=True),
        )
        if self.signoff.guidelines:
            self._fill_guidelines(self.signoff.guidelines_for(item.source))
        for name in ("#draft-pane", "#input-pane"):
            self.query_one(name, VerticalScroll).scroll_home(animate=False)
        self.query_one("#draft-pane").display = self.committed
        self.query_one("#confidence").display = self.committed
        self.advocate: dict[str, str] | None = None
        """What the devil's advocate said (`tui.advocate`), once it has."""
        self.asked = False
        """The reviewer asked for the advocate (the policy did not call it)."""
        self.query_one("#advocate").display = self.committed and self.need.advocate
        if self.committed and self.need.advocate:
            self._call_advocate()
        self._judging(not self.committed)
        if not self._form_in_place():
            # Swapped in one awaited step: a removal still pending when the next item's
            # form mounted left two forms with one id (DuplicateIds, a crash mid-queue).
            self.call_later(self._swap_form, item.id)
        else:
            # Laid out and drawn now, every changed widget in one frame (`tui.frame`):
            # left to the screen's update timer, the layout came one to two frame
            # periods (16-33 ms) after the contents, and then a second layout with the
            # widgets' own changes (the "Recorded" line, the footer's keys).
            draw_now(self)

    def _reveal(self, shown: bool) -> None:
        """Put the draft, its marks, the reasoning and the confidence in their widgets.

        Not before the reviewer's own judgement is in (`shown` False empties them): a
        hidden pane alone is not enough, as Textual may paint a widget's new content at
        its old place before the layout that hides it (seen: the next commit-first
        item's draft and confidence on screen, over 3 % of items in a fast run).
        """
        item = self.item
        self.doubts = doubts(item.draft, item.tokens) if shown else []
        """The spans the model was unsure of (`tui.doubt`); `d` walks them."""
        self.doubt_at: int | None = None
        put(self.query_one("#draft", Static), self._marked_draft(None)[0] if shown else "")
        self.query_one("#draft-pane", VerticalScroll).border_subtitle = (
            self.signoff.with_keys(f"{len(self.doubts)} marked · {{item.next_doubt}} next")
            if self.doubts else ""
        )  # fmt: skip
        reasoning = item.meta.get("reasoning") if shown else None
        box = self.query_one("#reasoning-box")
        box.display = isinstance(reasoning, str) and bool(reasoning.strip())
        put(
            self.query_one("#reasoning", Static),
            safe_text(reasoning, multiline=True) if isinstance(reasoning, str) else "",
        )
        put(
            self.query_one("#confidence", Static),
            confidence_panel(
                item.confidence, item.confidence_basis, _count(item.meta.get("logprobs_left_out"))
            ) if shown else ""
        )  # fmt: skip

    def _judging(self, judging: bool) -> None:
        """Lay out for judging first, or for reading the draft.

        While the draft is hidden, the form takes its own height and the input the AI saw
        takes the rest (at 160x48 about 20 rows stood empty under the form).
        """
        # Inline styles on the three boxes, not a class on the screen: a screen class
        # makes Textual restyle every widget on it, twice per commit-first item (~20 ms).
        body, side, shown = (self.query_one(n) for n in ("#item-body", "#side", "#input-pane"))
        body.styles.height = "auto" if judging else None
        body.styles.max_height = "70%" if judging else None
        side.styles.height = "auto" if judging else None
        shown.styles.height = "1fr" if judging else None

    def _form_in_place(self) -> bool:
        """Show or hide the commit-first form now, unless a new one must be mounted.

        In the same step as the rest of the item, so that one layout shows the new item
        whole: renewed a moment later (`call_later`), the first frame showed the new
        item's head over the last one's layout, an empty draft pane where the form
        belonged, for ~40 ms. A kept form of the same shape is asked again (`renew`).
        """
        slot = self.query_one("#commit-slot", Vertical)
        slot.display = not self.committed
        if self.committed:
            # Now, not queued as `Widget.focus` does: the frame drawn next has its keys.
            self.set_focus(self.query_one("#draft-pane"))
            return True
        kept = slot.query(CommitFirst)
        form = kept.first() if kept else None
        if form is None or not form.is_mounted:
            return False
        if CommitFirst.shape(form.item) != CommitFirst.shape(self.item):
            return False
        form.renew(self.item, self.need.commit_first)  # no mount per item
        return True

    async def _swap_form(self, item_id: int) -> None:
        """A new commit-first form for this item (`_form_in_place` could not reuse one)."""
        if item_id != self.item.id:
            return  # a later item is already on screen; its own swap follows
        slot = self.query_one("#commit-slot", Vertical)
        await slot.remove_children()
        await slot.mount(CommitFirst(self.item, self.need.commit_first))

    def _fill_guidelines(self, text: str | None) -> None:
        from textual.widgets import Markdown

        box = self.query_one("#guidelines-box")
        box.display = text is not None
        if text is not None:
            self.query_one("#guidelines", Markdown).update(text)

    def _head(self) -> Text:
        item = self.item
        head = Text()
        head.append_text(safe_text(item.external_id, style="bold"))
        head.append("  ")
        head.append(f"{STAKES_NAME[item.stakes]} stakes", style=STAKES_STYLE[item.stakes])
        head.append("  ")
        head.append_text(safe_text(item.title or "(untitled)", style="bold"))
        head.append(f"  · {self.signoff.key_display('item.back')} back to queue", style="dim")
        if self.claim.resolves is not None:
            escalation = self.signoff.store.event(self.claim.resolves)
            if escalation is not None:
                head.append("\nresolving the escalation by ", style="bold yellow")
                head.append_text(safe_text(escalation.reviewer, style="bold yellow"))
                head.append(": ", style="bold yellow")
                head.append_text(safe_text(escalation.justification))
        return head

    def _oversight_line(self) -> Text:
        line = Text(self.need.describe(), style="dim")
        if self.need.commit_first or self.need.friction or self.need.second_review_of:
            line.stylize("bold yellow")
        return line

    async def on_commit_first_committed(self, message: CommitFirst.Committed) -> None:
        """Store the reviewer's own judgement, then reveal the draft and its confidence."""
        try:
            self.signoff.store.commit_judgement(self.claim, message.value, message.notes)
        except (DecisionError, ClaimError, StoreError) as error:
            self.query_one(CommitFirst).show_error(str(error))
            return
        self.committed = True
        # Hidden, not removed: the next commit-first item of this shape asks again in it,
        # emptied now, after the draft's frame, not while the next item is awaited.
        slot = self.query_one("#commit-slot", Vertical)
        slot.display = False
        # `query`, not `query_one`: Textual's query_one cache would keep every form.
        for form in slot.query(CommitFirst):
            self.call_after_refresh(self._empty_form, form, self.item.id)
        self._reveal(True)
        self.query_one("#draft-pane").display = True
        self.query_one("#confidence").display = True
        self._judging(False)
        self.query_one("#draft-pane").focus()
        if self.need.advocate:  # only now: it must not anchor the judgement just recorded
            self.query_one("#advocate").display = True
            self._call_advocate()

    def _empty_form(self, form: CommitFirst, item_id: int) -> None:
        """Empty the commit-first form of `item_id`, still hidden (else it is asking again).

        Asked of the form and its slot, not of the screen: run after the next refresh,
        it may come when the reviewer has already left the item and the screen is gone.
        """
        slot = form.parent
        hidden = isinstance(slot, Vertical) and not slot.display
        if form.is_attached and form.item.id == item_id and hidden:
            form.empty()

    def _locked(self) -> bool:
        if not self.committed:
            self.engaged = True  # they meant to decide: what they type next is for the form
            self.notify(
                "Record your own judgement first (the form on the left); then the draft shows.",
                severity="warning",
                markup=False,
            )
        return not self.committed

    def _about(self) -> Text:
        item = self.item
        about = Text()
        rows = [
            ("source", item.source),
            ("kind", item.kind),
            ("model", item.model or "unknown"),
            ("stakes", item.stakes),
            ("age", age(item.created_at, self.signoff.now())),
        ]
        for name, value in rows:
            about.append(f"{name:<7}", style="dim")
            about.append(visible(value) + "\n")
        about.rstrip()
        return about

    def _renew(self) -> None:
        try:
            self.claim = self.signoff.store.renew(self.claim)
        except StoreError as error:
            self.notify(visible(str(error)), severity="error", markup=False, timeout=10)

    def action_toggle_input(self) -> None:
        """Show or hide the input the AI saw."""
        pane = self.query_one("#input-pane")
        pane.display = not pane.display

    def action_card(self) -> None:
        """The AI use card of this item's source: purpose, model, limits, review, owner."""
        from tui.screens.card import CardScreen

        source = self.item.source
        self.app.push_screen(CardScreen(source, self.signoff.settings.use_cards.get(source)))

    def action_back(self) -> None:
        """Back to the queue; the claim is released and nothing is recorded.

        With the reason form open (focus moved out of it), this closes the form first.
        """
        if self.justifying:
            self._reason_form().action_cancel()
            return
        claim = self.claim
        self.app.pop_screen()  # at once; the release waits for the database if it must

        def give_back() -> None:
            from tui.screens.queue import QueueScreen

            self.signoff.release(claim)
            queue = self.app.screen
            if isinstance(queue, QueueScreen):
                queue.action_refresh()  # the row was drawn while still claimed

        self.signoff.when_writable(give_back)

    def action_skip(self) -> None:
        """Release this item without a record and open the next one."""
        self.signoff.skipped.add(self.item.id)
        claim = self.claim

        def go_on() -> None:
            self.signoff.release(claim)
            self.signoff.open_next(replace=True)

        self.signoff.when_writable(go_on)

    def action_next_doubt(self) -> None:
        """Move to the next marked span (round again after the last) and scroll to it."""
        if not self.committed:
            return  # the draft is hidden until the reviewer's own judgement is in
        if not self.doubts:
            self.notify("Nothing is marked on this draft.", markup=False)
            return
        at = 0 if self.doubt_at is None else (self.doubt_at + 1) % len(self.doubts)
        self.doubt_at = at
        shown, starts = self._marked_draft(at)
        draft = self.query_one("#draft", Static)
        draft.update(shown)
        row = line_of(shown, starts[at], draft.size.width or 60, self.app.console)
        pane = self.query_one("#draft-pane", VerticalScroll)
        pane.scroll_to(y=max(0, row - 2), animate=False)
        pane.border_subtitle = self.signoff.with_keys(
            f"mark {at + 1} of {len(self.doubts)} · {{item.next_doubt}} next"
        )

    def _marked_draft(self, current: int | None) -> tuple[Text, list[int]]:
        """The draft with its marks, then (under it, dim) what the marks mean."""
        item = self.item
        shown, starts = marked(item.draft, self.doubts, current)
        shown.append("\n\n")
        shown.append_text(
            legend(item.tokens, self.doubts, item.draft, item.meta.get("token_marks"))
        )
        return shown, starts

    def action_undo(self) -> None:
        """Retract your last decision (with its own reason) and reopen that item."""
        self.signoff.undo(current=self)


def _panel(name: str, title: str, subtitle: str = "") -> Static:
    """A side panel: its text, under a border with its title (`#side > Static`)."""
    panel = Static(id=name)
    panel.border_title = title
    panel.border_subtitle = subtitle
    return panel
