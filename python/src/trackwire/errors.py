"""The one exception hierarchy of trackwire, shared by server and clients.

Each class knows its gRPC status code, MLflow's error code and the HTTP status
MLflow uses for it, so both wires map errors the same way.
"""

from __future__ import annotations

import grpc


class TrackwireError(Exception):
    """Base of every error the server reports or a client raises."""

    grpc_code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    mlflow_code: str = "INTERNAL_ERROR"
    http_status: int = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(TrackwireError):
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    mlflow_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class UnknownAttribute(InvalidArgument):
    """An invalid argument that names an attribute there is none of (e.g. to order by): MLflow
    classifies it apart from other invalid values in its error bodies."""


class NotFound(TrackwireError):
    grpc_code = grpc.StatusCode.NOT_FOUND
    mlflow_code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class AlreadyExists(TrackwireError):
    grpc_code = grpc.StatusCode.ALREADY_EXISTS
    mlflow_code = "RESOURCE_ALREADY_EXISTS"
    http_status = 400


class ResourceExhausted(TrackwireError):
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    mlflow_code = "RESOURCE_EXHAUSTED"
    http_status = 429


class Unauthenticated(TrackwireError):
    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    mlflow_code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(TrackwireError):
    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    mlflow_code = "PERMISSION_DENIED"
    http_status = 403


class Unavailable(TrackwireError):
    """The server could not be reached (clients retry these)."""

    grpc_code = grpc.StatusCode.UNAVAILABLE
    mlflow_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503


class InternalError(TrackwireError):
    pass


# The errors a server reports with a code of their own (anything else is INTERNAL).
_REPORTED = (
    InvalidArgument,
    NotFound,
    AlreadyExists,
    ResourceExhausted,
    Unauthenticated,
    PermissionDenied,
    Unavailable,
)
_BY_GRPC_CODE = {cls.grpc_code: cls for cls in _REPORTED}
_BY_MLFLOW_CODE = {cls.mlflow_code: cls for cls in _REPORTED}


def from_grpc_error(error: grpc.RpcError) -> TrackwireError:
    """The exception a client raises for a failed gRPC call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Unavailable(details or "deadline exceeded")
    return _BY_GRPC_CODE.get(code, InternalError)(details or str(code))


def from_mlflow_error(error_code: str, message: str) -> TrackwireError:
    """The exception a client raises for an MLflow-style JSON error body."""
    return _BY_MLFLOW_CODE.get(error_code, InternalError)(message)
