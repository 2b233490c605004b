"""Each RPC's properties (access, retry safety, quick write, authorisation target), read from
the `trackwire.v1.policy` method option in proto/trackwire/v1/rpc_policy.proto.

The server and every client take these facts from the descriptors; no list of RPC names
states them in code."""

from __future__ import annotations

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from trackwire.v1 import (
    artifact_service_pb2,
    logged_model_service_pb2,
    model_registry_service_pb2,
    rpc_policy_pb2,
    tracking_service_pb2,
)
from trackwire.v1.rpc_policy_pb2 import Access, AuthTarget, Retry, RpcPolicy

SERVICES: tuple[ServiceDescriptor, ...] = (
    tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"],
    artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"],
    model_registry_service_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"],
    logged_model_service_pb2.DESCRIPTOR.services_by_name["LoggedModelService"],
)

__all__ = ["SERVICES", "Access", "AuthTarget", "Retry", "RpcPolicy", "policy_of", "retry_safe"]


def policy_of(method: MethodDescriptor) -> RpcPolicy:
    """The RPC's policy; an RPC without one is a schema error (a test checks every RPC)."""
    options = method.GetOptions()
    if not options.HasExtension(rpc_policy_pb2.policy):
        raise LookupError(f"RPC {method.full_name} has no (trackwire.v1.policy) option")
    return options.Extensions[rpc_policy_pb2.policy]


def retry_safe(method: MethodDescriptor) -> bool:
    """Whether a client may send the call again after UNAVAILABLE (with the same request_id,
    for the calls that carry one)."""
    return policy_of(method).retry in (Retry.RETRY_SAFE, Retry.RETRY_WITH_REQUEST_ID)
