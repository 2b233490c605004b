"""The low-level trackwire client: `TrackingClient`, one method per RPC."""

from trackwire.client._retry import retried_rpcs
from trackwire.client.tracking import Page, TrackingClient

__all__ = ["Page", "TrackingClient", "retried_rpcs"]
