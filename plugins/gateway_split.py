"""Placeholder for the gateway_split plugin (being built)."""
