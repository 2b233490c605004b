package io.trackwire.client;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import trackwire.v1.ArtifactServiceGrpc;
import trackwire.v1.TrackingServiceGrpc;

/**
 * gRPC service config that retries the idempotent reads on UNAVAILABLE with exponential
 * backoff (a restarting server or a replica behind a load balancer going away). Writes are not
 * retried: a write that reached the server before the connection broke would be applied twice.
 */
final class RetryPolicy {
  private static final List<String> TRACKING_READS = List.of(
      "GetExperiment", "GetExperimentByName", "SearchExperiments", "GetRun", "SearchRuns",
      "GetMetricHistory", "StreamMetricHistory");
  private static final List<String> ARTIFACT_READS = List.of("ListArtifacts", "DownloadArtifact");

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

  private static Map<String, String> name(String service, String method) {
    return Map.of("service", service, "method", method);
  }
}
