"""The embedded transport: `sqlite:///` tracking URIs, the server's services in-process."""

from __future__ import annotations

DEFAULT_EMBEDDED_ARTIFACTS = "./trackwire-artifacts"


class EmbeddedTransport:
    """The server's services called in-process on a local SQLite file: no server needed."""

    def __init__(self, tracking_uri: str, artifacts_destination: str | None):
        try:
            from trackwire.server.services import open_services
        except ModuleNotFoundError as e:
            raise ImportError(
                f"the embedded tracking URI {tracking_uri!r} runs the store in this process "
                f"and needs the server extra (missing module {e.name!r}): "
                "pip install 'trackwire[server]'"
            ) from e
        self._services = open_services(
            tracking_uri, artifacts_destination or DEFAULT_EMBEDDED_ARTIFACTS
        )
        self.tracking = self._services.tracking
        self.artifacts = self._services.artifacts
        self.registry = self._services.registry
        self.logged_models = self._services.logged_models

    def close(self) -> None:
        self._services.close()
