"""Read which remote a local GitOps checkout points at, refusing states that mean it is broken or busy."""

from __future__ import annotations

from pathlib import Path

from gwpipe.errors import GitError, Problem


def remote_url_of(path: Path, name: str | None) -> str:
    """The URL of remote `name` (default: the current branch's remote, else origin); read only, no git process."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(Problem(str(path), "not a git repository; pass --remote URL or --checkout DIR")) from None
    gitdir = Path(repo.git_dir)
    lock = gitdir / "index.lock"
    if lock.exists():
        raise GitError(
            Problem(str(lock), "another git process seems to be running (index.lock exists); remove it if none is")
        )
    if (gitdir / "shallow").exists():
        raise GitError(
            Problem(str(path), "is a shallow clone; its refs are stale info for a lease (git fetch --unshallow)")
        )
    reader = repo.config_reader("repository")
    if name is None:
        if repo.head.is_detached:
            raise GitError(Problem(str(path), "HEAD is detached, so no branch names a remote; pass --remote"))
        branch = repo.head.reference.name
        name = str(reader.get_value(f'branch "{branch}"', "remote", "origin"))
    section = f'remote "{name}"'
    if not reader.has_section(section):
        known = sorted(s[8:-1] for s in reader.sections() if s.startswith('remote "'))
        hint = f"known remotes: {', '.join(known)}" if known else "the checkout has no remotes"
        raise GitError(Problem(str(path), f"no remote named {name!r}", hint))
    return str(reader.get_value(section, "url", ""))
