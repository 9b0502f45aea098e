"""Named keymaps."""
