"""The built-in schema catalog: regenerated from the upstream CRDs it is byte-identical; lazy, version-picked, facts only."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gwpipe.checks.schema import builtin

REPO = Path(__file__).resolve().parent.parent
CATALOG = REPO / "pipeline" / "checks" / "schema" / "catalog"
CRDS = next(
    (p / "shared" / "reference" / "crds" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").is_dir()),
    REPO.parent / "shared" / "reference" / "crds",
)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_catalog_regenerates_byte_identical_from_the_upstream_crds(tmp_path: Path) -> None:
    if not CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {CRDS}: the catalog can only be regenerated beside them")
    out = tmp_path / "catalog"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_catalog.py"), str(CRDS), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    regenerated, committed = _files(out), _files(CATALOG)
    # without the Go module cache the kinds taken from Go modules are left out: every other blob is the same
    from_modules = {
        f"{e['blob']}.json.gz"
        for entries in builtin.index()["sets"].values()
        for e in entries.values()
        if e["source"].startswith("go/")
    }
    assert sorted(set(regenerated) - {"index.json"}) == sorted(set(committed) - {"index.json"} - from_modules)
    assert [name for name in regenerated if name != "index.json" and committed[name] != regenerated[name]] == []


def test_catalog_regenerates_byte_identical_with_the_go_modules(tmp_path: Path) -> None:
    if not CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {CRDS}: the catalog can only be regenerated beside them")
    go_modules = _module_cache_with_catalog_modules()
    if go_modules is None:
        pytest.skip("the Go module cache lacks the catalog's pinned modules (`go mod download` them to regenerate)")
    out = tmp_path / "catalog"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "build_catalog.py"),
            str(CRDS),
            "--go-modules",
            go_modules,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    regenerated, committed = _files(out), _files(CATALOG)
    assert sorted(regenerated) == sorted(committed)
    assert [name for name in committed if committed[name] != regenerated[name]] == []


def _module_cache_with_catalog_modules() -> str | None:
    sources = [s for s in builtin.index()["sources"].values() if "module" in s]
    try:
        cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    found = all((Path(cache) / f"{s['module']}@{s['tag']}" / s["path"]).is_file() for s in sources)
    return cache if found and cache else None


def test_every_source_has_provenance_and_every_set_its_blobs() -> None:
    index = builtin.index()
    for name, source in index["sources"].items():
        assert set(source) >= {"repository", "path", "commit", "sha256"}, name
        # a Go pseudo-version names only the commit's first 12 hex digits, and the module proxy no more
        pseudo = source.get("tag", "").startswith("v0.0.0-") and source["tag"].endswith(source["commit"])
        assert len(source["commit"]) == (12 if pseudo else 40), name
        assert len(source["sha256"]) == 64, name
    blobs = {p.name.removesuffix(".json.gz") for p in CATALOG.glob("*.json.gz")}
    used = {e["blob"] for entries in index["sets"].values() for e in entries.values()}
    assert used == blobs
    assert builtin.istio_versions() == ["1.26", "1.27", "1.28", "1.29", "1.30"]


def test_blobs_keep_facts_and_drop_prose() -> None:
    entry = builtin.entries("1.28")[("networking.istio.io", "Gateway")]
    text = gzip.decompress((CATALOG / f"{entry.blob}.json.gz").read_bytes()).decode("utf-8")
    doc = json.loads(text)
    schema = next(v for v in doc["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
    tls = schema["properties"]["spec"]["properties"]["servers"]["items"]["properties"]["tls"]
    assert "SIMPLE" in tls["properties"]["mode"]["enum"]
    assert any("credentialName" in rule["rule"] for rule in tls["x-kubernetes-validations"])
    assert '"description":"' not in text


@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [((1, 28), "1.28"), ((1, 30), "1.30"), ((1, 23), "1.26"), ((1, 31), "1.30"), ((1, 26), "1.26")],
)
def test_istio_version_picks_the_same_minor_or_the_nearest(wanted: tuple[int, int], chosen: str) -> None:
    assert builtin.istio_version_for(wanted) == chosen


def test_the_istio_set_follows_the_version_and_the_common_set_is_shared() -> None:
    older, newer = builtin.entries("1.26"), builtin.entries("1.30")
    assert ("extensions.istio.io", "TrafficExtension") not in older
    assert newer[("extensions.istio.io", "TrafficExtension")].set_name == "istio/1.30"
    assert older[("cert-manager.io", "Certificate")] == newer[("cert-manager.io", "Certificate")]
    assert builtin.origin(older[("networking.istio.io", "Gateway")]).startswith(
        "built-in catalog: istio/istio manifests/charts/base/files/crd-all.gen.yaml at 1.26.8 ("
    )
