"""Keymaps: bundled files load, and every mistake is a load error that says where."""

from __future__ import annotations

import re

import pytest

from keymaps import ACTIONS, KeymapError, available, load_keymap, normalise_key


def test_bundled_keymaps() -> None:
    assert available() == ["default", "emacs", "vim"]
    default = load_keymap("default")
    unbound = [bid for bid, keys in default.keys.items() if not keys]
    assert unbound == []  # the default keymap binds every action
    assert set(default.keys) == set(ACTIONS)
    vim = load_keymap("vim")
    assert vim.keys["queue.down"] == ("j", "down")
    assert vim.keys["item.approve"] == default.keys["item.approve"]  # inherited
    assert load_keymap("emacs").keys["app.palette"] == ("alt+x",)


def test_keys_are_normalised_like_textual() -> None:
    assert normalise_key("?") == "question_mark"
    assert normalise_key("/") == "slash"
    assert normalise_key("G") == "G"
    keymap = load_keymap("default", {"item.approve": ["y", "+"]})
    assert keymap.keys["item.approve"] == ("y", "plus")
    assert keymap.for_textual()["item.approve"] == "y,plus"


def test_an_override_can_unbind() -> None:
    keymap = load_keymap("default", {"item.escalate": []})
    assert keymap.keys["item.escalate"] == ()
    assert "item.escalate" not in keymap.for_textual()


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("vi", None, "unknown keymap 'vi' (did you mean 'vim'?)"),
        ("default", {"item.aprove": "y"}, "unknown binding id 'item.aprove' (did you mean "),
        ("default", {"item.approve": "x"}, "'x' is bound to both item.approve and item.reject"),
        ("default", {"item.approve": "q"}, "'q' is bound to both app.quit and item.approve"),
        ("default", {"dialog.submit": "enter,y"}, "would swallow that character"),
        ("default", {"item.approve": 3}, "must be a key string or a list"),
        ("default", {"item.approve": "a, ,b"}, "malformed key"),
        ("default", {"item.approve": "[b]"}, "malformed key"),
        ("default", {"item.approve": "ctrl+"}, "malformed key"),
        ("default", {"dialog.cancel": ""}, "dialog.cancel needs a key: it is the way out"),
        ("default", {"dialog.submit": []}, "dialog.submit needs a key: it saves an edited"),
    ],
)
def test_load_errors(name: str, overrides: dict[str, object] | None, message: str) -> None:
    with pytest.raises(KeymapError, match=re.escape(message)) as err:
        load_keymap(name, overrides, origin="/home/u/.config/signoff/config.toml")
    if overrides:
        assert "config.toml" in str(err.value)


def test_same_key_in_different_scopes_is_fine() -> None:
    keymap = load_keymap("default", {"queue.refresh": "a"})  # item.approve is also a
    assert keymap.keys["queue.refresh"] == ("a",)
