"""Built-in plugins, one module per feature, each named after its spec key."""
