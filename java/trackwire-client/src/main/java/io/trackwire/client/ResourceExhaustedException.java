package io.trackwire.client;

import io.grpc.Status;

/** The server refused the request for its size or rate. */
public class ResourceExhaustedException extends TrackwireException {
  private static final long serialVersionUID = 1L;

  public ResourceExhaustedException(String message, Throwable cause) {
    super(Status.Code.RESOURCE_EXHAUSTED, message, cause);
  }

  public ResourceExhaustedException(String message) {
    this(message, null);
  }
}
