package io.trackwire.client;

import io.grpc.Status;

/** The request was refused as invalid (bad value, limit exceeded, param overwrite). */
public class InvalidArgumentException extends TrackwireException {
  private static final long serialVersionUID = 1L;

  public InvalidArgumentException(String message, Throwable cause) {
    super(Status.Code.INVALID_ARGUMENT, message, cause);
  }

  public InvalidArgumentException(String message) {
    this(message, null);
  }
}
