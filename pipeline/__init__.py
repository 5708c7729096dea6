"""gwpipe: per-environment specs to checked Istio ingress manifests, delivered through Git."""

from __future__ import annotations

__version__ = "0.1.0"
