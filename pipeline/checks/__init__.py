"""Checks on rendered objects: core object rules, key material, CRD schema and CEL, Istio analysis."""
