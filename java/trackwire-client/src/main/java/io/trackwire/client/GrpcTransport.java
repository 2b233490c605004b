package io.trackwire.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** Calls over one gRPC channel (grpc:// plaintext, grpcs:// TLS). */
final class GrpcTransport implements Transport {
  /**
   * How long a call waits for a channel that was failing to reconnect: a server that is up
   * again on loopback or a LAN accepts well within it.
   */
  private static final long RECONNECT_WAIT_MILLIS = 200;

  private final ManagedChannel channel;
  private final Channel calls;

  private GrpcTransport(ManagedChannel channel, String token) {
    this.channel = channel;
    Channel withToken = channel;
    if (token != null && !token.isEmpty()) {
      Metadata headers = new Metadata();
      headers.put(
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      withToken = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.calls = withToken;
  }

  /**
   * A lazy channel: an unreachable server shows up as {@link UnavailableException} on the first
   * call. {@code caCertificates} ({@code null}: the system's) are trusted when {@code tls}.
   */
  static GrpcTransport open(String host, int port, boolean tls, Path caCertificates, String token) {
    ChannelCredentials credentials = tls ? tlsCredentials(caCertificates) : InsecureChannelCredentials.create();
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(host, port, credentials)
        .maxInboundMessageSize(ServerLimits.MAX_REQUEST_BYTES)
        .defaultServiceConfig(RetryPolicy.serviceConfig())
        .enableRetry()
        .build();
    return new GrpcTransport(channel, token);
  }

  private static ChannelCredentials tlsCredentials(Path caCertificates) {
    if (caCertificates == null) {
      return TlsChannelCredentials.create();
    }
    try {
      return TlsChannelCredentials.newBuilder().trustManager(caCertificates.toFile()).build();
    } catch (IOException e) {
      throw new InvalidArgumentException(
          "Cannot read CA certificates from " + caCertificates + ": " + e.getMessage());
    }
  }

  @Override
  public <Q extends Message, R extends Message> R unary(MethodDescriptor<Q, R> method, Q request) {
    reconnectIfFailing();
    try {
      return ClientCalls.blockingUnaryCall(calls, method, CallOptions.DEFAULT, request);
    } catch (StatusRuntimeException e) {
      throw TrackwireException.fromStatus(e);
    }
  }

  @Override
  public <Q extends Message, R extends Message> Iterator<R> serverStream(
      MethodDescriptor<Q, R> method, Q request) {
    reconnectIfFailing();
    Iterator<R> responses;
    try {
      responses = ClientCalls.blockingServerStreamingCall(calls, method, CallOptions.DEFAULT, request);
    } catch (StatusRuntimeException e) {
      throw TrackwireException.fromStatus(e);
    }
    return new Iterator<R>() {
      @Override
      public boolean hasNext() {
        try {
          return responses.hasNext();
        } catch (StatusRuntimeException e) {
          throw TrackwireException.fromStatus(e);
        }
      }

      @Override
      public R next() {
        try {
          return responses.next();
        } catch (StatusRuntimeException e) {
          throw TrackwireException.fromStatus(e);
        }
      }
    };
  }

  /** Sends the chunks as fast as the server takes them (flow control): nothing is held in memory. */
  @Override
  public <Q extends Message, R extends Message> R clientStream(
      MethodDescriptor<Q, R> method, Q head, InputStream data, Function<ByteString, Q> chunk) {
    reconnectIfFailing();
    CompletableFuture<R> done = new CompletableFuture<>();
    Object readiness = new Object();
    ClientResponseObserver<Q, R> observer = new ClientResponseObserver<Q, R>() {
      private R response;

      @Override
      public void beforeStart(ClientCallStreamObserver<Q> requests) {
        requests.setOnReadyHandler(() -> wake(readiness));
      }

      @Override
      public void onNext(R value) {
        response = value;
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
        wake(readiness);
      }

      @Override
      public void onCompleted() {
        done.complete(response);
      }
    };
    ClientCall<Q, R> call = calls.newCall(method, CallOptions.DEFAULT);
    ClientCallStreamObserver<Q> requests =
        (ClientCallStreamObserver<Q>) ClientCalls.asyncClientStreamingCall(call, observer);
    try {
      requests.onNext(head);
      byte[] buffer = new byte[ServerLimits.ARTIFACT_CHUNK_SIZE];
      int read;
      while ((read = readFully(data, buffer)) > 0 && !done.isDone()) {
        synchronized (readiness) {
          while (!requests.isReady() && !done.isDone()) {
            readiness.wait();
          }
        }
        requests.onNext(chunk.apply(ByteString.copyFrom(buffer, 0, read)));
      }
      requests.onCompleted();
    } catch (IOException e) {
      requests.cancel("local data unreadable", e);
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      requests.cancel("interrupted", e);
      Thread.currentThread().interrupt();
      throw new TrackwireException(Status.Code.CANCELLED, "Upload interrupted", e);
    }
    try {
      return done.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException) {
        throw TrackwireException.fromStatus((StatusRuntimeException) e.getCause());
      }
      throw new TrackwireException(Status.Code.INTERNAL, String.valueOf(e.getCause()), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TrackwireException(Status.Code.CANCELLED, "Upload interrupted", e);
    }
  }

  /** Fills the buffer unless the stream ends first; how many bytes were read. */
  static int readFully(InputStream in, byte[] buffer) throws IOException {
    int total = 0;
    int read;
    while (total < buffer.length && (read = in.read(buffer, total, buffer.length - total)) != -1) {
      total += read;
    }
    return total;
  }

  private static void wake(Object monitor) {
    synchronized (monitor) {
      monitor.notifyAll();
    }
  }

  /**
   * While a server is down, grpc-java waits ever longer between reconnection attempts (up to two
   * minutes, with no public setting), and a call made meanwhile fails at once without dialling,
   * even when the server is back. So a call on a channel in TRANSIENT_FAILURE first cuts the
   * backoff short and waits briefly for the connection: the first call after an outage goes
   * through, retried or not.
   */
  private void reconnectIfFailing() {
    if (channel.getState(false) != ConnectivityState.TRANSIENT_FAILURE) {
      return;
    }
    channel.resetConnectBackoff();
    CountDownLatch ready = new CountDownLatch(1);
    countDownWhenReady(ConnectivityState.TRANSIENT_FAILURE, ready);
    try {
      ready.await(RECONNECT_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      ready.countDown(); // ends the watch below if the connection is not there yet
    }
  }

  /** Follows the channel's state changes from {@code from} until READY, or until the latch is down. */
  private void countDownWhenReady(ConnectivityState from, CountDownLatch ready) {
    channel.notifyWhenStateChanged(from, () -> {
      ConnectivityState now = channel.getState(false);
      if (now == ConnectivityState.READY) {
        ready.countDown();
      } else if (now != ConnectivityState.SHUTDOWN && ready.getCount() > 0) {
        countDownWhenReady(now, ready);
      }
    });
  }

  /** Shuts the channel down, waiting briefly for calls in flight. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
