"""Placeholder for the redirect plugin (being built)."""
