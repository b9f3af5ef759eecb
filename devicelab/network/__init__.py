"""Stage: network (see README)."""
