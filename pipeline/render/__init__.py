"""Rendering: the jinja2 environment, requests rendered to text, and every document read back."""
