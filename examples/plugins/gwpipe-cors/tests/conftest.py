"""gwpipe's fixtures for plugin authors (spec_dir, git_remote) and its build()/find() helpers."""

from __future__ import annotations

pytest_plugins = ["gwpipe.testing"]
