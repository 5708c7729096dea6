"""Istio analysis message codes this package emits: name, level and a one-line description."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    code: str
    name: str
    level: str
    description: str


MESSAGES = {
    m.code: m
    for m in (
        Message("IST0101", "ReferencedResourceNotFound", "Error", "A resource being referenced does not exist."),
        Message("IST0106", "SchemaValidationError", "Error", "The resource fails Istio's admission validation."),
        Message(
            "IST0109",
            "ConflictingMeshGatewayVirtualServiceHosts",
            "Error",
            "VirtualServices bound to the mesh gateway share a host.",
        ),
        Message(
            "IST0112",
            "VirtualServiceDestinationPortSelectorRequired",
            "Error",
            "A route to a multi-port Service does not name a port.",
        ),
        Message("IST0130", "VirtualServiceUnreachableRule", "Warning", "A VirtualService rule can never match."),
        Message(
            "IST0131", "VirtualServiceIneffectiveMatch", "Info", "A VirtualService match duplicates an earlier one."
        ),
        Message(
            "IST0132",
            "VirtualServiceHostNotFoundInGateway",
            "Warning",
            "No host of the VirtualService is served by a Gateway it names.",
        ),
        Message("IST0133", "SchemaWarning", "Warning", "Istio's admission validation warns about the resource."),
        Message(
            "IST0138",
            "GatewayDuplicateCertificate",
            "Warning",
            "Gateways on the same workload share a certificate (HTTP/2 connection reuse may give 404s).",
        ),
        Message(
            "IST0140",
            "IngressRouteRulesNotAffected",
            "Warning",
            "Subset routing of a mesh VirtualService is bypassed by gateway traffic.",
        ),
        Message(
            "IST0145",
            "ConflictingGateways",
            "Error",
            "Gateways on the same workload declare the same host on the same port.",
        ),
        Message(
            "IST0149",
            "JwtClaimBasedRoutingWithoutRequestAuthN",
            "Error",
            "A VirtualService routes on JWT claims through a gateway no RequestAuthentication covers.",
        ),
        Message("IST0157", "EmptyProviders", "Warning", "A Telemetry accessLogging entry has no providers."),
        Message(
            "IST0159",
            "ConflictingTelemetryWorkloadSelectors",
            "Error",
            "Several Telemetry resources select the same workload.",
        ),
        Message(
            "IST0160",
            "MultipleTelemetriesWithoutWorkloadSelectors",
            "Error",
            "A namespace holds several Telemetry resources without a selector.",
        ),
        Message("IST0161", "InvalidGatewayCredential", "Error", "A Gateway's credential Secret is unusable."),
        Message(
            "IST0162",
            "GatewayPortNotDefinedOnService",
            "Warning",
            "A Gateway server port is not a port of any Service in front of its workload.",
        ),
        Message(
            "IST0165",
            "ReferencedInternalGateway",
            "Warning",
            "A VirtualService names an implementation-generated internal Gateway.",
        ),
    )
}


def level_of(code: str) -> str:
    return MESSAGES[code].level
