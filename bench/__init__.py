"""Measurements for `make bench` (not shipped, not part of the tests)."""
