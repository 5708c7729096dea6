"""Commands beyond render/validate/plan/plugins, each in its own module, registered by the CLI."""
