package io.trackwire.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.channels.ClosedChannelException;

/**
 * Base of every error the client raises. Subclasses mirror the gRPC status codes the server
 * uses; the message is the server's own (it names the field and the limit at fault).
 */
public class TrackwireException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;

  public TrackwireException(Status.Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The gRPC status code behind this error ({@code INTERNAL} for client-side failures). */
  public Status.Code code() {
    return code;
  }

  /** Translates a failed call into the exception class for its status code. */
  static TrackwireException fromStatus(StatusRuntimeException e) {
    Status status = e.getStatus();
    String message = status.getDescription() != null ? status.getDescription() : status.toString();
    switch (status.getCode()) {
      case NOT_FOUND:
        return new NotFoundException(message, e);
      case ALREADY_EXISTS:
        return new AlreadyExistsException(message, e);
      case INVALID_ARGUMENT:
        return new InvalidArgumentException(message, e);
      case RESOURCE_EXHAUSTED:
        return new ResourceExhaustedException(message, e);
      case UNAUTHENTICATED:
        return new UnauthenticatedException(message, e);
      case PERMISSION_DENIED:
        return new PermissionDeniedException(message, e);
      case UNAVAILABLE:
        return new UnavailableException(message, e);
      case UNKNOWN:
        // grpc-java reports a connection that closed under a call (a server that went away just
        // then) as UNKNOWN; it is an outage like any other, and retried as one.
        if (status.getCause() instanceof ClosedChannelException) {
          return new UnavailableException(message, e);
        }
        return new TrackwireException(status.getCode(), message, e);
      default:
        return new TrackwireException(status.getCode(), message, e);
    }
  }

  /**
   * Translates an MLflow-style error answer of the HTTP gateway: by its {@code error_code}, else
   * (a proxy's answer, another server) by the HTTP status.
   */
  static TrackwireException fromMlflow(int httpStatus, String errorCode, String message) {
    switch (errorCode) {
      case "INVALID_PARAMETER_VALUE":
        return new InvalidArgumentException(message);
      case "RESOURCE_DOES_NOT_EXIST":
        return new NotFoundException(message);
      case "RESOURCE_ALREADY_EXISTS":
        return new AlreadyExistsException(message);
      case "RESOURCE_EXHAUSTED":
        return new ResourceExhaustedException(message);
      case "UNAUTHENTICATED":
        return new UnauthenticatedException(message);
      case "PERMISSION_DENIED":
        return new PermissionDeniedException(message);
      case "TEMPORARILY_UNAVAILABLE":
        return new UnavailableException(message);
      default:
        break;
    }
    switch (httpStatus) {
      case 400:
        return new InvalidArgumentException(message);
      case 401:
        return new UnauthenticatedException(message);
      case 403:
        return new PermissionDeniedException(message);
      case 404:
        return new NotFoundException(message);
      case 429:
        return new ResourceExhaustedException(message);
      case 502:
      case 503:
      case 504:
        return new UnavailableException(message);
      default:
        return new TrackwireException(Status.Code.INTERNAL, message, null);
    }
  }
}
