"""What a cluster accepts but no spec can say: one host on one port of two Gateways, short refs across namespaces."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import Conflict, ref_of


def conflicts(objects: list[dict[str, Any]]) -> list[Conflict]:
    """Every conflict among `objects`, each naming both objects (as Istio's analyzers name them)."""
    return [*_duplicates(objects), *_shared_host_ports(objects), *_short_refs_across_namespaces(objects)]


def _duplicates(objects: list[dict[str, Any]]) -> list[Conflict]:
    seen: dict[str, int] = {}
    out = []
    for obj in objects:
        ref = ref_of(obj)
        seen[ref] = seen.get(ref, 0) + 1
        if seen[ref] == 2:
            out.append(Conflict(ref, ref, "declared twice; a cluster keeps only the last one applied"))
    return out


def _gateways(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == "Gateway" and str(o.get("apiVersion", "")).startswith("networking.")]


def _shared_host_ports(objects: list[dict[str, Any]]) -> list[Conflict]:
    """IST0145-style: two Gateways selecting the same workload serve one host on one port."""
    owner: dict[tuple[str, int, str], dict[str, Any]] = {}
    out = []
    for gateway in _gateways(objects):
        spec = gateway.get("spec") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
        for server in spec.get("servers") or []:
            number = int((server.get("port") or {}).get("number", 0))
            for host in server.get("hosts") or []:
                bare = str(host).rpartition("/")[2]
                key = (selector, number, bare)
                first = owner.setdefault(key, gateway)
                if first is not gateway:
                    out.append(
                        Conflict(
                            ref_of(first),
                            ref_of(gateway),
                            f"both serve host {bare!r} on port {number} of the workload selected by {selector or '{}'}"
                            " (IST0145); a spec binds each host to one Gateway",
                        )
                    )
    return out


def _short_refs_across_namespaces(objects: list[dict[str, Any]]) -> list[Conflict]:
    """A short gateway reference resolves in the VirtualService's own namespace, never in the Gateway's."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for gateway in _gateways(objects):
        by_name.setdefault(gateway["metadata"]["name"], []).append(gateway)
    out = []
    for vs in objects:
        if vs.get("kind") != "VirtualService":
            continue
        namespace = vs["metadata"].get("namespace")
        for ref in (vs.get("spec") or {}).get("gateways") or []:
            if "/" in ref or ref == "mesh":
                continue
            candidates = by_name.get(ref, [])
            if candidates and not any(g["metadata"].get("namespace") == namespace for g in candidates):
                out.append(
                    Conflict(
                        ref_of(vs),
                        ref_of(candidates[0]),
                        f"gateway reference {ref!r} resolves to {namespace}/{ref}, which does not exist (IST0101);"
                        f" the Gateway is in namespace {candidates[0]['metadata'].get('namespace')!r}",
                    )
                )
    return out
