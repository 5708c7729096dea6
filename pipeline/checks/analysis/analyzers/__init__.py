"""Istio analyzers over the whole manifest set, with the cluster picture for pods, Services and Secrets."""
