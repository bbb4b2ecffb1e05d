"""Throughput measurements of the embedded stack (see bench/README.md)."""
