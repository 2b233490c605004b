package io.trackwire.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import java.io.InputStream;
import java.util.Iterator;
import java.util.function.Function;

/**
 * How calls reach the server: gRPC ({@link GrpcTransport}) or MLflow's HTTP/JSON API through the
 * gateway ({@link HttpTransport}). Methods are named by their gRPC descriptors, which carry
 * everything a transport needs (the schema's HTTP rules included). Failures are
 * {@link TrackwireException}s on both.
 */
interface Transport extends AutoCloseable {
  <Q extends Message, R extends Message> R unary(MethodDescriptor<Q, R> method, Q request);

  /** The responses of a server-streaming call, read as they arrive. */
  <Q extends Message, R extends Message> Iterator<R> serverStream(MethodDescriptor<Q, R> method, Q request);

  /**
   * A client-streaming call: {@code head}, then {@code data} in chunks of the server's chunk
   * size, each sent as the message {@code chunk} makes of it (over HTTP, the head's fields go in
   * the query and {@code data} is the raw body, as the method's HTTP rule says).
   */
  <Q extends Message, R extends Message> R clientStream(
      MethodDescriptor<Q, R> method, Q head, InputStream data, Function<ByteString, Q> chunk);

  @Override
  void close();
}
