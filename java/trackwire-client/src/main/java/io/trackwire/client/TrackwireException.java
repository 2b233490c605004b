package io.trackwire.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

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
      default:
        return new TrackwireException(status.getCode(), message, e);
    }
  }
}
