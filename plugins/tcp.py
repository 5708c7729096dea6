"""Placeholder for the tcp plugin (being built)."""
