"""write: exact trees, atomic swap, recovery after a killed run, symlink and .git refusals, deletion guards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gwpipe.errors import WriteError
from gwpipe.tree.files import env_folder, read_tree, recover, restore_tree, write_tree
from gwpipe.tree.guards import TreeChange, diff_tree, guard_deletions
from gwpipe.tree.layout import KUSTOMIZATION

FILES = {"kustomization.yaml": b"k\n", "shop/gateway-web.yaml": b"g\n", "shop/virtualservice-a.yaml": b"v\n"}


def messages(info: pytest.ExceptionInfo[WriteError]) -> list[str]:
    return [str(p) for p in info.value.problems]


def test_write_then_read_exact_tree(tmp_path: Path) -> None:
    folder = write_tree(tmp_path, "dev", FILES)
    assert folder == tmp_path / "dev"
    assert read_tree(folder) == FILES
    smaller = {k: v for k, v in FILES.items() if "virtualservice" not in k}
    write_tree(tmp_path, "dev", smaller)
    assert read_tree(folder) == smaller
    assert sorted(os.listdir(tmp_path)) == ["dev"]


@pytest.mark.parametrize("leftover", ["new", "old", "both"])
def test_recovery_from_a_killed_run_with_folder_present(tmp_path: Path, leftover: str) -> None:
    write_tree(tmp_path, "dev", FILES)
    for kind in ("new", "old") if leftover == "both" else (leftover,):
        junk = tmp_path / f".gwpipe-{kind}-dev" / "shop"
        junk.mkdir(parents=True)
        (junk / "half.yaml").write_bytes(b"half")
    recover(tmp_path, "dev")
    assert sorted(os.listdir(tmp_path)) == ["dev"]
    assert read_tree(tmp_path / "dev") == FILES


def test_recovery_when_killed_between_the_two_renames(tmp_path: Path) -> None:
    """Killed after `dev` became `.gwpipe-old-dev` and before `.gwpipe-new-dev` became `dev`: the old tree returns."""
    write_tree(tmp_path, "dev", FILES)
    os.rename(tmp_path / "dev", tmp_path / ".gwpipe-old-dev")
    (tmp_path / ".gwpipe-new-dev").mkdir()
    (tmp_path / ".gwpipe-new-dev" / "partial.yaml").write_bytes(b"x")
    write_tree(tmp_path, "dev", FILES | {"shop/extra.yaml": b"e\n"})
    assert read_tree(tmp_path / "dev") == FILES | {"shop/extra.yaml": b"e\n"}
    assert sorted(os.listdir(tmp_path)) == ["dev"]
    os.rename(tmp_path / "dev", tmp_path / ".gwpipe-old-dev")
    recover(tmp_path, "dev")
    assert read_tree(tmp_path / "dev") == FILES | {"shop/extra.yaml": b"e\n"}


def test_failed_write_keeps_the_old_tree(tmp_path: Path) -> None:
    write_tree(tmp_path, "dev", FILES)
    with pytest.raises(WriteError) as info:
        write_tree(tmp_path, "dev", {"../escape.yaml": b"x"})
    assert messages(info) == ["../escape.yaml: refusing a path that leaves the environment folder"]
    assert read_tree(tmp_path / "dev") == FILES
    assert not (tmp_path / "escape.yaml").exists()
    assert sorted(os.listdir(tmp_path)) == ["dev"]


@pytest.mark.parametrize("rel", ["a/.git/config", ".git/hooks/pre-commit", "/abs.yaml"])
def test_paths_into_git_or_absolute_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(WriteError):
        write_tree(tmp_path, "dev", {rel: b"x"})
    assert not (tmp_path / "dev").exists()


@pytest.mark.parametrize("env", ["", ".", "..", "a/b", "a\\b", ".git", ".GIT"])
def test_env_folder_names_refused(tmp_path: Path, env: str) -> None:
    with pytest.raises(WriteError) as info:
        env_folder(tmp_path, env)
    assert messages(info) == [f"{tmp_path}: refusing environment folder name {env!r}"]


def test_root_inside_dot_git_refused(tmp_path: Path) -> None:
    with pytest.raises(WriteError) as info:
        write_tree(tmp_path / ".git" / "hooks", "dev", FILES)
    assert messages(info) == [f"{tmp_path}/.git/hooks: refusing to write inside a .git folder"]
    assert not (tmp_path / ".git").exists()


def test_symlinks_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "root").symlink_to(target)
    with pytest.raises(WriteError) as info:
        write_tree(tmp_path / "root", "dev", FILES)
    assert messages(info) == [f"{tmp_path}/root: refusing to write through symlink"]
    real = tmp_path / "real"
    write_tree(real, "dev", FILES)
    (real / "dev" / "shop" / "link.yaml").symlink_to(tmp_path / "outside")
    with pytest.raises(WriteError) as info:
        read_tree(real / "dev")
    assert messages(info) == [f"{real}/dev/shop/link.yaml: refusing to write through symlink"]


def test_restore_tree(tmp_path: Path) -> None:
    write_tree(tmp_path, "dev", FILES)
    write_tree(tmp_path, "dev", {"x.yaml": b"x"})
    restore_tree(tmp_path, "dev", FILES)
    assert read_tree(tmp_path / "dev") == FILES
    restore_tree(tmp_path, "dev", {})
    assert not (tmp_path / "dev").exists()


def test_diff_tree() -> None:
    change = diff_tree(FILES, {"kustomization.yaml": b"k2\n", "shop/gateway-web.yaml": b"g\n", "shop/new.yaml": b"n"})
    assert (change.added, change.changed, change.removed) == (
        ["shop/new.yaml"],
        ["kustomization.yaml"],
        ["shop/virtualservice-a.yaml"],
    )
    assert diff_tree(FILES, FILES).empty


def _change(existing: dict[str, bytes], desired: dict[str, bytes]) -> TreeChange:
    return diff_tree(existing, desired)


def test_guard_empty() -> None:
    change = _change(FILES, {KUSTOMIZATION: b"k2\n"})
    with pytest.raises(WriteError) as info:
        guard_deletions(change, "t", allow_empty=False, allow_delete=False)
    assert messages(info) == [
        "t: render would delete all 2 object files",
        "t: refusing to empty an environment; pass --allow-empty if that is intended",
    ]
    guard_deletions(change, "t", allow_empty=True, allow_delete=False)


def test_guard_gateway_and_ratio() -> None:
    with pytest.raises(WriteError) as info:
        guard_deletions(
            _change(FILES, {KUSTOMIZATION: b"k", "shop/virtualservice-a.yaml": b"v\n", "shop/x.yaml": b"x"}),
            "t",
            False,
            False,
        )
    assert messages(info) == ["t: render would delete shop/gateway-web.yaml; pass --allow-delete to confirm"]
    many = {KUSTOMIZATION: b"k"} | {f"ns/vs-{i}.yaml": b"v" for i in range(4)}
    fewer = {KUSTOMIZATION: b"k", "ns/vs-0.yaml": b"v"}
    with pytest.raises(WriteError) as info:
        guard_deletions(_change(many, fewer), "t", False, False)
    assert messages(info) == [
        "t: render would delete 3 of 4 object files: ns/vs-1.yaml, ns/vs-2.yaml, ns/vs-3.yaml",
        "t: pass --allow-delete to confirm",
    ]
    guard_deletions(_change(many, fewer), "t", False, True)
    guard_deletions(_change(many, {**fewer, "ns/vs-1.yaml": b"v"}), "t", False, False)


MANY = {f"s{i % 7}/ns{i % 3}/object-{i}.yaml": f"i: {i}\n".encode() for i in range(200)} | {KUSTOMIZATION: b"k\n"}


@pytest.mark.usefixtures("fast_paths")
@pytest.mark.parametrize("slow", [False, True])
def test_files_written_serially_or_on_threads_make_the_same_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow: bool
) -> None:
    """Where creating a file proved slow the remaining folders go to threads; the tree is the same."""
    from gwpipe.tree import files as write

    monkeypatch.setattr(write, "SLOW_FILE_SECONDS", -1.0 if slow else 3600.0)
    used: list[int] = []
    real = write.ThreadPoolExecutor
    monkeypatch.setattr(write, "ThreadPoolExecutor", lambda n: used.append(n) or real(n))
    folder = write_tree(tmp_path, "dev", dict(sorted(MANY.items())))
    assert read_tree(folder) == MANY
    assert used == ([write.FILE_WRITERS] if slow else [])


def test_a_failure_on_a_writer_thread_is_the_serial_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe.tree import files as write

    monkeypatch.setattr(write, "SLOW_FILE_SECONDS", -1.0)
    write_tree(tmp_path, "dev", FILES)
    too_long = {f"s5/{'x' * 300}.yaml": b"x\n"}  # a name no file system takes, in a folder written on a thread
    with pytest.raises(WriteError) as info:
        write_tree(tmp_path, "dev", dict(sorted((MANY | too_long).items())))
    assert read_tree(tmp_path / "dev") == FILES
    assert not (tmp_path / ".gwpipe-new-dev").exists()
    assert messages(info) == [f"{tmp_path}/dev: cannot write: File name too long"]
