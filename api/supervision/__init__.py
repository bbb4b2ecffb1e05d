"""Supervision (督办): the ladder's records and the supervisors' views."""
