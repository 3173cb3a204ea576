"""Reads, already scoped to what the asking user may see."""
