package io.trackwire.client;

import io.grpc.Status;

/** The resource exists already, e.g. an experiment name is taken. */
public class AlreadyExistsException extends TrackwireException {
  private static final long serialVersionUID = 1L;

  public AlreadyExistsException(String message, Throwable cause) {
    super(Status.Code.ALREADY_EXISTS, message, cause);
  }

  public AlreadyExistsException(String message) {
    this(message, null);
  }
}
