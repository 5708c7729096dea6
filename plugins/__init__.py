"""Built-in plugins, one module per feature, each named after its spec key; BUILTIN is their registry."""

from __future__ import annotations

# The order is the order of gwpipe_modify_resources: a plugin that edits another's objects comes after it.
# Adding a built-in feature plugin: its module here, its folder under templates/, its page under docs/plugins/.
BUILTIN: tuple[str, ...] = (
    "http",
    "tls",
    "redirect",
    "mtls",
    "tcp",
    "logging",
    "gateway_split",
    "pilot_filter",
    "namespaces",
    "passthrough",
    "gitops",
)
# every other plugin renders on top of what these produce
ESSENTIAL = frozenset({"http"})
