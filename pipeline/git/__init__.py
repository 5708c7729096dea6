"""The GitOps repository: safe commits through GitPython, the fast commit path, and delivery to remotes."""
