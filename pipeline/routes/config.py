"""The routing topology of a set of manifests: Gateway servers, VirtualServices, and which binds to which."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from gwpipe.checks.analysis.hosts import HostIndex, short_or_full
from gwpipe.istio import host_matches, host_subset_of

HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})
PASSTHROUGH = frozenset({"PASSTHROUGH", "AUTO_PASSTHROUGH"})
MESH = "mesh"
T = TypeVar("T")


@dataclass(frozen=True)
class Server:
    """One entry of a Gateway's `servers`, with the Gateway it belongs to."""

    gateway: str  # namespace/name
    index: int
    workload: tuple[tuple[str, str], ...]  # the Gateway's selector: servers sharing it share listeners
    port: int
    protocol: str
    port_name: str
    hosts: tuple[tuple[str | None, str], ...]  # (namespace the VirtualService must be in, or None for any; host)
    tls_mode: str
    https_redirect: bool

    @property
    def ref(self) -> str:
        return f"{self.gateway} server[{self.index}]"

    @property
    def passthrough(self) -> bool:
        return self.tls_mode in PASSTHROUGH

    def host_names(self) -> list[str]:
        return [h for _ns, h in self.hosts]


@dataclass
class VirtualService:
    namespace: str
    name: str
    hosts: list[str]
    gateways: list[str]  # resolved to namespace/name
    spec: dict[str, Any]
    order: int

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def visible_in(self, namespace: str) -> bool:
        """`exportTo`: `.` is its own namespace, `*` (or no list) every namespace."""
        export = [str(e) for e in self.spec.get("exportTo") or ["*"]]
        return "*" in export or namespace in {self.namespace if e == "." else e for e in export}


@dataclass(frozen=True)
class Binding:
    """A VirtualService bound to one server for one virtual-host domain."""

    domain: str
    vs: VirtualService = field(compare=False)
    server: Server = field(compare=False)


def _metadata(obj: dict[str, Any], default_namespace: str) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or default_namespace), str(meta.get("name") or "")


def _server_hosts(raw: Iterable[Any], gateway_namespace: str) -> tuple[tuple[str | None, str], ...]:
    """`ns/host` scoping of Gateway server hosts: `./` is the Gateway's namespace, `*/` or none is any."""
    out: list[tuple[str | None, str]] = []
    for entry in raw:
        text = str(entry)
        namespace, _, host = text.rpartition("/")
        if namespace in ("", "*"):
            out.append((None, host.lower()))
        else:
            out.append((gateway_namespace if namespace == "." else namespace, host.lower()))
    return tuple(out)


def intersect(vs_host: str, server_host: str) -> str | None:
    """The virtual-host domain a VirtualService host yields on a server host: the more specific of the two."""
    if not host_matches(vs_host, server_host):
        return None
    return vs_host if host_subset_of(vs_host, server_host) else server_host


class Topology:
    """Gateways and VirtualServices of one manifest set, indexed for many requests."""

    def __init__(self, objects: Iterable[dict[str, Any]], default_namespace: str = "default") -> None:
        self.servers: list[Server] = []
        self.virtual_services: list[VirtualService] = []
        self.gateways: dict[str, tuple[tuple[str, str], ...]] = {}
        for obj in objects:
            if not isinstance(obj, dict) or not str(obj.get("apiVersion", "")).startswith("networking.istio.io/"):
                continue
            spec = obj.get("spec") or {}
            namespace, name = _metadata(obj, default_namespace)
            if obj.get("kind") == "Gateway":
                self._add_gateway(namespace, name, spec)
            elif obj.get("kind") == "VirtualService":
                refs = [short_or_full(namespace, str(g)) for g in spec.get("gateways") or [MESH]]
                gateways = [f"{ns}/{gw}" for ns, gw in refs if gw != MESH]
                hosts = [str(h).lower() for h in spec.get("hosts") or []]
                order = len(self.virtual_services)
                self.virtual_services.append(VirtualService(namespace, name, hosts, gateways, spec, order))
        self._by_gateway: dict[str, list[VirtualService]] = {}
        for vs in self.virtual_services:
            for gateway in dict.fromkeys(vs.gateways):
                self._by_gateway.setdefault(gateway, []).append(vs)
        self._host_index: dict[str, HostIndex[int]] = {}
        self._tables: dict[Any, Any] = {}

    def table(self, key: Any, build: Any) -> Any:
        """A per-topology cache of lookup tables (listeners, SNI and virtual-host tables), built on first use."""
        if key not in self._tables:
            self._tables[key] = build()
        return self._tables[key]

    def _add_gateway(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        ref = f"{namespace}/{name}"
        selector = tuple(sorted((str(k), str(v)) for k, v in (spec.get("selector") or {}).items()))
        self.gateways[ref] = selector
        for index, server in enumerate(spec.get("servers") or []):
            port = server.get("port") or {}
            tls = server.get("tls") or {}
            number = port.get("number")
            if not isinstance(number, int):
                continue
            self.servers.append(
                Server(
                    gateway=ref,
                    index=index,
                    workload=selector,
                    port=number,
                    protocol=str(port.get("protocol", "")).upper(),
                    port_name=str(port.get("name", "")),
                    hosts=_server_hosts(server.get("hosts") or [], namespace),
                    tls_mode=str(tls.get("mode", "SIMPLE")).upper() if tls else "",
                    https_redirect=bool(tls.get("httpsRedirect")),
                )
            )

    def servers_on(self, port: int, workload: tuple[tuple[str, str], ...] | None) -> list[Server]:
        return [s for s in self._servers_by_port().get(port, []) if workload is None or s.workload == workload]

    @functools.cache  # noqa: B019 - one Topology lives as long as its cases, and is built once per run
    def _servers_by_port(self) -> dict[int, list[Server]]:
        out: dict[int, list[Server]] = {}
        for server in self.servers:
            out.setdefault(server.port, []).append(server)
        return out

    def _vs_index(self, gateway: str) -> HostIndex[int]:
        if gateway not in self._host_index:
            bound = self._by_gateway.get(gateway, [])
            self._host_index[gateway] = HostIndex([(h, i) for i, vs in enumerate(bound) for h in vs.hosts])
        return self._host_index[gateway]

    def bindings(self, server: Server) -> list[Binding]:
        """Every (domain, VirtualService) the server routes, in VirtualService order."""
        return list(self._bindings(server))

    @functools.cache  # noqa: B019 - see _servers_by_port
    def _bindings(self, server: Server) -> tuple[Binding, ...]:
        bound = self._by_gateway.get(server.gateway, [])
        index = self._vs_index(server.gateway)
        found: dict[tuple[str, int], Binding] = {}
        for required_namespace, server_host in server.hosts:
            for i in sorted(index.overlapping(server_host)):
                vs = bound[i]
                if required_namespace is not None and vs.namespace != required_namespace:
                    continue
                if not vs.visible_in(server.gateway.split("/", 1)[0]):
                    continue
                for vs_host in vs.hosts:
                    domain = intersect(vs_host, server_host)
                    if domain is not None:
                        found.setdefault((domain, vs.order), Binding(domain, vs, server))
        return tuple(sorted(found.values(), key=lambda b: b.vs.order))

    def bound_services(self, server: Server) -> list[VirtualService]:
        seen: dict[int, VirtualService] = {}
        for binding in self._bindings(server):
            seen.setdefault(binding.vs.order, binding.vs)
        return list(seen.values())


class DomainTable(Generic[T]):
    """Envoy's choice among domains: the exact one, else the longest matching `*suffix`, else `*`."""

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        self.values: dict[str, list[T]] = {}
        for domain, value in items:
            self.values.setdefault(domain, []).append(value)
        self._lengths = sorted({len(d) - 1 for d in self.values if d.startswith("*") and d != "*"}, reverse=True)

    def pick(self, host: str) -> str | None:
        host = host.lower()
        if host in self.values:
            return host
        for length in self._lengths:
            if length < len(host) and "*" + host[len(host) - length :] in self.values:
                return "*" + host[len(host) - length :]
        return "*" if "*" in self.values else None


def pick_domain(domains: Iterable[str], host: str) -> str | None:
    """Envoy's virtual-host choice over a few domains (see DomainTable)."""
    return DomainTable((d, d) for d in domains).pick(host)


def pick_sni(table: DomainTable[Server], sni: str | None) -> Server | None:
    """The filter chain a TLS client lands on: servers whose hosts match the SNI, most specific first.

    A server whose hosts include `*` sets no server names and catches any SNI, or none.
    """
    if sni is None:
        return table.values["*"][0] if "*" in table.values else None
    domain = table.pick(sni)
    return table.values[domain][0] if domain is not None else None
