"""`python -m gwpipe` runs the command line."""

from gwpipe.cli.main import run

run()
