package io.trackwire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.trackwire.v1.Metric;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which failures writes retry, against real server processes. */
class RetryTest {
  @ParameterizedTest
  @ValueSource(strings = {"grpc", "http"})
  void writesRideThroughAServerRestart(String transport) throws Exception {
    try (TrackwireServer server = TrackwireServer.start()) {
      List<Long> delays = new ArrayList<>();
      // The first wait restarts the stopped server; every wait then really sleeps, since the
      // client's channel needs a moment to reconnect.
      RetryPolicy.Sleeper restartThenSleep = millis -> {
        if (delays.isEmpty()) {
          server.restart();
        }
        delays.add(millis);
        Thread.sleep(millis);
      };
      try (TrackwireClient client =
          TrackwireClient.connect(transport.equals("grpc") ? server.grpcUri() : server.httpUri(),
              null, null, restartThenSleep)) {
        String runId = client.createRun(client.createExperiment("restarted")).getInfo().getRunId();

        server.stop();
        client.logMetric(runId, "m", 1.0, 1, 1);
        int retriesOfLogMetric = delays.size();
        server.stop();
        delays.clear();
        client.logBatch(runId, List.of(Metric.newBuilder().setKey("m").setValue(2.0)
            .setTimestamp(2).setStep(2).build()), List.of(), List.of());

        int retriesOfLogBatch = delays.size();
        server.stop();
        delays.clear();
        client.setTag(runId, "t", "v"); // RETRY_SAFE: resent as it is

        assertTrue(retriesOfLogMetric > 0 && retriesOfLogBatch > 0 && !delays.isEmpty(),
            "every write was retried");
        assertTrue(client.getRun(runId).getData().getTagsList().stream()
            .anyMatch(t -> t.getKey().equals("t") && t.getValue().equals("v")));
        assertEquals(List.of(1.0, 2.0),
            client.getMetricHistory(runId, "m").stream().map(Metric::getValue).toList());
      }
    }
  }

  @Test
  void anExhaustedQuotaIsNotRetried() throws Exception {
    List<Long> delays = new ArrayList<>();
    try (TrackwireServer server = TrackwireServer.start(List.of("--max-metric-steps-per-run", "1"));
        TrackwireClient client = TrackwireClient.connect(server.grpcUri(), null, null, delays::add)) {
      String runId = client.createRun(client.createExperiment("quota")).getInfo().getRunId();
      client.logMetric(runId, "m", 1.0, 1, 0);
      assertThrows(ResourceExhaustedException.class, () -> client.logMetric(runId, "m", 2.0, 1, 1));
      assertEquals(List.of(), delays);
    }
  }
}
