"""The one switch for every fast path: GWPIPE_FAST=0 runs the simple reference path everywhere (see docs/speed.md)."""

from __future__ import annotations

import os

from gwpipe.errors import Problem, UsageError

ENV_VAR = "GWPIPE_FAST"

# the raw value last seen and what it means: the variable is parsed once, however often it is asked
_seen: tuple[str | None, bool] | None = None


def enabled() -> bool:
    """True unless GWPIPE_FAST is `0`; unset or `1` is on, anything else is a UsageError.

    Every fast path asks this before it runs, and with `0` takes its simple path instead: the same
    output, computed in this process, serially, with the plain libraries. The CLI asks it once at
    start-up, so a bad value stops every command before any work.
    """
    global _seen
    raw = os.environ.get(ENV_VAR)
    if _seen is None or _seen[0] != raw:
        if raw not in (None, "0", "1"):
            raise UsageError(Problem(ENV_VAR, f"expected 0 or 1, got {raw!r}"))
        _seen = (raw, raw != "0")
    return _seen[1]
