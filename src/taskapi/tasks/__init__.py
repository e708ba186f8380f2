"""Tasks: the per-user task collection."""
