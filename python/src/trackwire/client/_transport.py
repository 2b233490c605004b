"""How the client reaches the services: which transport a tracking URI names.

Every transport exposes `.tracking`, `.artifacts`, `.logged_models` and `.registry` objects
whose methods are named like the RPCs, take request messages and return response messages (or
iterators of them), and raise `trackwire.errors.TrackwireError` subclasses only. The client
above them has one code path.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from trackwire import errors
from trackwire.client._embedded import EmbeddedTransport
from trackwire.client._grpc import GrpcTransport
from trackwire.client._http import HttpTransport

DEFAULT_TRACKING_URI = "sqlite:///trackwire.db"


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    """The URI to use: the one given, else $TRACKWIRE_TRACKING_URI, else the embedded default."""
    return tracking_uri or os.environ.get("TRACKWIRE_TRACKING_URI") or DEFAULT_TRACKING_URI


def open_transport(tracking_uri: str, artifacts_destination: str | None = None):
    scheme = urlparse(tracking_uri).scheme
    if scheme in ("grpc", "grpcs"):
        return GrpcTransport(tracking_uri)
    if scheme == "sqlite":
        return EmbeddedTransport(tracking_uri, artifacts_destination)
    if scheme in ("http", "https"):
        return HttpTransport(tracking_uri)
    raise errors.InvalidArgument(
        f"tracking URI {tracking_uri!r}: unsupported scheme {scheme!r}; "
        "expected grpc://host:port, grpcs://host:port, http(s)://host:port or sqlite:///path.db"
    )
