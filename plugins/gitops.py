"""Placeholder for the gitops plugin (being built)."""
