package io.trackwire.client;

import io.grpc.Status;
import io.trackwire.v1.ArtifactServiceGrpc;
import io.trackwire.v1.TrackingServiceGrpc;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * When calls are retried. Idempotent reads: by the channel's service config, on UNAVAILABLE with
 * exponential backoff (a restarting server or a replica behind a load balancer going away).
 * LogMetric and LogBatch: by {@link #retryWrite}, which resends the very same request, idempotency
 * key ({@code request_id}) included, so a write whose response was lost is stored once. Other
 * writes are not retried: a create or delete that reached the server would be applied twice.
 */
final class RetryPolicy {
  private static final List<String> TRACKING_READS = List.of(
      "GetExperiment", "GetExperimentByName", "SearchExperiments", "GetRun", "SearchRuns",
      "GetMetricHistory", "StreamMetricHistory", "GetExperimentPermission");
  private static final List<String> ARTIFACT_READS = List.of("ListArtifacts", "DownloadArtifact");

  /** Waits between write attempts: about 6 s in all, enough to ride through a server restart. */
  static final long[] WRITE_DELAYS_MILLIS = {100, 200, 400, 800, 1600, 3200};
  private static final Set<Status.Code> TRANSIENT =
      Set.of(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED);

  /** How the client waits between attempts (tests record the delays instead). */
  @FunctionalInterface
  interface Sleeper {
    void sleep(long millis) throws InterruptedException;
  }

  private RetryPolicy() {}

  static Map<String, ?> serviceConfig() {
    List<Map<String, String>> names = Stream.concat(
            TRACKING_READS.stream().map(m -> name(TrackingServiceGrpc.SERVICE_NAME, m)),
            ARTIFACT_READS.stream().map(m -> name(ArtifactServiceGrpc.SERVICE_NAME, m)))
        .toList();
    // The service-config format wants JSON numbers as doubles.
    Map<String, Object> retry = Map.of(
        "maxAttempts", 5.0,
        "initialBackoff", "0.2s",
        "maxBackoff", "2s",
        "backoffMultiplier", 2.0,
        "retryableStatusCodes", List.of("UNAVAILABLE"));
    return Map.of("methodConfig", List.of(Map.of("name", names, "retryPolicy", retry)));
  }

  /**
   * Runs an idempotent write, again after each delay while it fails with UNAVAILABLE or
   * DEADLINE_EXCEEDED; {@code reconnect} runs before each retry so that the attempt dials the
   * server at once instead of failing fast in the channel's own reconnect backoff.
   */
  static <T> T retryWrite(Supplier<T> attempt, Sleeper sleeper, Runnable reconnect) {
    for (int retries = 0; ; retries++) {
      try {
        return attempt.get();
      } catch (TrackwireException e) {
        if (retries == WRITE_DELAYS_MILLIS.length || !TRANSIENT.contains(e.code())) {
          throw e;
        }
        try {
          sleeper.sleep(WRITE_DELAYS_MILLIS[retries]);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
        reconnect.run();
      }
    }
  }

  private static Map<String, String> name(String service, String method) {
    return Map.of("service", service, "method", method);
  }
}
