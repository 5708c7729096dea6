"""Maintainer script: regenerate gwpipe's built-in schema catalog from a folder of upstream CRDs.

Usage: python scripts/build_catalog.py CRD_DIR [--out DIR]

CRD_DIR holds upstream CustomResourceDefinition files, a README.md whose table gives each file's
upstream repository, path and commit, and `istio/<minor>/crd-all.gen.yaml` for every Istio minor
the catalog covers. The output keeps the facts of each schema (structure, types, enums, patterns,
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
from pathlib import Path
from typing import Any

import yaml

from gwpipe.checks.schema.compact import compact_crd

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "pipeline" / "checks" / "schema" / "catalog"
FORMAT = 1
_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([0-9a-f]{40})\s*\|$")
_TAG = re.compile(r"at tag (\S+)")
_ISTIO_MAIN = "istio-crd-all.gen.yaml"  # Istio's main branch: the catalog covers released minors only


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


def build(crd_dir: Path) -> dict[str, bytes]:
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
            crd = compact_crd(doc)
            digest, text = _blob(crd)
            files.setdefault(f"{digest}.json.gz", _gzip(text))
            entries = sets.setdefault(set_name, {})
            spec = crd["spec"]
            entries[crd["metadata"]["name"]] = {
                "group": spec["group"],
                "kind": spec["names"]["kind"],
                "versions": [v["name"] for v in spec["versions"] if v.get("served")],
                "blob": digest,
                "source": relative,
            }
    index = {"format": FORMAT, "sources": sources, "sets": sets}
    files["index.json"] = (json.dumps(index, sort_keys=True, indent=1) + "\n").encode("utf-8")
    return files


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
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"catalog folder [default: {DEFAULT_OUT}]")
    args = parser.parse_args(argv)
    if not (args.crd_dir / "README.md").is_file():
        print(f"error: {args.crd_dir}: no README.md with the provenance table", file=sys.stderr)
        return 2
    files = build(args.crd_dir)
    write(files, args.out)
    size = sum(len(b) for b in files.values())
    print(f"{args.out}: {len(files)} files, {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
