"""Thin activities: each one is a single idempotent call to the API over HTTP."""
