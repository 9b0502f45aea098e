"""Textual `Binding`s built from the keymap catalogue, so every binding has a stable id.

Classes declare bindings with the default keymap's keys; the user's keymap is then
applied with `App.set_keymap`, which swaps keys by binding id.
"""

from __future__ import annotations

from functools import cache

from textual.binding import Binding

from keymaps import ACTIONS, Keymap, load_keymap


@cache
def default_keymap() -> Keymap:
    """The bundled default keymap (read once)."""
    return load_keymap("default")


def label(binding_id: str) -> str:
    """Short footer label: `item.toggle_input` → `toggle input`."""
    return binding_id.split(".", 1)[1].replace("_", " ")


def bind(
    binding_id: str,
    action: str,
    *,
    show: bool = True,
    priority: bool = False,
    description: str | None = None,
) -> Binding:
    """A `Binding` for catalogue id `binding_id` that runs `action`.

    The footer word is the id's own (`dialog.cancel` → `cancel`) unless `description`
    says what the key does on this screen: on a panel `esc` closes, on a notice it goes
    on; it cancels nothing. (The footer shows one key per action, the first bound.)
    """
    keys = default_keymap().keys[binding_id]
    return Binding(
        ",".join(keys),
        action,
        label(binding_id) if description is None else description,
        show=show,
        priority=priority,
        tooltip=ACTIONS[binding_id],
        id=binding_id,
    )


class TextForm:
    """Mixin for screens that collect text or a confirmation.

    While `expects_text()` is true the app lets no single-character key run a screen
    or app command (letters typed into the wrong place must never skip, undo or quit);
    the focused field still gets them.
    """

    def expects_text(self) -> bool:
        """True while the screen's form is open (modal dialogs: always)."""
        return True

    typing_hint = (
        "Typing goes into the form here; {dialog.cancel} cancels, nothing is recorded by letters."
    )
    """What the app says when a letter was kept from running a command (`{binding.id}`
    becomes that binding's key in the live keymap)."""

    def hint(self) -> str:
        """The hint for now (a screen with more than one form says which one)."""
        return self.typing_hint

    def withholds(self, key: str) -> bool:
        """Whether `key` is a command of this screen that is off while its form is open.

        Such a key is not among the active bindings (switched off, out of the footer),
        yet a letter pressed for it deserves the hint all the same.
        """
        return False


class Remappable:
    """Mixin for anything with `BINDINGS`: an action whose id the keymap unbinds is off.

    `App.set_keymap` can move a binding to other keys but cannot remove it, so an
    empty key list in the keymap is honoured here.
    """

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """False (hidden and disabled) when the keymap leaves this action unbound.

        An action with two ids (the notice after a decision goes on with
        `dialog.submit` or `dialog.cancel`) stays on while either has a key.
        """
        keymap: Keymap | None = getattr(getattr(self, "app", None), "keymap", None)
        if keymap is None:
            return True
        called = f"{action}({', '.join(repr(p) for p in parameters)})" if parameters else action
        bound = [
            bool(keymap.keys.get(binding.id, ("?",)))
            for binding in getattr(type(self), "BINDINGS", ())
            if isinstance(binding, Binding) and binding.id is not None and binding.action == called
        ]
        return not bound or any(bound)
