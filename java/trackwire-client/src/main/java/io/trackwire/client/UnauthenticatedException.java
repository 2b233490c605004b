package io.trackwire.client;

import io.grpc.Status;

/** No valid token was sent (see TRACKWIRE_TOKEN). */
public class UnauthenticatedException extends TrackwireException {
  private static final long serialVersionUID = 1L;

  public UnauthenticatedException(String message, Throwable cause) {
    super(Status.Code.UNAUTHENTICATED, message, cause);
  }

  public UnauthenticatedException(String message) {
    this(message, null);
  }
}
