"""Placeholder for the pilot_filter plugin (being built)."""
