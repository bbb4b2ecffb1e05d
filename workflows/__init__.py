"""Deterministic orchestration of the bureau's processes. No I/O here."""
