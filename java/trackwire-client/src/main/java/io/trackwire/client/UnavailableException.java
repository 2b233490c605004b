package io.trackwire.client;

import io.grpc.Status;

/** The server could not be reached (after retries, for reads). */
public class UnavailableException extends TrackwireException {
  private static final long serialVersionUID = 1L;

  public UnavailableException(String message, Throwable cause) {
    super(Status.Code.UNAVAILABLE, message, cause);
  }

  public UnavailableException(String message) {
    this(message, null);
  }
}
