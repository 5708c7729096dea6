"""The core knows no feature: no module under pipeline/ imports a plugin or names a feature's kinds and API groups."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORE = sorted((REPO / "pipeline").rglob("*.py"))
PLUGINS = REPO / "plugins"
# the GitOps controllers' API groups, kinds and annotations: the gitops plugin's alone
CONTROLLER_STRINGS = ("argoproj.io", "fluxcd.io", "ApplicationSet", "sync-wave", "_gitops")
# what the plugins now declare on their requests (Placement) or through hooks, never the core by kind
PLACEMENT_MODULES = ("model.py", "tree/layout.py", "tree/guards.py", "tree/moves.py", "tree/declared.py")
PLACEMENT_STRINGS = ("Gateway", "VirtualService", "HTTPRoute", "TCPRoute", "TLSRoute", "GRPCRoute", "Namespace")
PLACEMENT_STRINGS += ("gateway-", "namespace-")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def _plugin_modules() -> set[str]:
    """The submodules and subpackages of gwpipe.plugins (each a feature)."""
    return {p.stem for p in PLUGINS.glob("*.py") if p.stem != "__init__"} | {
        p.parent.name for p in PLUGINS.glob("*/__init__.py")
    }


def imported_plugin_modules(source: str, plugins: set[str]) -> list[str]:
    """Every `gwpipe.plugins.<x>` the source imports, anywhere (lazy imports inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("gwpipe.plugins.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("gwpipe.plugins."):
                found.append(node.module)
            elif node.module == "gwpipe.plugins":
                found += [f"gwpipe.plugins.{a.name}" for a in node.names if a.name in plugins or a.name == "*"]
    return found


def string_literals(source: str) -> list[str]:
    """The string constants of the code, docstrings left out (they may explain what moved where)."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_the_checks_see_real_imports() -> None:
    source = "import gwpipe.plugins.tls\nfrom gwpipe.plugins import http, BUILTIN\ndef f():\n    from gwpipe.plugins._istio import x\n"
    assert imported_plugin_modules(source, {"http", "tls", "_istio"}) == [
        "gwpipe.plugins.tls",
        "gwpipe.plugins.http",
        "gwpipe.plugins._istio",
    ]
    assert string_literals('"""doc."""\nX = "argoproj.io/v1alpha1"\n') == ["argoproj.io/v1alpha1"]
    assert {"http", "gitops", "_istio"} <= _plugin_modules()


@pytest.mark.parametrize("module", CORE, ids=_ids(CORE))
def test_core_imports_no_plugin(module: Path) -> None:
    assert imported_plugin_modules(module.read_text(encoding="utf-8"), _plugin_modules()) == []


@pytest.mark.parametrize("module", CORE, ids=_ids(CORE))
def test_core_names_no_gitops_controller(module: Path) -> None:
    literals = string_literals(module.read_text(encoding="utf-8"))
    assert [s for s in literals if any(word in s for word in CONTROLLER_STRINGS)] == []


@pytest.mark.parametrize("name", PLACEMENT_MODULES)
def test_placement_knows_no_kind(name: str) -> None:
    literals = string_literals((REPO / "pipeline" / name).read_text(encoding="utf-8"))
    assert [s for s in literals if any(word in s for word in PLACEMENT_STRINGS)] == []
