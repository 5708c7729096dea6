"""The environment tree: folder layout, deletion and move guards, atomic writes, and the ingress plan."""
