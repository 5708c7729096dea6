"""Every Argo CD and Flux object the gitops plugin renders is valid against the upstream CRD schema."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gwpipe.testing import build
from gwpipe.tree.layout import MAX_SHARD_OBJECTS

from .specs import http_env

CRDS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "crds"
CRD_FILES = {
    ("argoproj.io/v1alpha1", "Application"): "argoproj.io_application.yaml",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "argoproj.io_applicationset.yaml",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): "source.toolkit.fluxcd.io_gitrepositories.yaml",
}
CONFIGS = {
    "flat-argocd": (2, {"argocd": {"destination": {"name": "in-cluster"}, "project": "ingress"}}),
    "flat-flux": (2, {"flux": {"interval": "1m30s", "timeout": "2m"}}),
    "sharded-both": (MAX_SHARD_OBJECTS + 5, {"argocd": {}, "flux": {}}),
    "sharded-applicationset": (MAX_SHARD_OBJECTS + 5, {"argocd": {"applicationSet": True}}),
    "flat-applicationset": (2, {"argocd": {"applicationSet": True}}),
}

pytestmark = pytest.mark.skipif(
    not CRDS.is_dir(), reason=f"upstream CRDs not found at {CRDS} (../shared/reference/crds)"
)


def strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused, as `kubectl --validate=strict` does (Kubernetes prunes them)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    crd = yaml.safe_load((CRDS / CRD_FILES[(api_version, kind)]).read_text(encoding="utf-8"))
    version = api_version.split("/")[1]
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    schema = strict(served["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_controller_objects_are_valid_against_upstream_crds(config: str, spec_dir: Path) -> None:
    hosts, gitops = CONFIGS[config]
    bundle = build(spec_dir, http_env(hosts, gateways=2, gitops=gitops))
    controllers = [o for o in bundle.objects if o.request.plugin == "gitops"]
    assert controllers, "the gitops plugin rendered no objects"
    for obj in controllers:
        errors = sorted(validator(obj.request.api_version, obj.request.kind).iter_errors(obj.obj), key=str)
        assert not errors, f"{obj.ref}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_strict_validation_catches_an_unknown_field() -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "x"},
        "spec": {
            "project": "default",
            "destination": {},
            "source": {"repoURL": "https://x"},
            "syncPolicy": {"prun": 1},
        },
    }
    messages = [e.message for e in validator("argoproj.io/v1alpha1", "Application").iter_errors(app)]
    assert any("'prun' was unexpected" in m for m in messages), messages
