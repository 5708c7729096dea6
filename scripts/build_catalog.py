"""Maintainer script: regenerate gwpipe's built-in schema catalog from a folder of upstream CRDs.

Usage: python scripts/build_catalog.py CRD_DIR [--go-modules GOMODCACHE] [--out DIR]

CRD_DIR holds upstream CustomResourceDefinition files, a README.md whose table gives each file's
upstream repository, path and commit, and `istio/<minor>/crd-all.gen.yaml` for every Istio minor
the catalog covers. GOMODCACHE is a Go module cache holding the modules pinned in MODULE_SOURCES
(`go mod download MODULE@VERSION` for each puts them there): Flux's HelmRelease CRD, and Istio's
IstioOperator type, for which upstream ships no CRD (the catalog derives one from the Go type).
Without --go-modules those kinds are left out (and the script says so): it reads only what it is pointed at. The output keeps the facts of each schema (structure, types, enums, patterns,
required, formats, x-kubernetes-* markers, CEL rules and their messages), drops the prose, and
records where each schema came from. The output is deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gwpipe.checks.schema.compact import compact_crd

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "pipeline" / "checks" / "schema" / "catalog"
FORMAT = 1
_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([0-9a-f]{40})\s*\|$")
_TAG = re.compile(r"at tag (\S+)")
_ISTIO_MAIN = "istio-crd-all.gen.yaml"  # Istio's main branch: the catalog covers released minors only


@dataclass(frozen=True)
class ModuleSource:
    """An upstream schema inside a Go module, pinned: the module proxy serves the same bytes for ever."""

    module: str
    version: str
    repository: str
    path: str
    commit: str  # from the proxy's .info Origin; a pseudo-version names only the first 12 hex digits
    derive: str = ""  # "": a CRD file; else the Go type the CRD is derived from

    @property
    def folder(self) -> str:
        return f"{self.module}@{self.version}"  # the module cache's folder (these paths have no capitals)

    @property
    def key(self) -> str:
        return f"go/{self.module}@{self.version}/{self.path}"


MODULE_SOURCES = (
    ModuleSource(
        module="github.com/fluxcd/helm-controller",
        version="v1.6.4",
        repository="fluxcd/helm-controller",
        path="config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml",
        commit="561379cd309d56a5037f2261848065eeee6a1a7a",
    ),
    ModuleSource(
        module="istio.io/istio",
        version="v0.0.0-20260827124520-eed52ebb66ad",
        repository="istio/istio",
        path="operator/pkg/apis/types.go",
        commit="eed52ebb66ad",
        derive="IstioOperatorSpec",
    ),
)
_GO_FIELD = re.compile(r'^\s*[A-Z]\w*\s+(?P<type>\S+)\s+`json:"(?P<name>[^",]+)[^"]*"`', re.MULTILINE)


def module_crds(go_modules: Path) -> Iterator[tuple[str, dict[str, str], list[dict[str, Any]]]]:
    """(source key, provenance, CRDs) for each pinned module source found in the module cache `go_modules`."""
    for source in MODULE_SOURCES:
        raw = (go_modules / source.folder / source.path).read_bytes()
        origin = {
            "repository": source.repository,
            "path": source.path,
            "commit": source.commit,
            "tag": source.version,
            "module": source.module,
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
        if source.derive:
            origin["derived"] = f"fields of the Go type {source.derive}; upstream ships no CRD for this kind"
            yield source.key, origin, [_istio_operator_crd(raw.decode("utf-8"), source.derive)]
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            docs = yaml.load_all(raw, Loader=loader)
            yield (
                source.key,
                origin,
                [d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"],
            )


def _istio_operator_crd(go_source: str, type_name: str) -> dict[str, Any]:
    """A CRD for IstioOperator: the spec's fields as the Go type names them; strings typed, the rest left open.

    istioctl reads IstioOperator into that Go type, so a field outside it is a mistake; what lies below a
    non-string field (values, meshConfig, components) is checked by gwpipe's own IstioOperator rules.
    """
    body = re.search(rf"^type {type_name} struct {{$(.*?)^}}$", go_source, re.MULTILINE | re.DOTALL)
    if body is None:
        raise SystemExit(f"error: type {type_name} not found in the Go source")
    open_field = {"x-kubernetes-preserve-unknown-fields": True}
    fields = {
        m["name"]: ({"type": "string"} if m["type"] == "string" else dict(open_field))
        for m in _GO_FIELD.finditer(body.group(1))
    }
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": dict(sorted(fields.items()))},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "istiooperators.install.istio.io"},
        "spec": {
            "group": "install.istio.io",
            "names": {"kind": "IstioOperator", "listKind": "IstioOperatorList", "plural": "istiooperators"},
            "scope": "Namespaced",
            "versions": [{"name": "v1alpha1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


def provenance(crd_dir: Path) -> dict[str, dict[str, str]]:
    """Per file (relative to `crd_dir`): repository, path and commit from the README table."""
    rows: dict[str, dict[str, str]] = {}
    istio_path = ""
    for line in (crd_dir / "README.md").read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if match is None:
            continue
        file, repository, path, commit = match.groups()
        entry = {"repository": repository, "path": path, "commit": commit}
        tag = _TAG.search(path)
        if tag is not None:
            entry["tag"] = tag.group(1)
            entry["path"] = path[: tag.start()].strip()
        rows[file] = entry
        if file == _ISTIO_MAIN:
            istio_path = path
    for entry in rows.values():
        if entry["path"] in ("same file", "") and istio_path:
            entry["path"] = istio_path
    return rows


def _crds(file: Path) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader reads the 8 MB of input in seconds
    docs = yaml.load_all(file.read_bytes(), Loader=loader)
    return [d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]


def _blob(data: Any) -> tuple[str, bytes]:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(text).hexdigest()[:16], text


def _gzip(data: bytes) -> bytes:
    # mtime 0 and no file name: the same input gives the same bytes
    return gzip.compress(data, compresslevel=9, mtime=0)


def build(crd_dir: Path, go_modules: Path | None) -> dict[str, bytes]:
    """Every catalog file (name -> bytes): index.json plus one gzip'd JSON per distinct CRD."""
    origins = provenance(crd_dir)
    files: dict[str, bytes] = {}
    sources: dict[str, dict[str, str]] = {}
    sets: dict[str, dict[str, dict[str, Any]]] = {"common": {}}
    inputs = [(p, "common") for p in sorted(crd_dir.glob("*.yaml")) if p.name != _ISTIO_MAIN]
    for folder in sorted((crd_dir / "istio").iterdir(), key=lambda p: tuple(int(x) for x in p.name.split("."))):
        inputs.append((folder / "crd-all.gen.yaml", f"istio/{folder.name}"))
    for path, set_name in inputs:
        relative = path.relative_to(crd_dir).as_posix()
        origin = origins.get(relative)
        if origin is None:
            raise SystemExit(f"error: {relative}: not listed in {crd_dir / 'README.md'}")
        raw = path.read_bytes()
        sources[relative] = {**origin, "sha256": hashlib.sha256(raw).hexdigest()}
        for doc in _crds(path):
            _add(files, sets.setdefault(set_name, {}), compact_crd(doc), relative)
    for relative, origin, docs in module_crds(go_modules) if go_modules is not None else ():
        sources[relative] = origin
        for doc in docs:
            _add(files, sets["common"], compact_crd(doc), relative)
    index = {"format": FORMAT, "sources": sources, "sets": sets}
    files["index.json"] = (json.dumps(index, sort_keys=True, indent=1) + "\n").encode("utf-8")
    return files


def _add(files: dict[str, bytes], entries: dict[str, dict[str, Any]], crd: dict[str, Any], source: str) -> None:
    digest, text = _blob(crd)
    files.setdefault(f"{digest}.json.gz", _gzip(text))
    spec = crd["spec"]
    entries[crd["metadata"]["name"]] = {
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "versions": [v["name"] for v in spec["versions"] if v.get("served")],
        "blob": digest,
        "source": source,
    }


def write(files: dict[str, bytes], out: Path) -> None:
    """Replace the catalog in `out` with `files` (stale blobs removed)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json*"):
        if old.name not in files:
            old.unlink()
    for name, data in sorted(files.items()):
        (out / name).write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crd_dir", type=Path, help="folder of upstream CRDs with README.md and istio/<minor>/")
    parser.add_argument(
        "--go-modules",
        type=Path,
        help="Go module cache holding the modules of MODULE_SOURCES [default: leave them out]",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"catalog folder [default: {DEFAULT_OUT}]")
    args = parser.parse_args(argv)
    if not (args.crd_dir / "README.md").is_file():
        print(f"error: {args.crd_dir}: no README.md with the provenance table", file=sys.stderr)
        return 2
    missing = [
        f"{m.module}@{m.version}"
        for m in MODULE_SOURCES
        if args.go_modules is not None and not (args.go_modules / m.folder).is_dir()
    ]
    if args.go_modules is None:
        print("note: no --go-modules: the catalog leaves out the kinds taken from Go modules", file=sys.stderr)
    if missing:
        print(f"error: {args.go_modules}: missing {', '.join(missing)}; `go mod download` each", file=sys.stderr)
        return 2
    files = build(args.crd_dir, args.go_modules)
    write(files, args.out)
    size = sum(len(b) for b in files.values())
    print(f"{args.out}: {len(files)} files, {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
