"""Writes. The only code that saves domain models; each function is one transaction."""
