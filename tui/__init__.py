"""signoff terminal UI and CLI."""
