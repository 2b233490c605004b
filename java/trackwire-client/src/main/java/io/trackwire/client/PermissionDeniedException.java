package io.trackwire.client;

import io.grpc.Status;

/** The token is valid but does not allow this operation. */
public class PermissionDeniedException extends TrackwireException {
  private static final long serialVersionUID = 1L;

  public PermissionDeniedException(String message, Throwable cause) {
    super(Status.Code.PERMISSION_DENIED, message, cause);
  }

  public PermissionDeniedException(String message) {
    this(message, null);
  }
}
