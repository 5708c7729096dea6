"""CRD schema and CEL validation: where CRDs come from, compiling them, and judging objects against them."""
