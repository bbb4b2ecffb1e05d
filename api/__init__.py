"""weiquan API: FastAPI + SQLModel. Owns the data."""
