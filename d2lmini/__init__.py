"""d2lmini: the helpers that the notebooks share."""
