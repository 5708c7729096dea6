"""The `gwpipe crds` commands: the schema catalog in force, importing CRDs, and what an Istio upgrade changes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from gwpipe.cli import options
from gwpipe.cli.options import DEFAULT_SPECS

# the Istio kinds gwpipe's built-in plugins write: what `diff` compares unless told otherwise
EMITTED_ISTIO_KINDS = ("Gateway", "VirtualService", "Telemetry")
_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


@click.group(name="crds")
def command() -> None:
    """Show, import and compare the CRD schemas gwpipe validates objects against."""


_output_option = options.output(help="Output format.")


def _minor(text: str, where: str) -> tuple[int, int]:
    from gwpipe.errors import Problem, UsageError

    if not re.fullmatch(r"1\.[0-9]{1,2}", text):
        raise UsageError(Problem(where, f"expected a minor version such as 1.28, got {text!r}"))
    return 1, int(text.split(".")[1])


@command.command(name="list")
@click.argument("target", required=False, shell_complete=options.environment_names)
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path), default=DEFAULT_SPECS, show_default=True,
              help="Folder of environment specs.")  # fmt: skip
@click.option("--istio-version", metavar="1.N", help="Target Istio minor version [default: TARGET's, else gwpipe's].")
@click.option("--crds", "crds", multiple=True, metavar="SOURCE", help="CRD source that overrides the catalog.")
@_output_option
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
def list_command(
    target: str | None, specs_dir: Path, istio_version: str | None, crds: tuple[str, ...], output: str, debug: bool
) -> None:
    """The schema of every kind in force for TARGET (an environment) or the options: built-in or from CRD sources."""
    from gwpipe.checks.schema import builtin
    from gwpipe.checks.schema.crds import catalog
    from gwpipe.checks.schema.crdsources import configured_sources, env_sources, option_sources
    from gwpipe.cli.main import _pipeline, _set_common, failures, resolve_specs
    from gwpipe.istio import DEFAULT_VERSION
    from gwpipe.istio import target_version as spec_istio_version

    _set_common(debug, output)
    with failures():
        sources = option_sources(list(crds), "--crds")
        asked = istio_version or DEFAULT_VERSION
        if target is None:
            sources += env_sources()
        else:
            [(path, root)] = resolve_specs((target,), False, specs_dir)
            spec = _pipeline((), ()).load(path, root)
            sources += configured_sources(spec)  # GWPIPE_CRDS, then the spec's checks.crds
            major, minor = spec_istio_version(spec)
            asked = istio_version or f"{major}.{minor}"
        chosen = builtin.istio_version_for(_minor(asked, "--istio-version"))
        loaded = catalog(sources, chosen)
        rows = []
        for (group, kind), crd in sorted(loaded.by_kind.items()):
            served = sorted(v for v, e in crd.versions.items() if e.get("served"))
            rows.append({"group": group, "kind": kind, "versions": served, "source": crd.origin})
        for (group, kind), entry in sorted(loaded.builtin.items()):
            if (group, kind) not in loaded.by_kind:
                rows.append(
                    {
                        "group": group,
                        "kind": kind,
                        "versions": list(entry.versions),
                        "source": "built-in",
                        "set": entry.set_name,
                        **builtin.provenance(entry.source),
                    }
                )
        if output == "json":
            click.echo(json.dumps({"istio_version": chosen, "asked": asked, "kinds": rows}, indent=2))
            return
        note = "" if chosen == asked else f" (no built-in schemas for {asked}: the nearest)"
        click.echo(f"Istio {chosen} schemas{note}; {len(rows)} kinds")
        for row in rows:
            where = row["source"]
            if where == "built-in":
                at = f"{row['tag']} ({row['commit'][:12]})" if "tag" in row else row["commit"][:12]
                where = f"built-in: {row['repository']} {row['path']} at {at}, sha256 {row['sha256'][:12]}"
            click.echo(f"{row['kind']} ({row['group']}; {', '.join(row['versions'])}): {where}")


@command.command(name="import")
@click.argument("source")
@click.option("--name", metavar="NAME", help="Folder name in the cache [default: from the source].")
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
def import_command(source: str, name: str | None, debug: bool) -> None:
    """Copy the CRDs of FILE, DIR, a pinned URL or cluster:CONTEXT (facts only) into gwpipe's cache."""
    from gwpipe.checks.schema.crdsources import cache_dir, load_documents, option_sources
    from gwpipe.cli.main import _set_common, failures
    from gwpipe.errors import CheckError, Problem

    _set_common(debug, "text")
    with failures():
        [parsed] = option_sources([source], "SOURCE")
        docs = load_documents(parsed)
        if not docs:
            raise CheckError(Problem(source, "no CustomResourceDefinition found"))
        target = (
            cache_dir() / "imported" / (_LABEL.sub("-", name or _label(parsed.kind, parsed.ref)).strip("-.") or "crds")
        )
        kinds = _write(docs, target)
        click.echo(f"imported {len(kinds)} CRDs ({', '.join(sorted(set(kinds)))}) into {target}")
        click.echo(f"use them: GWPIPE_CRDS={target} gwpipe render ENV, or gwpipe analyze --crds {target} FILES")


def _label(kind: str, ref: str) -> str:
    from pathlib import PurePosixPath

    if kind == "cluster":
        return f"cluster-{ref or 'current'}"
    if kind == "url":
        return PurePosixPath(ref.split("?", 1)[0].rstrip("/")).stem
    return PurePosixPath(ref).stem if PurePosixPath(ref).suffix else PurePosixPath(ref).name


def _write(docs: list[dict[str, Any]], target: Any) -> list[str]:
    """Write one file per CRD into `target`, replacing what an earlier import left there, all or nothing."""
    import os
    import shutil
    import tempfile

    import yaml

    from gwpipe.checks.schema.compact import compact_crd
    from gwpipe.errors import CheckError, Problem

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent)
    kinds = []
    try:
        for doc in docs:
            try:
                crd = compact_crd(doc)
            except (KeyError, TypeError):
                raise CheckError(
                    Problem(str(target), "a CustomResourceDefinition lacks metadata.name or spec")
                ) from None
            crd_name = _LABEL.sub("-", crd["metadata"]["name"])
            with open(os.path.join(staging, f"{crd_name}.yaml"), "w", encoding="utf-8") as handle:
                yaml.safe_dump(crd, handle, sort_keys=True)
            kinds.append(crd["spec"]["names"]["kind"])
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return kinds


@command.command(name="diff")
@click.argument("old")
@click.argument("new")
@click.option("--kind", "kinds", multiple=True, metavar="KIND", help="Kinds to compare [default: those gwpipe writes].")
@click.option("--all-kinds", is_flag=True, help="Every Istio kind of the catalog.")
@_output_option
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
def diff_command(old: str, new: str, kinds: tuple[str, ...], all_kinds: bool, output: str, debug: bool) -> None:
    """What upgrading Istio from OLD to NEW (e.g. 1.28 1.30) changes in the schemas: fields, enums, CEL rules."""
    from gwpipe.cli.main import _set_common, failures

    _set_common(debug, output)
    with failures():
        results = _diff(old, new, kinds, all_kinds)
        if output == "json":
            click.echo(json.dumps({"from": old, "to": new, "kinds": results}, indent=2))
            return
        click.echo(f"Istio {old} -> {new}")
        for result in results:
            head = f"{result['kind']} ({result['apiVersion']})"
            if result.get("note"):
                click.echo(f"{head}: {result['note']}")
                continue
            click.echo(f"{head}: {len(result['changes']) or 'no'} schema change(s)")
            for change in result["changes"]:
                sign = {"added": "+", "removed": "-", "changed": "~"}[change["change"]]
                detail = f": {change['detail']}" if change["detail"] else ""
                click.echo(f"  {sign} {change['what']} {change['field']}{detail}")


def _diff(old: str, new: str, kinds: tuple[str, ...], all_kinds: bool) -> list[dict[str, Any]]:
    from gwpipe.checks.schema import builtin
    from gwpipe.checks.schema.schemadiff import diff
    from gwpipe.errors import Problem, UsageError

    available = builtin.istio_versions()
    for where, version in (("OLD", old), ("NEW", new)):
        _minor(version, where)
        if version not in available:
            raise UsageError(
                Problem(where, f"no built-in schemas for Istio {version}; available: {', '.join(available)}")
            )
    before, after = _istio_kinds(builtin.entries(old)), _istio_kinds(builtin.entries(new))
    wanted = sorted(before.keys() | after.keys()) if all_kinds else list(kinds or EMITTED_ISTIO_KINDS)
    unknown = [k for k in wanted if k not in before and k not in after]
    if unknown:
        raise UsageError(Problem("--kind", f"not an Istio kind of the catalog: {', '.join(unknown)}"))
    results = []
    for kind in wanted:
        a, b = before.get(kind), after.get(kind)
        if a is None or b is None:
            present = b or a
            assert present is not None
            note = f"only in Istio {new}" if a is None else f"removed in Istio {new}"
            results.append({"kind": kind, "apiVersion": present.group, "note": note, "changes": []})
            continue
        version, new_schema = _storage_schema(builtin.document(b.blob), None)
        _, old_schema = _storage_schema(builtin.document(a.blob), version)
        changes = [c.as_dict() for c in diff(old_schema, new_schema)]
        results.append({"kind": kind, "apiVersion": f"{b.group}/{version}", "changes": changes})
    return results


def _istio_kinds(entries: dict[tuple[str, str], Any]) -> dict[str, Any]:
    return {kind: e for (group, kind), e in entries.items() if e.set_name.startswith("istio/")}


def _storage_schema(doc: dict[str, Any], name: str | None) -> tuple[str, dict[str, Any]]:
    """(version, schema): the version called `name` if the CRD has it, else the storage version."""
    versions = doc["spec"]["versions"]
    chosen = next((v for v in versions if v["name"] == name), None) or next(
        (v for v in versions if v.get("storage")), versions[0]
    )
    return chosen["name"], chosen.get("schema", {}).get("openAPIV3Schema", {})
