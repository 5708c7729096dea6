"""Placeholder for the mtls plugin (being built)."""
