"""Admission rules: what Istio's validating webhook rejects or warns about, per kind."""
