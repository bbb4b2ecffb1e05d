"""Units of the organisation: the city centre, its branches, and (later) stations."""
