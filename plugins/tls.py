"""Placeholder for the tls plugin (being built)."""
