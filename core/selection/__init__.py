"""Active pair selection: per-image severity beliefs, updated after every answer, and
the pair whose answer is expected to teach the most."""
