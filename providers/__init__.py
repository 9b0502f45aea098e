"""Where AI drafts come from: the `Draft` type, record validation and readers.

This package knows nothing of the store or of Textual; the store imports it.
"""
