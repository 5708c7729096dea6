"""Command-line convention tests: options, completion, colour and machine-readable errors."""
