"""CRD sources (files, folders, Lists, pinned URLs with a cache, the live cluster) and the catalog built from them."""

from __future__ import annotations

import copy
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gwpipe.checks.schema import crds, crdsources
from gwpipe.checks.schema.crdsources import Source, cache_path, configured_sources, load_documents
from gwpipe.errors import CheckError, SpecError, UsageError
from gwpipe.spec.load import load_spec

BUNDLES = Path(__file__).resolve().parent / "schema_bundles"
WIDGETS = BUNDLES / "crds" / "widgets.example.com.yaml"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(crdsources.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    crdsources.clear_cache()
    crds.clear_cache()


def widget_crd() -> dict[str, Any]:
    items: list[dict[str, Any]] = yaml.safe_load(WIDGETS.read_text(encoding="utf-8"))["items"]
    return items[0]


def write_spec(folder: Path, crd_entries: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "prod.yaml"
    path.write_text(yaml.safe_dump({"namespace": "web", "checks": {"crds": crd_entries}}), encoding="utf-8")
    return path


class _Server:
    """A local HTTP server on 127.0.0.1 answering GETs from a dict of path -> (status, body); counts requests."""

    def __init__(self, routes: dict[str, tuple[int, bytes]], expect_token: str | None = None) -> None:
        self.routes = routes
        self.hits: list[str] = []
        self.auth: list[str | None] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits.append(self.path)
                outer.auth.append(self.headers.get("Authorization"))
                status, body = outer.routes.get(self.path.split("?")[0], (404, b'{"kind":"Status","code":404}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def crd_server() -> Iterator[_Server]:
    server = _Server(
        {"/releases/v1.2.3/widgets.yaml": (200, WIDGETS.read_bytes()), "/releases/v1.2.4/bad.yaml": (200, b"a: [")}
    )
    yield server
    server.close()


def test_folder_source_reads_lists_and_multi_document_files(tmp_path: Path) -> None:
    folder = tmp_path / "crds"
    folder.mkdir()
    other = copy.deepcopy(widget_crd())
    other["metadata"]["name"] = "gadgets.example.com"
    other["spec"]["names"] = {"kind": "Gadget", "plural": "gadgets"}
    (folder / "a.yaml").write_bytes(WIDGETS.read_bytes())
    (folder / "b.yml").write_text(
        "---\n" + yaml.safe_dump(other) + "---\napiVersion: v1\nkind: ConfigMap\n", encoding="utf-8"
    )
    (folder / "README.md").write_text("kind: CustomResourceDefinition\n", encoding="utf-8")
    docs = load_documents(Source("path", str(folder), "test"))
    assert [d["metadata"]["name"] for d in docs] == ["widgets.example.com", "gadgets.example.com"]


def test_folder_without_crds_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")
    with pytest.raises(CheckError, match=r"^test: no CustomResourceDefinition found in .*$"):
        load_documents(Source("path", str(tmp_path), "test"))


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("kind: CustomResourceDefinition\nspec: [\n", encoding="utf-8")
    with pytest.raises(CheckError, match=r"^.*/x\.yaml:3:1: invalid YAML in crd source: .+$"):
        load_documents(Source("path", str(tmp_path), "test"))


def test_spec_paths_are_relative_to_the_spec_file(tmp_path: Path) -> None:
    (tmp_path / "envs" / "crds").mkdir(parents=True)
    (tmp_path / "envs" / "crds" / "w.yaml").write_bytes(WIDGETS.read_bytes())
    spec = load_spec(write_spec(tmp_path / "envs", ["crds", "crds/w.yaml"]), tmp_path)
    sources = configured_sources(spec)
    assert [(s.kind, s.ref) for s in sources] == [
        ("path", str(tmp_path / "envs" / "crds")),
        ("path", str(tmp_path / "envs" / "crds" / "w.yaml")),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("../outside", r"crd source outside the spec root, got '\.\./outside'"),
        ("/etc", r"crd source outside the spec root, got '/etc'"),
        ("missing", r"crd source not found, got 'missing'"),
        (
            "https://example.com/main/crds.yaml",
            r"crd url must be pinned to a release version or a commit id, got 'https://example\.com/main/crds\.yaml'",
        ),
    ],
)
def test_bad_spec_entries_are_located_spec_errors(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "outside").mkdir()
    spec = load_spec(write_spec(tmp_path / "envs", [entry]), tmp_path / "envs")
    with pytest.raises(SpecError, match=rf"^.*prod\.yaml:\d+:\d+: checks\.crds\[0\]: {message}$"):
        configured_sources(spec)


def test_symlink_out_of_the_spec_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "crds").symlink_to(tmp_path / "outside")
    spec = load_spec(write_spec(tmp_path / "envs", ["crds"]), tmp_path / "envs")
    with pytest.raises(SpecError, match=r"^.*: checks\.crds\[0\]: crd source reaches through symlink .*crds$"):
        configured_sources(spec)


def test_env_sources_come_first_and_shadow_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    envs = tmp_path / "envs"
    (envs / "crds").mkdir(parents=True)
    (envs / "crds" / "w.yaml").write_bytes(WIDGETS.read_bytes())
    shadow = copy.deepcopy(widget_crd())
    shadow["spec"]["versions"] = [
        {"name": "v9", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}
    ]
    (tmp_path / "ops.yaml").write_text(yaml.safe_dump(shadow), encoding="utf-8")
    monkeypatch.setenv(crdsources.ENV_VAR, os.pathsep.join([str(tmp_path / "ops.yaml"), ""]))
    spec = load_spec(write_spec(envs, ["crds"]), envs)
    sources = configured_sources(spec)
    assert [s.where.rsplit(": ", 1)[-1] for s in sources] == ["GWPIPE_CRDS[0]", "checks.crds[0]"]
    catalog = crds.catalog(sources)
    crd = catalog.lookup("example.com", "Widget")
    assert crd is not None
    assert list(crd.versions) == ["v9"]


def test_missing_env_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(crdsources.ENV_VAR, str(tmp_path / "nope"))
    spec = load_spec(write_spec(tmp_path, []), tmp_path)
    with pytest.raises(UsageError, match=r"^GWPIPE_CRDS\[0\]: crd source not found, got '.*/nope'$"):
        configured_sources(spec)


def test_url_source_downloads_once_and_then_reads_the_cache(crd_server: _Server, tmp_path: Path) -> None:
    url = f"{crd_server.url}/releases/v1.2.3/widgets.yaml"
    source = Source("url", url, "test")
    assert [d["metadata"]["name"] for d in load_documents(source)] == ["widgets.example.com"]
    assert crd_server.hits == ["/releases/v1.2.3/widgets.yaml"]
    cached = cache_path(url)
    assert cached.parent == tmp_path / "cache" / "gwpipe" / "crds"
    assert cached.read_bytes() == WIDGETS.read_bytes()
    crdsources.clear_cache()  # a new process: only the disk cache is left
    assert [d["metadata"]["name"] for d in load_documents(source)] == ["widgets.example.com"]
    assert crd_server.hits == ["/releases/v1.2.3/widgets.yaml"]


def test_url_errors_are_check_errors_and_nothing_is_cached(crd_server: _Server) -> None:
    missing = f"{crd_server.url}/releases/v1.2.3/missing.yaml"
    with pytest.raises(CheckError, match=rf"^{missing}: cannot fetch: HTTP 404$") as caught:
        load_documents(Source("url", missing, "test"))
    assert caught.value.problems[0].hint is not None
    assert caught.value.problems[0].hint.startswith("test lists this URL; fetch it once online")
    bad = f"{crd_server.url}/releases/v1.2.4/bad.yaml"
    with pytest.raises(
        CheckError, match=r"^http://127\.0\.0\.1:\d+/releases/v1\.2\.4/bad\.yaml:2:1: invalid YAML in crd source: .+$"
    ):
        load_documents(Source("url", bad, "test"))
    assert not cache_path(missing).exists()
    assert not cache_path(bad).exists()


@pytest.mark.parametrize(
    ("url", "pinned"),
    [
        ("https://github.com/cert-manager/cert-manager/releases/download/v1.16.1/cert-manager.crds.yaml", True),
        ("https://raw.githubusercontent.com/istio/istio/1.24.0/manifests/charts/base/files/crd-all.gen.yaml", True),
        (
            "https://raw.githubusercontent.com/istio/istio/86c9f01fd735fb01d8192f5bcaf0d424afb7f14c/crd-all.gen.yaml",
            True,
        ),
        ("https://raw.githubusercontent.com/istio/istio/master/manifests/charts/base/files/crd-all.gen.yaml", False),
        ("https://example.com/crds-latest.yaml", False),
        ("https://example.com/crd-v1.yaml", False),
    ],
)
def test_urls_must_be_pinned(url: str, pinned: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(crdsources.ENV_VAR, url)
    spec = load_spec(write_spec(tmp_path, []), tmp_path)
    if pinned:
        assert [(s.kind, s.ref) for s in configured_sources(spec)] == [("url", url)]
    else:
        with pytest.raises(
            UsageError,
            match=r"^GWPIPE_CRDS\[0\]: crd url must be pinned to a release version or a commit id, got '.+'$",
        ):
            configured_sources(spec)


def _kubeconfig(tmp_path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "standin", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "tester"}}],
        "current-context": "standin",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


LIST_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def test_cluster_source_lists_crds_with_the_kubernetes_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a stand-in for the Kubernetes API server: only the CRD list endpoint, answered as the API documents it
    body = {
        "kind": "CustomResourceDefinitionList",
        "apiVersion": "apiextensions.k8s.io/v1",
        "metadata": {"resourceVersion": "42"},
        "items": [widget_crd()],
    }
    server = _Server({LIST_PATH: (200, json.dumps(body).encode())})
    try:
        monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path, server.url)))
        monkeypatch.setenv(crdsources.ENV_VAR, "cluster:standin")
        spec = load_spec(write_spec(tmp_path / "envs", []), tmp_path / "envs")
        catalog = crds.catalog(configured_sources(spec))
        crd = catalog.lookup("example.com", "Widget")
        assert crd is not None
        assert sorted(crd.versions) == ["v1", "v1alpha1", "v1beta1"]
        assert server.hits == [LIST_PATH]
        assert server.auth == ["Bearer t0ken"]
        crds.catalog(configured_sources(spec))
        assert server.hits == [LIST_PATH]  # read once per process
    finally:
        server.close()


def test_cluster_source_refusal_is_a_check_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a stand-in for the Kubernetes API server that forbids listing CRDs
    server = _Server({LIST_PATH: (403, b'{"kind":"Status","status":"Failure","reason":"Forbidden","code":403}')})
    try:
        monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path, server.url)))
        with pytest.raises(
            CheckError, match=r"^test: cluster:: cannot list CustomResourceDefinitions: HTTP 403 Forbidden$"
        ):
            load_documents(Source("cluster", "", "test"))
    finally:
        server.close()


def test_cluster_source_without_kubeconfig_is_a_check_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(CheckError, match=r"^test: cluster:prod: cannot load kubeconfig: .+$"):
        load_documents(Source("cluster", "prod", "test"))


def test_compiled_versions_are_shared(tmp_path: Path) -> None:
    catalog = crds.catalog([Source("path", str(WIDGETS), "test")])
    crd = catalog.lookup("example.com", "Widget")
    assert crd is not None
    first = crds.compiled(crd, "v1", None)
    assert crds.compiled(crd, "v1", None) is first
    assert first.has_defaults
    assert first.jsonschema["properties"]["spec"]["additionalProperties"] is False
    assert "additionalProperties" not in first.jsonschema["properties"]["spec"]["properties"]["extra"]


def test_env_entries_keep_urls_and_cluster_contexts_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b.yaml").write_bytes(WIDGETS.read_bytes())
    url = "https://127.0.0.1:8443/releases/v1.2.3/crds.yaml"
    monkeypatch.setenv(
        crdsources.ENV_VAR, os.pathsep.join([str(tmp_path / "a"), url, "cluster:prod", "", str(tmp_path / "b.yaml")])
    )
    spec = load_spec(write_spec(tmp_path / "envs", []), tmp_path / "envs")
    assert [(s.kind, s.ref) for s in configured_sources(spec)] == [
        ("path", str(tmp_path / "a")),
        ("url", url),
        ("cluster", "prod"),
        ("path", str(tmp_path / "b.yaml")),
    ]


@pytest.mark.parametrize(
    ("crds_value", "message"),
    [
        (
            [" crds"],
            r"checks\.crds\[0\]: invalid value, got ' crds'; expected a CRD file or folder, a pinned http\(s\) URL or cluster:\[context\], unpadded",
        ),
        ("crds", r"checks\.crds: expected list, got string"),
    ],
)
def test_checks_crds_shape_is_validated_with_the_spec(tmp_path: Path, crds_value: Any, message: str) -> None:
    from gwpipe.testing import build

    with pytest.raises(SpecError, match=rf"^.*test\.yaml:\d+:\d+: {message}$"):
        build(tmp_path, {"namespace": "web", "checks": {"crds": crds_value}})


def test_credentials_in_urls_never_reach_messages(crd_server: _Server) -> None:
    url = crd_server.url.replace("http://", "http://user:s3cret@") + "/releases/v1.2.3/missing.yaml"
    with pytest.raises(CheckError) as caught:
        load_documents(Source("url", url, "test"))
    assert "s3cret" not in str(caught.value)
    assert re.fullmatch(
        r"http://\*\*\*@127\.0\.0\.1:\d+/releases/v1\.2\.3/missing\.yaml: cannot fetch: HTTP 404",
        str(caught.value),
    )
    assert crdsources.redact("https://tok@example.com/v1.2.3/x.yaml") == "https://***@example.com/v1.2.3/x.yaml"
