"""Stage: behavioral (see README)."""
