"""Statutory rule sets (规则集): time limits and ground codes, chosen by received_at."""
