"""Hostile spec files (catalogue rows 1-15): each fails with F0 and the exact located message."""

from __future__ import annotations

import re

import pytest

from .conftest import GOOD_SPEC, Workspace, _hash_files, assert_f0, loc

YAML_TAG = "tag:yaml.org,2002:"


def _bomb() -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# (catalogue row, spec text, expected error regexes); the line numbers are where the fault is seeded
CASES: list[tuple[str, str | bytes, list[str]]] = [
    (
        "01-python-tag",
        'namespace: shop\nistio: !!python/object/apply:os.system ["touch pwned"]\n',
        [
            loc("bad", 2, 8, "istio")
            + re.escape(f"YAML tag {YAML_TAG}python/object/apply:os.system is not allowed in a spec")
        ],
    ),
    (
        "01-python-name-tag",
        "namespace: !!python/name:os.system\n",
        [
            loc("bad", 1, 12, "namespace")
            + re.escape(f"YAML tag {YAML_TAG}python/name:os.system is not allowed in a spec")
        ],
    ),
    # an alias use is located at its anchor (PyYAML composes aliases to the anchored node); the path names the use
    ("02-alias-bomb", _bomb(), [loc("bad", 1, 40, "c[0][0][8]") + "more than 100 YAML alias uses"]),
    (
        "03-nesting-100",
        "a:\n  b: " + "[" * 100 + "]" * 100 + "\n",
        [loc("bad", 2, None) + r"a\.b(\[0\])+: nesting too deep \(more than 64 levels\)"],
    ),
    (
        "03-nesting-50000",
        "a: " + "[" * 50000 + "]" * 50000 + "\n",
        [loc("bad", 1, None) + "invalid YAML: exceeded maximum nesting depth"],
    ),
    (
        "03-nesting-mappings",
        "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 80)),
        [loc("bad", 66, None) + r"a(\.b)+: nesting too deep \(more than 64 levels\)"],
    ),
    (
        "impossible-date",
        "namespace: shop\nnote: 2001-02-30\n",
        [
            loc("bad", 2, 7, "note")
            + re.escape("'2001-02-30' reads as a date or time but is not a valid one (day is out of range for month); ")
            + "quote it to keep it as text"
        ],
    ),
    (
        "04-duplicate-nested",
        "namespace: shop\ngateways:\n  web: {}\n  web: {}\n",
        [loc("bad", 4, 3, "gateways.web") + re.escape("duplicate key 'web' (first defined at line 3)")],
    ),
    (
        "04-duplicate-top",
        "namespace: a\nistio: {}\nnamespace: b\n",
        [loc("bad", 3, 1, "namespace") + re.escape("duplicate key 'namespace' (first defined at line 1)")],
    ),
    (
        "04-null-keys",
        "namespace: a\nnull: x\n~: y\n",
        [
            loc("bad", 2, 1) + re.escape("mapping keys must be strings, got 'null'; quote it"),
            loc("bad", 3, 1) + re.escape("mapping keys must be strings, got '~'; quote it"),
        ],
    ),
    (
        "05-norway",
        "namespace: NO\nistio:\n  namespace: off\n",
        [
            loc("bad", 1, 12, "namespace")
            + re.escape("expected string, got boolean (YAML 1.1 read 'NO' as boolean; quote it)"),
            loc("bad", 3, 14, "istio.namespace")
            + re.escape("expected string, got boolean (YAML 1.1 read 'off' as boolean; quote it)"),
        ],
    ),
    (
        "06-octal-port",
        "gateways:\n  web:\n    httpPort: 0443\n",
        [
            loc("bad", 3, 15, "gateways.web.httpPort")
            + re.escape("ambiguous number '0443' (YAML 1.1 reads it as 291); write it plainly or quote it")
        ],
    ),
    (
        "06-version-float",
        "istio:\n  version: 3.10\n",
        [
            loc("bad", 2, 12, "istio.version")
            + re.escape("expected string, got number (YAML 1.1 read '3.10' as number; quote it)")
        ],
    ),
    (
        "06-sexagesimal",
        "gateways:\n  web:\n    httpPort: 12:30\n",
        [
            loc("bad", 3, 15, "gateways.web.httpPort")
            + re.escape("ambiguous number '12:30' (YAML 1.1 reads it as 750); write it plainly or quote it")
        ],
    ),
    (
        "06-exponent-string",
        "gateways:\n  web:\n    httpPort: 1e3\n",
        [loc("bad", 3, 15, "gateways.web.httpPort") + "expected integer, got string"],
    ),
    (
        "07-date",
        "namespace: shop\nistio:\n  version: 2024-01-15\n",
        [
            loc("bad", 3, 12, "istio.version")
            + re.escape("expected string, got date (YAML 1.1 read '2024-01-15' as date; quote it)")
        ],
    ),
    ("08-null-value", "namespace:\n", [loc("bad", 1, 11, "namespace") + "required field empty"]),
    ("08-tilde-value", "namespace: ~\n", [loc("bad", 1, 12, "namespace") + "required field empty"]),
    (
        "08-empty-string",
        'templates: ""\n',
        [loc("bad", 1, 12, "templates") + "required field empty"],
    ),
    ("09-empty-file", "", [r"environments/bad\.yaml: spec is empty"]),
    ("09-comment-only", "# nothing here\n", [r"environments/bad\.yaml: spec is empty"]),
    ("09-only-dashes", "---\n", [r"environments/bad\.yaml: spec is empty"]),
    (
        "10-two-documents",
        "namespace: a\n---\nnamespace: b\n",
        [loc("bad", 3, 1) + "a spec holds one YAML document; found a second"],
    ),
    (
        "11-unknown-fields",
        "namespce: shop\ngateways:\n  web:\n    selectr: {istio: ingressgateway}\n",
        [
            loc("bad", 1, 11, "namespce") + re.escape("unknown field; did you mean 'namespace'?"),
            loc("bad", 4, 14, "gateways.web.selectr") + re.escape("unknown field; did you mean 'selector'?"),
        ],
    ),
    (
        "12-list-for-mapping",
        "namespace: shop\ngateways:\n  - web\n",
        [loc("bad", 3, 3, "gateways") + "expected mapping, got list"],
    ),
    (
        "12-mapping-for-string",
        "namespace:\n  name: shop\n",
        [loc("bad", 2, 3, "namespace") + "expected string, got mapping"],
    ),
    (
        "13-tab-indent",
        "istio:\n\tversion: '1.24'\n",
        [loc("bad", 2, 1) + "invalid YAML: tab character; indent with spaces"],
    ),
    (
        "13-invalid-utf8",
        b"namespace: shop\nistio: {namespace: \xff}\n",
        [loc("bad", 2, 20) + "invalid UTF-8 at byte 35"],
    ),
    (
        "13-utf16-bom",
        "namespace: shop\n".encode("utf-16"),
        [loc("bad", 1, 1) + "byte-order mark found; save the file as UTF-8 without BOM"],
    ),
    (
        "13-nul-byte",
        b"namespace: shop\nistio: {}\x00\n",
        [loc("bad", 2, 10) + "control character U\\+0000 not allowed"],
    ),
    (
        "13-escaped-control",
        'namespace: shop\nistio:\n  namespace: "a\\x1b[31m"\n',
        [loc("bad", 3, 14, "istio.namespace") + "control character U\\+001B not allowed in a value"],
    ),
]


# row 35: shell metacharacters never reach a shell (gwpipe runs git with argv lists); field regexes refuse them first
CASES.append(
    (
        "35-shell-metacharacters",
        'namespace: "a;curl x|sh"\nhosts:\n  "$(touch pwned).example.com":\n    gateway: web\n    routes: []\n',
        [
            loc("bad", 1, 12, "namespace") + re.escape("invalid value, got 'a;curl x|sh'; expected a DNS-1123 label"),
            r"environments/bad\.yaml:4:5: hosts\[\"\$\(touch pwned\)\.example\.com\"\]: invalid value, got "
            r"'\$\(touch pwned\)\.example\.com'; expected a lower-case FQDN, \*\.domain or \*",
            r"environments/bad\.yaml:5:13: hosts\[\"\$\(touch pwned\)\.example\.com\"\]\.routes: needs at least 1 item\(s\)",
        ],
    )
)


@pytest.mark.parametrize(("row", "text", "errors"), CASES, ids=[c[0] for c in CASES])
def test_hostile_spec(workspace: Workspace, row: str, text: str | bytes, errors: list[str]) -> None:
    workspace.write("bad", text)
    assert_f0(workspace, ["render", "bad"], errors)


def test_row01_python_tag_never_executes(workspace: Workspace) -> None:
    marker = workspace.root / "pwned"
    workspace.write("bad", f'istio: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert_f0(workspace, ["render", "bad"], [loc("bad", 1, 8, "istio") + "YAML tag .* is not allowed in a spec"])
    assert not marker.exists()


def test_row04_every_problem_at_once(workspace: Workspace) -> None:
    """Load problems are all reported together, each on its own line, in file order."""
    workspace.write(
        "bad", "namespace: a\nnamespace: b\nistio: !!python/name:os.system\ngateways:\n  web:\n    httpPort: 0443\n"
    )
    assert_f0(
        workspace,
        ["render", "bad"],
        [
            loc("bad", 2, 1, "namespace") + "duplicate key 'namespace' .*",
            loc("bad", 3, 8, "istio") + "YAML tag .* is not allowed in a spec",
            loc("bad", 6, 15, "gateways.web.httpPort") + "ambiguous number '0443' .*",
        ],
    )


SIZE_LIMIT = (
    r"environments/bad\.yaml: file exceeds the size limit of 8388608 bytes \(8 MiB\); split it: move part of a "
    r"large mapping such as `hosts` into a base file named by `extends` \(bases merge key by key, up to 8 levels\) "
    r"or into another environment; see docs/speed\.md, Large fleets"
)


def test_row14_50mb_spec_refused_before_parsing(workspace: Workspace) -> None:
    path = workspace.write("bad", "")
    with path.open("w") as handle:
        handle.write("namespace: shop\n")
        for _ in range(50):
            handle.write("# " + "x" * (1024 * 1024 - 3) + "\n")
    assert_f0(workspace, ["render", "bad"], [SIZE_LIMIT])


def test_row14_10mb_scalar_refused(workspace: Workspace) -> None:
    workspace.write("bad", "namespace: " + "a" * (10 * 1024 * 1024) + "\n")
    assert_f0(workspace, ["render", "bad"], [SIZE_LIMIT])


def test_row13_crlf_is_read_as_lf(workspace: Workspace) -> None:
    """CRLF line ends are YAML line breaks: the render is byte-identical to that of the LF spec."""
    trees = []
    for n, newline in enumerate(("\r\n", "\n")):
        workspace.write("good", GOOD_SPEC.replace("\n", newline))
        out = workspace.root / f"out{n}"
        result = workspace.run("render", "good", "--out", str(out))
        assert result.returncode == 0, result.stderr
        trees.append(_hash_files(out))
    assert trees[0] == trees[1]
    assert len(trees[0]) == 4


def test_row15_many_hosts_complete(workspace: Workspace) -> None:
    """1,000 hosts in one spec render (the 10,000-host timing is printed by benchmarks/hostile_bounds.py)."""
    hosts = "".join(
        f"  h{i}.example.com:\n    gateway: web\n    routes:\n      - destination: {{host: app, port: 80}}\n"
        for i in range(1000)
    )
    workspace.write(
        "many", "namespace: shop\ngateways:\n  web:\n    selector: {istio: ingressgateway}\nhosts:\n" + hosts
    )
    result = workspace.run("render", "many", "--out", str(workspace.root / "out"))
    assert result.returncode == 0, result.stderr
    assert len(list((workspace.root / "out" / "many").rglob("virtualservice-*.yaml"))) == 1000


PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC" + "CANARYKEYMATERIAL" * 4


def test_key_material_in_a_rejected_value_is_redacted(workspace: Workspace) -> None:
    workspace.write("bad", f'namespace: "-----BEGIN PRIVATE KEY-----\\n{PEM_BODY}\\n-----END PRIVATE KEY-----"\n')
    assert_f0(
        workspace,
        ["render", "bad"],
        [
            loc("bad", 1, 12, "namespace") + r"contains a PEM private key \(value redacted, \d+ bytes\)",
            loc("bad", 1, 12, "namespace") + "must be at most 63 characters long",
            loc("bad", 1, 12, "namespace") + r"invalid value, got <redacted, \d+ bytes>; expected a DNS-1123 label",
        ],
        canaries=["CANARYKEYMATERIAL", "BEGIN PRIVATE KEY"],
    )
    debug = workspace.run("render", "bad", debug=True)
    assert debug.returncode == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert "CANARYKEYMATERIAL" not in debug.stdout + debug.stderr
