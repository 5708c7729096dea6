"""Delivery: clone the GitOps remote, commit a rendered environment on a gwpipe branch, push it, open a PR."""
