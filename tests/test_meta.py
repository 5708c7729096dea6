"""Meta-tests: every hook documented and exercised, every built-in plugin documented and tested, every module described."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from gwpipe.hooks import specs as hookspecs
from gwpipe.plugins import BUILTIN

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
HOOKS = sorted(name for name, value in vars(hookspecs).items() if name.startswith("gwpipe_") and callable(value))


def test_hookspecs_found() -> None:
    expected = {"gwpipe_check", "gwpipe_modify_resources", "gwpipe_resources", "gwpipe_spec_schema"}
    assert expected | {"gwpipe_template_folders", "gwpipe_validate_spec"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docstring_contract(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc.splitlines()) >= 3, f"{hook}: the docstring is the contract; say when, what in, what out"
    assert re.search(r"\bcalled\b", doc, re.I), f"{hook}: docstring does not say when it is called"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    """Like datasette's test_docs: docs/hooks.md has a section headed by each hook, with its signature."""
    text = (REPO / "docs" / "hooks.md").read_text(encoding="utf-8")
    params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert re.search(rf"^##+ `?{hook}\({re.escape(params)}\)`?\s*$", text, re.M), (
        f"docs/hooks.md lacks a '## {hook}({params})' section"
    )


def _test_sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py") if p.name != "test_meta.py"}


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_test(hook: str) -> None:
    """A test implements the hook (a hookimpl in a test or fixture plugin) or names it in an assertion."""
    users = [p for p, text in _test_sources().items() if re.search(rf"\b{hook}\b", text)]
    fixture_plugin = REPO / "tests" / "fixtures" / "ext_plugin"
    users += [p for p in fixture_plugin.rglob("*.py") if re.search(rf"def {hook}\(", p.read_text(encoding="utf-8"))]
    assert users, f"no test exercises {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_its_own_test(hook: str) -> None:
    """Strict by name, as datasette does: a test function `test_hook_<hook>` somewhere under tests/."""
    pattern = re.compile(rf"^def test_hook_{hook}\(", re.M)
    assert any(pattern.search(text) for text in _test_sources().values()), f"no test function test_hook_{hook}"


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_plugin_documented(name: str) -> None:
    doc = REPO / "docs" / "plugins" / f"{name}.md"
    assert doc.is_file(), f"missing {doc.relative_to(REPO)}"
    assert f"(plugins/{name}.md)" in (REPO / "docs" / "spec.md").read_text(encoding="utf-8"), (
        "docs/spec.md must link it"
    )


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_plugin_tested(name: str) -> None:
    # a plugin's unit tests are tests/plugins/test_<name>.py, or a folder tests/<name>/ when they need several files
    files = [TESTS / "plugins" / f"test_{name}.py", *sorted((TESTS / name).glob("test_*.py"))]
    found = [f for f in files if f.is_file() and re.search(r"^def test_", f.read_text(encoding="utf-8"), re.M)]
    assert found, f"missing tests/plugins/test_{name}.py (or tests/{name}/test_*.py)"


MODULES = sorted(p for folder in ("pipeline", "plugins") for p in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("module", MODULES, ids=[str(p.relative_to(REPO)) for p in MODULES])
def test_module_has_a_one_line_docstring(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert doc, f"{module.relative_to(REPO)} has no module docstring"
    first = doc.splitlines()[0]
    assert first.strip(), f"{module.relative_to(REPO)}: the docstring starts with a blank line"
    assert len(first) <= 120, f"{module.relative_to(REPO)}: the first docstring line must fit on one line"
