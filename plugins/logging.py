"""Placeholder for the logging plugin (being built)."""
