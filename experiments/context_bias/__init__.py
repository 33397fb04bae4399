"""Does a context-biased teacher look at the context? (see run.py)."""
