"""The command line: the `gwpipe` group, shared options, and the built-in commands."""
