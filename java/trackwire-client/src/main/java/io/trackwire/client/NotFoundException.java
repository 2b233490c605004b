package io.trackwire.client;

import io.grpc.Status;

/** The experiment, run, tag or artifact does not exist. */
public class NotFoundException extends TrackwireException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message, Throwable cause) {
    super(Status.Code.NOT_FOUND, message, cause);
  }

  public NotFoundException(String message) {
    this(message, null);
  }
}
