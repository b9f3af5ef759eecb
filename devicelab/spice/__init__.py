"""Stage: spice (see README)."""
