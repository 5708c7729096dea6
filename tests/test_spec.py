"""spec: names, `extends` (bases, overrides, null deletes, cycles, root, symlinks) and located problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gwpipe.errors import SpecError
from gwpipe.spec.load import MAX_EXTENDS, Spec, check_name, load_spec

BASE = """\
namespace: shop
istio:
  version: "1.24"
gateways:
  web:
    selector:
      istio: ingressgateway
hosts:
  a.example.com:
    gateway: web
    routes:
      - destination: {host: app, port: 80}
"""


@pytest.fixture
def envs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "environments"
    folder.mkdir()
    (folder / "_base.yaml").write_text(BASE)
    return folder


def messages(exc: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_base_shared_by_three_environments(envs: Path) -> None:
    (envs / "dev.yaml").write_text("extends: _base.yaml\nnamespace: shop-dev\n")
    (envs / "staging.yaml").write_text('extends: _base.yaml\nistio:\n  version: "1.26"\n')
    (envs / "prod.yaml").write_text("extends: _base.yaml\nhosts:\n  b.example.com:\n    gateway: web\n    routes: []\n")
    dev, staging, prod = (load_spec(envs / f"{n}.yaml", envs) for n in ("dev", "staging", "prod"))
    assert dev.data["namespace"] == "shop-dev"
    assert dev.data["gateways"] == staging.data["gateways"]
    assert staging.data["istio"] == {"version": "1.26"}
    assert staging.data["namespace"] == "shop"
    assert sorted(prod.data["hosts"]) == ["a.example.com", "b.example.com"]
    assert "extends" not in dev.data


def test_locations_point_at_the_file_that_set_the_value(envs: Path) -> None:
    (envs / "dev.yaml").write_text("# dev\nextends: _base.yaml\nnamespace: shop-dev\n")
    spec = load_spec(envs / "dev.yaml", envs)
    assert spec.where("namespace") == "environments/dev.yaml:3:12: namespace"
    assert spec.where("istio", "version") == "environments/_base.yaml:3:12: istio.version"
    assert (
        spec.where("hosts", "a.example.com", "gateway")
        == 'environments/_base.yaml:10:14: hosts["a.example.com"].gateway'
    )
    # a path with no value of its own is located at its nearest located ancestor
    assert spec.where("gateways", "web", "httpPort") == "environments/_base.yaml:6:5: gateways.web.httpPort"


def test_null_deletes_a_key_of_the_base(envs: Path) -> None:
    (envs / "dev.yaml").write_text("extends: _base.yaml\nistio: ~\ngateways:\n  web:\n    selector: null\n")
    spec = load_spec(envs / "dev.yaml", envs)
    assert "istio" not in spec.data
    assert spec.data["gateways"] == {"web": {}}
    assert ("istio", "version") not in spec.locations


def test_lists_replace_not_merge(envs: Path) -> None:
    (envs / "dev.yaml").write_text(
        "extends: _base.yaml\nhosts:\n  a.example.com:\n    routes:\n      - destination: {host: other, port: 81}\n"
    )
    spec = load_spec(envs / "dev.yaml", envs)
    assert spec.data["hosts"]["a.example.com"] == {
        "gateway": "web",
        "routes": [{"destination": {"host": "other", "port": 81}}],
    }


def test_chain_of_bases(envs: Path) -> None:
    (envs / "_mid.yaml").write_text("extends: _base.yaml\nnamespace: mid\n")
    (envs / "dev.yaml").write_text("extends: _mid.yaml\n")
    assert load_spec(envs / "dev.yaml", envs).data["namespace"] == "mid"


def test_cycle(envs: Path) -> None:
    (envs / "a.yaml").write_text("extends: b.yaml\n")
    (envs / "b.yaml").write_text("namespace: x\nextends: a.yaml\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "a.yaml", envs)
    assert messages(info) == ["environments/b.yaml:2:10: extends: extends cycle through environments/a.yaml"]


def test_self_extends(envs: Path) -> None:
    (envs / "a.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "a.yaml", envs)
    assert messages(info) == ["environments/a.yaml:1:10: extends: extends cycle through environments/a.yaml"]


def test_depth_limit(envs: Path) -> None:
    for i in range(MAX_EXTENDS + 2):
        (envs / f"l{i}.yaml").write_text(f"extends: l{i + 1}.yaml\n" if i <= MAX_EXTENDS else "namespace: x\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "l0.yaml", envs)
    assert messages(info) == [
        f"environments/l{MAX_EXTENDS}.yaml:1:10: extends: more than {MAX_EXTENDS} levels of extends"
    ]


@pytest.mark.parametrize(
    ("ref", "what"),
    [
        ("../outside.yaml", "path outside the spec root"),
        ("/etc/passwd", "path outside the spec root; use a path relative to this file"),
        ("missing.yaml", "base spec 'missing.yaml' not found"),
        ('""', "expected a file name (string)"),
        ("[a]", "expected a file name (string)"),
    ],
)
def test_bad_extends(envs: Path, ref: str, what: str) -> None:
    (envs.parent / "outside.yaml").write_text("namespace: x\n")
    (envs / "dev.yaml").write_text(f"namespace: a\nextends: {ref}\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "dev.yaml", envs)
    assert messages(info) == [f"environments/dev.yaml:2:10: extends: {what}"]


def test_extends_symlink_refused_even_inside_root(envs: Path) -> None:
    (envs / "link.yaml").symlink_to("_base.yaml")
    (envs / "dev.yaml").write_text("extends: link.yaml\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "dev.yaml", envs)
    assert messages(info) == ["environments/dev.yaml:1:10: extends: refusing to follow symlink environments/link.yaml"]


def test_symlinked_folder_on_the_way_refused(envs: Path) -> None:
    real = envs / "real"
    real.mkdir()
    (real / "_b.yaml").write_text("namespace: x\n")
    (envs / "sub").symlink_to(real)
    (envs / "dev.yaml").write_text("extends: sub/_b.yaml\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "dev.yaml", envs)
    assert messages(info) == ["environments/dev.yaml:1:10: extends: refusing to follow symlink environments/sub"]


def test_base_problems_located_in_the_base(envs: Path) -> None:
    (envs / "_bad.yaml").write_text("namespace: a\nnamespace: b\n")
    (envs / "dev.yaml").write_text("extends: _bad.yaml\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "dev.yaml", envs)
    assert messages(info) == [
        "environments/_bad.yaml:2:1: namespace: duplicate key 'namespace' (first defined at line 1)"
    ]


def test_spec_file_checks(envs: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(envs / "nope.yaml", envs)
    assert messages(info) == ["environments/nope.yaml: spec file not found"]
    (envs / "Bad_Name.yaml").write_text("namespace: a\n")
    with pytest.raises(SpecError) as info:
        load_spec(envs / "Bad_Name.yaml", envs)
    assert messages(info) == [
        "environments/Bad_Name.yaml: environment name 'Bad_Name' is not a DNS-1123 label "
        "(lower-case letters, digits and '-', at most 63 characters)"
    ]
    other = envs.parent / "other"
    other.mkdir()
    (other / "x.yaml").write_text("namespace: a\n")
    with pytest.raises(SpecError) as info:
        load_spec(other / "x.yaml", envs)
    assert messages(info) == ["other/x.yaml: path outside the spec root"]


@pytest.mark.parametrize("name", ["a", "prod", "a-1", "x" * 63])
def test_check_name_accepts(name: str) -> None:
    check_name(name, "environment name", "here")


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a.b", "a/b", "..", "x" * 64, "prod\n"])
def test_check_name_refuses(name: str) -> None:
    with pytest.raises(SpecError):
        check_name(name, "environment name", "here")


def test_spec_problem_and_get() -> None:
    spec = Spec("dev", "dev.yaml", {"a": {"b": 1}}, {}, Path(os.getcwd()))
    assert str(spec.problem(("a", "b"), "bad")) == "dev.yaml: a.b: bad"
    assert spec.get("a") == {"b": 1}
    assert spec.get("zz", 5) == 5
