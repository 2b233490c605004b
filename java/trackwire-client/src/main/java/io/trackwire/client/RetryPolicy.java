package io.trackwire.client;

import com.google.protobuf.DescriptorProtos.MethodOptions;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.grpc.Status;
import io.trackwire.v1.ArtifactServiceProto;
import io.trackwire.v1.ModelRegistryServiceProto;
import io.trackwire.v1.LoggedModelServiceProto;
import io.trackwire.v1.Retry;
import io.trackwire.v1.RpcPolicyProto;
import io.trackwire.v1.TrackingServiceProto;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.LongStream;

/**
 * Which calls are sent again when their answer did not arrive, as the schema says: each RPC's
 * {@code (trackwire.v1.policy)} option. RETRY_SAFE calls (reads, and writes whose repetition
 * leaves the same state) are resent as they are; RETRY_WITH_REQUEST_ID calls get a fresh
 * idempotency key in their {@code request_id} field, and the very same request, key included,
 * is resent, so the server applies it once. RETRY_NEVER calls (creates, deletes) are sent once.
 *
 * <p>Unary calls are retried by {@link #call} on either transport, for about 10 s, enough to
 * ride through a server restart. gRPC streams that may be retried are retried by the channel
 * ({@link #serviceConfig}), which resends only before the first response, so a stream is never
 * repeated half-way.
 */
final class RetryPolicy {
  /**
   * Waits between attempts: short ones for a blip, then one attempt every half second, about
   * 10 s in all. The cap keeps recovery fast: once the server is back, the next attempt comes
   * within half a second.
   */
  static final long[] DELAYS_MILLIS = LongStream.concat(
      LongStream.of(50, 100, 200, 400), LongStream.generate(() -> 500).limit(19)).toArray();
  private static final Set<Status.Code> TRANSIENT =
      Collections.unmodifiableSet(EnumSet.of(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED));
  private static final String REQUEST_ID = "request_id";

  /** Every method of the services the client calls, by full name ("pkg.Service/Method"). */
  private static final Map<String, Retry> RETRY_BY_METHOD = readPolicies();

  /** How the client waits between attempts (tests record the delays instead). */
  @FunctionalInterface
  interface Sleeper {
    void sleep(long millis) throws InterruptedException;
  }

  private RetryPolicy() {}

  /** The retry safety the schema gives a method ({@code "trackwire.v1.TrackingService/GetRun"}). */
  static Retry retryOf(String fullMethodName) {
    Retry retry = RETRY_BY_METHOD.get(fullMethodName);
    if (retry == null) {
      throw new IllegalArgumentException("no policy for " + fullMethodName);
    }
    return retry;
  }

  static boolean isRetryable(String fullMethodName) {
    Retry retry = retryOf(fullMethodName);
    return retry == Retry.RETRY_SAFE || retry == Retry.RETRY_WITH_REQUEST_ID;
  }

  /** The short names of every RPC the client may send again, sorted. */
  static List<String> retryableRpcs() {
    List<String> names = new ArrayList<>();
    for (String method : RETRY_BY_METHOD.keySet()) {
      if (isRetryable(method)) {
        names.add(method.substring(method.indexOf('/') + 1));
      }
    }
    Collections.sort(names);
    return names;
  }

  /** The request with a fresh idempotency key if its method retries with one and it has none. */
  @SuppressWarnings("unchecked")
  static <Q extends Message> Q withRequestId(String fullMethodName, Q request) {
    if (retryOf(fullMethodName) != Retry.RETRY_WITH_REQUEST_ID) {
      return request;
    }
    FieldDescriptor key = request.getDescriptorForType().findFieldByName(REQUEST_ID);
    if (key == null || key.getJavaType() != FieldDescriptor.JavaType.STRING) {
      throw new IllegalStateException(fullMethodName + " retries with a request_id it does not have");
    }
    if (!((String) request.getField(key)).isEmpty()) {
      return request;
    }
    return (Q) request.toBuilder().setField(key, UUID.randomUUID().toString()).build();
  }

  /**
   * Runs one unary call: once when its method may not be retried, else again after each delay
   * while it fails with UNAVAILABLE or DEADLINE_EXCEEDED. The caller resends the same request
   * each time.
   */
  static <T> T call(String fullMethodName, Supplier<T> attempt, Sleeper sleeper) {
    if (!isRetryable(fullMethodName)) {
      return attempt.get();
    }
    for (int retries = 0; ; retries++) {
      try {
        return attempt.get();
      } catch (TrackwireException e) {
        if (retries == DELAYS_MILLIS.length || !TRANSIENT.contains(e.code())) {
          throw e;
        }
        try {
          sleeper.sleep(DELAYS_MILLIS[retries]);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** The gRPC service config: channel retries of the streaming calls that may be retried. */
  static Map<String, ?> serviceConfig() {
    List<Map<String, String>> names = new ArrayList<>();
    for (ServiceDescriptor service : services()) {
      for (MethodDescriptor method : service.getMethods()) {
        boolean streaming = method.isClientStreaming() || method.isServerStreaming();
        if (streaming && isRetryable(fullName(method))) {
          Map<String, String> name = new HashMap<>();
          name.put("service", service.getFullName());
          name.put("method", method.getName());
          names.add(name);
        }
      }
    }
    // The service-config format wants JSON numbers as doubles.
    Map<String, Object> retry = new HashMap<>();
    retry.put("maxAttempts", 5.0);
    retry.put("initialBackoff", "0.1s");
    retry.put("maxBackoff", "0.5s"); // as DELAYS_MILLIS: a stream starts soon after the server is back
    retry.put("backoffMultiplier", 2.0);
    retry.put("retryableStatusCodes", Collections.singletonList("UNAVAILABLE"));
    Map<String, Object> methodConfig = new HashMap<>();
    methodConfig.put("name", names);
    methodConfig.put("retryPolicy", retry);
    return Collections.singletonMap("methodConfig", Collections.singletonList(methodConfig));
  }

  private static List<ServiceDescriptor> services() {
    List<ServiceDescriptor> services = new ArrayList<>(TrackingServiceProto.getDescriptor().getServices());
    services.addAll(ArtifactServiceProto.getDescriptor().getServices());
    services.addAll(ModelRegistryServiceProto.getDescriptor().getServices());
    services.addAll(LoggedModelServiceProto.getDescriptor().getServices());
    return services;
  }

  private static String fullName(MethodDescriptor method) {
    return method.getService().getFullName() + "/" + method.getName();
  }

  private static Map<String, Retry> readPolicies() {
    // Options may have been parsed before the extension was known; re-parse them with it.
    ExtensionRegistry registry = ExtensionRegistry.newInstance();
    registry.add(RpcPolicyProto.policy);
    Map<String, Retry> retries = new HashMap<>();
    for (ServiceDescriptor service : services()) {
      for (MethodDescriptor method : service.getMethods()) {
        try {
          MethodOptions options = MethodOptions.parseFrom(method.getOptions().toByteString(), registry);
          Retry retry = options.getExtension(RpcPolicyProto.policy).getRetry();
          if (retry == Retry.RETRY_UNSPECIFIED) {
            throw new IllegalStateException(method.getFullName() + " states no retry policy");
          }
          retries.put(fullName(method), retry);
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException("unreadable options of " + method.getFullName(), e);
        }
      }
    }
    return Collections.unmodifiableMap(retries);
  }
}
