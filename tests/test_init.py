"""`gwpipe init`: a base and one spec per environment that validate and render, never overwriting, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_env import gwpipe

from gwpipe.engine import Options, Pipeline
from gwpipe.hooks.manager import create_manager

FLEET = ["--env", "dev", "--env", "staging", "--env", "prod", "--domain", "example.com", "--namespace", "shop"]


def test_init_writes_a_base_and_three_environments_that_render(tmp_path: Path) -> None:
    result = gwpipe(
        tmp_path,
        "init",
        *FLEET,
        "--issuer",
        "letsencrypt",
        "--gitops",
        "flux",
        "--gitops-url",
        "https://git.example.com/gitops.git",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "created environments/_base.yaml",
        "created environments/dev.yaml",
        "created environments/staging.yaml",
        "created environments/prod.yaml",
        "dev: valid, renders 6 objects",
        "staging: valid, renders 6 objects",
        "prod: valid, renders 6 objects",
        "next: gwpipe plan dev, then gwpipe render --all",
    ]
    folder = tmp_path / "environments"
    base = yaml.safe_load((folder / "_base.yaml").read_text())
    assert base["namespaces"] == {"create": "manifests", "existing": ["istio-system"]}
    assert base["gitops"] == {"repoURL": "https://git.example.com/gitops.git", "flux": {}}
    assert list(base["hosts"]) == ["www.${domain}"]
    assert {env: yaml.safe_load((folder / f"{env}.yaml").read_text()) for env in ("dev", "prod")} == {
        "dev": {"extends": "_base.yaml", "vars": {"domain": "dev.example.com"}},
        "prod": {"extends": "_base.yaml", "vars": {"domain": "example.com"}},
    }
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    hosts = {
        env: list(pipeline.load(folder / f"{env}.yaml", folder).data["hosts"]) for env in ("dev", "staging", "prod")
    }
    assert hosts == {
        "dev": ["www.dev.example.com"],
        "staging": ["www.staging.example.com"],
        "prod": ["www.example.com"],
    }
    bundle = pipeline.build(pipeline.load(folder / "prod.yaml", folder))
    assert sorted(o.ref for o in bundle.objects) == [
        "Certificate istio-system/www-credential",
        "Gateway shop/public",
        "GitRepository flux-system/gitops",
        "Kustomization flux-system/prod",
        "Namespace shop",
        "VirtualService shop/www",
    ]
    # the rendered environment passes `gwpipe validate --all` as the user would run it next
    assert gwpipe(tmp_path, "validate", "--all").stdout.splitlines() == ["dev: valid", "prod: valid", "staging: valid"]


def test_without_an_issuer_hosts_are_plain_http(tmp_path: Path) -> None:
    result = gwpipe(tmp_path, "init", "--env", "dev", "--output", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ok": True,
        "files": ["environments/_base.yaml", "environments/dev.yaml"],
        "objects": {"dev": 2},
    }
    base = yaml.safe_load((tmp_path / "environments" / "_base.yaml").read_text())
    assert base["hosts"] == {
        "www.${domain}": {
            "gateway": "public",
            "virtualService": "www",
            "routes": [{"destination": {"host": "web", "port": 80}}],
        }
    }


def test_an_existing_spec_is_never_overwritten_and_nothing_else_is_written(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.yaml").write_text("mine\n")
    result = gwpipe(tmp_path, "init", *FLEET)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: environments/prod.yaml: already exists; init never overwrites a spec"]
    assert sorted(p.name for p in (tmp_path / "environments").iterdir()) == ["prod.yaml"]
    assert (tmp_path / "environments" / "prod.yaml").read_text() == "mine\n"


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--env", "Dev"], "error: --env 'Dev': must be a DNS label: lower-case letters, digits and '-'"),
        (["--env", "dev", "--env", "dev"], "error: --env 'dev': is given twice"),
        (
            ["--env", "dev", "--domain", "example"],
            "error: --domain 'example': must be a lower-case DNS name such as example.com",
        ),
        (
            ["--env", "dev", "--gitops", "argocd"],
            "error: --gitops-url: --gitops argocd needs the GitOps repository's https:// or ssh:// URL",
        ),
        ([], "error: --env: name at least one environment (--env dev --env prod)"),
    ],
)
def test_bad_flags_are_refused_before_anything_is_written(tmp_path: Path, flags: list[str], error: str) -> None:
    result = gwpipe(tmp_path, "init", *flags)
    assert (result.returncode, result.stderr.splitlines()) == (2, [error])
    assert not (tmp_path / "environments").exists()


def test_a_scaffold_that_fails_to_validate_writes_nothing_and_points_at_the_would_be_file(tmp_path: Path) -> None:
    # without the namespaces plugin the `namespaces` key is unknown: the scratch render fails
    result = gwpipe(tmp_path, "init", "--env", "dev", "--block", "namespaces")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error: environments/_base.yaml:5:3: namespaces: unknown field; did you mean 'namespace'?"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "environments").exists()
