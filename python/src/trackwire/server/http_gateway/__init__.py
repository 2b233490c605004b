"""MLflow's REST/JSON API, derived from the services' google.api.http annotations."""

from trackwire.server.http_gateway.app import create_app

__all__ = ["create_app"]
