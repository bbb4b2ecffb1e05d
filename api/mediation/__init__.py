"""The mediation ladder (三位一体 + 诉调衔接)."""
