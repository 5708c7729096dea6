"""`gwpipe analyze`'s reader: the event walk (GWPIPE_FAST=1) gives the objects, lines and errors of the node graph path."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typed_equality import same

from gwpipe.checks.analysis import loader
from gwpipe.checks.analysis.loader import input_files, load_manifests
from gwpipe.checks.analysis.manifests import Manifest, Path_
from gwpipe.checks.analysis.structure import _key_lines
from gwpipe.cli.main import main
from gwpipe.errors import UsageError

TESTS = Path(__file__).resolve().parent.parent
GOLDEN_TREES = sorted(
    p for group in ("environments", "walkthrough") for p in (TESTS / "golden" / group).iterdir() if p.is_dir()
)
BUNDLES = TESTS / "analysis_bundles"

# plain words whose YAML 1.1 reading is not a string, or is easy to get wrong
TRICKY = [
    "yes", "No", "on", "OFF", "~", "null", "", "true", "0443", "0x1F", "0b101", "12:30", "1_000", "1e3",
    "-.inf", ".NaN", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "3.10", "+12", "-0", "08", "1:20:30.5",
    "abc", "a b", "é", "'q'", '"dq"', "=", "2001-02-30",
]  # fmt: skip


def paths_in(value: Any, prefix: Path_ = (), limit: int = 40) -> list[Path_]:
    """Paths to fields of `value`, breadth first, plus one that leads nowhere."""
    found: list[Path_] = [(*prefix, "no-such-field")]
    queue: list[tuple[Path_, Any]] = [(prefix, value)]
    while queue and len(found) < limit:
        path, current = queue.pop(0)
        children = (
            list(current.items())
            if isinstance(current, dict)
            else list(enumerate(current))
            if isinstance(current, list)
            else []
        )
        for key, child in children:
            if isinstance(key, str | int) and not isinstance(key, bool):
                found.append((*path, key))
                queue.append(((*path, key), child))
    return found


def load_with(fast: str, path: Path) -> list[Manifest] | tuple[str, ...]:
    """The manifests of `path` read with GWPIPE_FAST=`fast`, or the error's lines."""
    before = os.environ.get("GWPIPE_FAST")
    os.environ["GWPIPE_FAST"] = fast
    try:
        return load_manifests(path, "default")
    except UsageError as exc:
        return tuple(str(p) for p in exc.problems)
    finally:
        if before is None:
            del os.environ["GWPIPE_FAST"]
        else:
            os.environ["GWPIPE_FAST"] = before


def assert_same_reading(path: Path) -> list[Manifest] | tuple[str, ...]:
    """Both readers agree on `path`: identical manifests with their lines, or the identical error."""
    walked, composed = load_with("1", path), load_with("0", path)
    if isinstance(composed, tuple) or isinstance(walked, tuple):
        assert walked == composed
        return composed
    assert [(m.kind, m.api_version, m.namespace, m.name, m.file, m.line) for m in walked] == [
        (m.kind, m.api_version, m.namespace, m.name, m.file, m.line) for m in composed
    ]
    for fast_one, slow_one in zip(walked, composed, strict=True):
        assert same(fast_one.obj, slow_one.obj)
        fields = paths_in(slow_one.obj)
        assert [fast_one.line_of(p) for p in fields] == [slow_one.line_of(p) for p in fields]
        keys_fast, keys_slow = _key_lines(fast_one), _key_lines(slow_one)
        assert [keys_fast(p) for p in fields] == [keys_slow(p) for p in fields]
    return composed


# ---- generated files -------------------------------------------------------------------------------------

plain_names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
names = st.one_of(st.sampled_from(TRICKY), plain_names, plain_names)
scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=8),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=10,
)
namespaces = st.sampled_from([None, "shop", "kube-system", "local-path-storage", "istio-system"])


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": draw(st.one_of(names, st.just("web")))}
    namespace = draw(namespaces)
    if namespace:
        meta["namespace"] = namespace
    obj: dict[str, Any] = {
        "apiVersion": draw(st.sampled_from(["v1", "networking.istio.io/v1", "apps/v1"])),
        "kind": draw(st.sampled_from(["Service", "Gateway", "VirtualService", "Namespace", "ConfigMap"])),
        "metadata": meta,
    }
    if draw(st.booleans()):
        obj["spec"] = draw(values)
    return obj


def dumped(value: Any, draw: st.DrawFn) -> str:
    flow = draw(st.sampled_from([False, None, True]))
    style = draw(st.sampled_from([None, None, None, "'", '"']))
    return yaml.safe_dump(value, default_flow_style=flow, default_style=style, allow_unicode=True, sort_keys=False)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """One document's text, most of them Kubernetes objects, some what only the node graph path reads."""
    shape = draw(
        st.sampled_from(
            ["object"] * 8
            + ["list"] * 3
            + ["hand"] * 3
            + ["blank"] * 2
            + ["list-dup-items", "kustomization"]
            # what only the node graph path reads, or what is no object
            + ["other", "anchor", "merge", "tag", "bad-tag", "bad-date", "broken"]
        )
    )
    if shape == "object":
        return dumped(draw(objects()), draw)
    if shape == "list":
        items = draw(st.lists(st.one_of(objects(), objects(), scalars), max_size=4))
        return dumped({"apiVersion": "v1", "kind": "List", "items": items}, draw)
    if shape == "list-dup-items":  # the lines come from the first `items`, the objects from the last
        first, last = draw(st.lists(objects(), max_size=3)), draw(st.lists(objects(), max_size=3))
        body = dumped({"items": first}, draw) + dumped({"items": last}, draw)
        return "apiVersion: v1\nkind: List\n" + body
    if shape == "hand":
        word, other = draw(names), draw(st.sampled_from(TRICKY))
        return (
            f"# {other}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {word}\n"
            f"  labels: {{k: {other}}}\ndata:\n  # inside\n  v: {other}\n  l:\n  - {other}\n  -   - {word}\n"
        )
    if shape == "kustomization":
        return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"
    if shape == "other":
        return dumped(draw(values), draw)
    if shape == "blank":
        return draw(st.sampled_from(["", "# only a comment\n", "\n\n", "~\n", "null\n"]))
    if shape == "anchor":
        return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: &n web}\ndata: {a: *n, b: &m [1, 2]}\nc: *m\n"
    if shape == "merge":
        return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  <<: {name: merged}\n  namespace: shop\n"
    if shape == "tag":
        return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: !!str {draw(names)}}}\ndata: {{n: !!int '7'}}\n"
    if shape == "bad-tag":
        return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: !custom [id]\n"
    if shape == "bad-date":
        return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {d: 2001-02-30}\n"
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n"


@st.composite
def files(draw: st.DrawFn) -> str:
    docs = draw(st.lists(documents(), min_size=1, max_size=4))
    text = draw(st.sampled_from(["", "---\n", "# head\n---\n", "%YAML 1.1\n---\n"]))
    for i, doc in enumerate(docs):
        if i:
            text += draw(st.sampled_from(["---\n", "--- # next\n", "...\n---\n", "\n---\n\n"]))
        text += doc
    return text + draw(st.sampled_from(["", "...\n", "# tail\n", "---\n"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files())
def test_generated_files_read_the_same_both_ways(tmp_path: Path, text: str) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8")
    assert_same_reading(path)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["object", "list", "hand", "kustomization", "blank"]), min_size=1, max_size=4))
def test_plain_files_take_the_walk(shapes: list[str]) -> None:
    """Files without anchors, tags or merge keys never need the node graph to be read."""
    parts = {
        "object": "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n",
        "list": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: shop}\n",
        "hand": "# c\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  on: yes\n",
        "kustomization": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        "blank": "# nothing\n",
    }
    text = "---\n".join(parts[s] for s in shapes)
    walked = loader._walked_manifests("f.yaml", text, "default")
    assert walked is not None
    composed = loader._composed_manifests("f.yaml", text, "default")
    assert [(m.ref, m.line) for m in walked] == [(m.ref, m.line) for m in composed]


# ---- fixed cases -----------------------------------------------------------------------------------------


def test_list_items_and_documents_have_their_own_lines(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(
        "# leading comment\n\n---\napiVersion: v1\nkind: List\nitems:\n"
        "  - apiVersion: v1\n    kind: Namespace\n    metadata: {name: shop}\n"
        "  -\n    apiVersion: v1\n    kind: Namespace\n    metadata:\n      name: other\n"
        "...\n---\n# c\n\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: kube-system\n"
        "---\n  apiVersion: v1\n  kind: Service\n  metadata: {name: api}\n"
    )
    found = assert_same_reading(path)
    assert isinstance(found, list)
    assert [(m.ref, m.line, m.line_of(("metadata", "name"))) for m in found] == [
        ("Namespace shop", 7, 9),
        ("Namespace other", 11, 14),
        ("Service default/api", 25, 27),
    ]


def test_duplicate_items_keys_keep_the_reference_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems: none\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"
        "items:\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n"
        "- {apiVersion: v1, kind: Namespace, metadata: {name: c}}\n"
    )
    found = assert_same_reading(path)
    assert isinstance(found, list)
    # the first list's one item names the line of b; c has no item there, so it takes the document's line
    assert [(m.name, m.line) for m in found] == [("b", 5), ("c", 1)]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: 1\n", "f.yaml:1:1: not a Kubernetes object (needs apiVersion and kind)"),
        ("---\n- x\n", "f.yaml:2:1: not a Kubernetes object (needs apiVersion and kind)"),
        ("apiVersion: v1\nkind: List\nitems:\n  - 7\n", "f.yaml:4:5: not a Kubernetes object (needs apiVersion and kind)"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: yes}\n", "f.yaml:1:1: metadata.name is required"),
        ("apiVersion: v1\nkind: Service\nmetadata: {}\n---\n[\n", "f.yaml:6:1: invalid YAML: did not find expected node content"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: x, d: 2001-02-30}\n", "f.yaml: invalid YAML: ValueError"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nd: !x 1\n", None),
    ],
)  # fmt: skip
def test_errors_are_worded_and_placed_the_same(tmp_path: Path, text: str, error: str | None) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        found = assert_same_reading(path)
    finally:
        os.chdir(cwd)
    assert isinstance(found, tuple)
    if error is not None:
        assert found == (error,)
    else:
        assert found[0].startswith("f.yaml:4:4: invalid YAML: could not determine a constructor for the tag '!x'")


@pytest.mark.parametrize("over", [0, 1])
# each shape with the nodes of its document besides the list's items
@pytest.mark.parametrize(("shape", "others"), [("k: [{list}]\n", 5), ("kind: List\nitems:\n{block}", 7)])
def test_the_node_limit_counts_without_aliases_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, over: int, shape: str, others: int
) -> None:
    """The limit counts nodes, aliases or not: one node too many is refused on both paths, at the same place."""
    monkeypatch.setattr(loader, "MAX_EXPANDED_NODES", 1000)
    path = tmp_path / "big.yaml"
    items = 1000 - others + over
    body = shape.format(list="1," * items, block="- x\n" * items)
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n# big\nv: 1\n" + body)
    found = assert_same_reading(path)
    assert isinstance(found, tuple)  # a ConfigMap-less second document is no object even when small enough
    expected = "big.yaml:6:1: document expands to more than 1000 nodes through YAML aliases (alias bomb?)"
    assert found[0].endswith(expected) == bool(over)


@settings(max_examples=200, deadline=None)
@given(files())
def test_the_walk_counts_the_nodes_the_alias_guard_counts(text: str) -> None:
    walked = loader.load_marked_documents(text, "items")
    if walked is not None:
        composed = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
        assert [d.nodes for d in walked] == [loader._expanded_size(n) for n in composed]


def test_the_node_graph_is_composed_once_per_file_and_only_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GWPIPE_FAST", "1")
    path = tmp_path / "two.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
    )
    composed: list[str] = []
    real = yaml.compose_all

    def counting(text: str, Loader: Any) -> Iterator[yaml.Node]:
        composed.append(text)
        return real(text, Loader=Loader)

    monkeypatch.setattr(loader.yaml, "compose_all", counting)
    first, second = load_manifests(path, "default")
    assert composed == []
    assert (first.line_of(("metadata", "name")), second.line_of(("metadata", "name"))) == (3, 7)
    assert len(composed) == 1


# ---- whole trees and the command -------------------------------------------------------------------------


@pytest.mark.parametrize("tree", GOLDEN_TREES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_trees_read_the_same(tree: Path) -> None:
    files = input_files([str(tree)])
    assert files
    read = [assert_same_reading(f) for f in files]
    assert sum(len(r) for r in read if isinstance(r, list)) > 0


def analyze_json(fast: str, *args: str) -> tuple[int, Any, str]:
    result = CliRunner(env={"GWPIPE_FAST": fast}).invoke(main, ["analyze", "-o", "json", *args])
    return result.exit_code, json.loads(result.stdout) if result.stdout else None, result.stderr


def hostile_inputs(folder: Path) -> list[Path]:
    """The hostile files of tests/analysis/test_command.py, and a few more."""
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    cases: dict[str, str | bytes] = {
        "bomb.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" + "\n".join(levels) + "\n",
        "tag.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: !!python/object/apply:os.system [id]\n",
        "deep.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "deep-ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: " + "[" * 150 + "]" * 150 + "\n",
        "utf.yaml": b"apiVersion: v1\nkind: \xff\n",
        "bom.yaml": "\ufeffapiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "dupkeys.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nmetadata: {name: y}\n",
    }
    paths = []
    for name, content in cases.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        paths.append(path)
    return paths


def test_analyze_reports_the_same_both_ways(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("inventory: []\n")
    runs = [(str(p),) for p in [*GOLDEN_TREES, *sorted(BUNDLES.glob("*.yaml"))]]
    runs += [(str(p), "--inventory", str(inventory)) for p in sorted(BUNDLES.glob("*.yaml"))]
    runs += [(str(p),) for p in hostile_inputs(tmp_path)]
    lines_reported = errors = 0
    for args in runs:
        walked, composed = analyze_json("1", *args), analyze_json("0", *args)
        assert walked == composed, args
        if isinstance(composed[1], list):
            lines_reported += sum(1 for f in composed[1] if f["line"])
        else:
            errors += 1
    assert lines_reported >= 100
    assert errors == 4  # bomb, tag, deep and utf


@pytest.mark.parametrize("raw", ["a.yaml", "./d/../a.yaml", "d//e/./f.yaml", "../x/a.yaml", "..a/b.yaml", "."])
def test_files_are_named_relative_to_the_working_folder_as_relpath_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for path in (Path(raw), work / raw, tmp_path / raw):
        relative = os.path.relpath(path)
        assert loader._display(path) == (relative if not relative.startswith("..") else str(path))


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n",
        "# a comment first\n\n  # and an indented one\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: kube-system\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  namespace: shop\n",
        "- a\n- b\n",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n",
    ],
)
def test_block_shaped_files_read_as_the_composer_reads_them(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One document in the block shape gwpipe writes is read line by line: same objects, lines and errors."""
    path = tmp_path / "one.yaml"
    path.write_text(text)
    results = []
    for value in ("1", "0"):
        monkeypatch.setenv("GWPIPE_FAST", value)
        try:
            found = load_manifests(path, "default")
        except UsageError as exc:
            results.append(str(exc))
            continue
        results.append([(m.kind, m.namespace, m.name, m.line, m.obj, [m.line_of(("metadata", "name"))]) for m in found])
    assert results[0] == results[1]
