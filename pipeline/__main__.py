"""`python -m gwpipe` runs the command line."""

from .cli import run

run()
