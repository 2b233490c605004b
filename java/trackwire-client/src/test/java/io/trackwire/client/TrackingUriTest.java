package io.trackwire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which tracking URIs the client takes, and what it retries, without a server. */
class TrackingUriTest {
  @ParameterizedTest
  @ValueSource(strings = {"sqlite:///trackwire.db", "file:///tmp/mlruns", "databricks", "grpc:///nohost"})
  void unsupportedOrIncompleteUrisAreRefused(String uri) {
    InvalidArgumentException refused =
        assertThrows(InvalidArgumentException.class, () -> TrackwireClient.connect(uri, null));
    assertTrue(refused.getMessage().contains(uri), refused.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "http"})
  void anUnreachableServerIsRetriedWithBackoffThenUnavailable(String scheme) throws IOException {
    List<Long> delays = new ArrayList<>();
    try (TrackwireClient client =
        TrackwireClient.connect(scheme + "://127.0.0.1:" + freePort(), "token", null, delays::add)) {
      assertThrows(UnavailableException.class, () -> client.getExperiment("0"));
      assertEquals(RetryPolicy.DELAYS_MILLIS.length, delays.size());
      delays.clear();
      assertThrows(UnavailableException.class, () -> client.createExperiment("never retried"));
      assertEquals(List.of(), delays);
    }
  }

  @Test
  void theRetriedRpcsAreThoseTheSchemaMarksSafe() {
    List<String> retried = TrackwireClient.retryableRpcs();
    assertTrue(retried.containsAll(List.of("GetRun", "SearchRuns", "LogMetric", "LogBatch",
        "SetTag", "LogParam", "UpdateRun", "DownloadArtifact", "CreateRun")), retried.toString());
    for (String never : List.of("CreateExperiment", "DeleteRun", "UploadArtifact")) {
      assertTrue(!retried.contains(never), never);
    }
    assertEquals(retried.stream().sorted().toList(), retried);
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
