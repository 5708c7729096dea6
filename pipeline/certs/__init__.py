"""Gateway certificates: what an environment expects, dev chains, and their state in a cluster."""
