"""PEP 751 lock files: the model, parsing, choosing files for a target, writing (no network)."""
