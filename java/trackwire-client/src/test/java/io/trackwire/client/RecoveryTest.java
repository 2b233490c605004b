package io.trackwire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * After an outage (SIGKILL, about 5 s down, a restart on the same ports and store), the first
 * call once the server is healthy again goes through within about half a second, on either
 * wire: no backoff grown during the outage holds it back. Counted in the client's own retry
 * waits; the wall-clock bound is only a generous guard against a multi-second backoff.
 */
class RecoveryTest {
  /** One failed call every 0.25 s: the client meets the outage for about 5 s. */
  private static final int OUTAGE_ATTEMPTS = 20;
  private static final long OUTAGE_MILLIS = 5000;

  private static String uri(TrackwireServer server, String wire) {
    return wire.equals("grpc") ? server.grpcUri() : server.httpUri();
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "http"})
  void theFirstCallAfterAnOutageGoesThrough(String wire) throws Exception {
    List<Long> waits = new CopyOnWriteArrayList<>();
    RetryPolicy.Sleeper recorded = millis -> {
      waits.add(millis);
      Thread.sleep(millis);
    };
    try (TrackwireServer server = TrackwireServer.start();
        TrackwireClient client = TrackwireClient.connect(uri(server, wire), null, null, recorded)) {
      assertEquals("0", client.getExperiment("0").getExperimentId());
      server.kill();
      for (int attempt = 0; attempt < OUTAGE_ATTEMPTS; attempt++) {
        // CreateExperiment is never retried: one attempt each, as a busy client would make.
        assertThrows(UnavailableException.class, () -> client.createExperiment("during-the-outage"));
        Thread.sleep(250);
      }
      server.restart(); // returns once the server says it is listening

      waits.clear();
      long healthy = System.nanoTime();
      assertEquals("0", client.getExperiment("0").getExperimentId());
      report(wire + ", a new call", waits, healthy);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"grpc", "http"})
  void aCallRetryingThroughAnOutageGoesThroughSoonAfterIt(String wire) throws Exception {
    try (TrackwireServer server = TrackwireServer.start()) {
      AtomicLong waitedInOutage = new AtomicLong();
      AtomicLong healthy = new AtomicLong();
      List<Long> waitsOnceHealthy = new CopyOnWriteArrayList<>();
      // The call's retries wait out about 5 s of outage; then the server is restarted (this
      // returns once it listens), and every wait from there on is counted.
      RetryPolicy.Sleeper restartAfterTheOutage = millis -> {
        if (healthy.get() == 0 && waitedInOutage.addAndGet(millis) >= OUTAGE_MILLIS) {
          server.restart();
          healthy.set(System.nanoTime());
        }
        if (healthy.get() != 0) {
          waitsOnceHealthy.add(millis);
        }
        Thread.sleep(millis);
      };
      try (TrackwireClient client =
          TrackwireClient.connect(uri(server, wire), null, null, restartAfterTheOutage)) {
        assertEquals("0", client.getExperiment("0").getExperimentId());
        server.kill();
        assertEquals("0", client.getExperiment("0").getExperimentId());
        report(wire + ", a call retrying", waitsOnceHealthy, healthy.get());
      }
    }
  }

  private static void report(String what, List<Long> waits, long healthyNanos) {
    double seconds = (System.nanoTime() - healthyNanos) / 1e9;
    long waited = waits.stream().mapToLong(Long::longValue).sum();
    System.out.printf("recovery (java, %s): through %.3f s after the server was healthy, "
        + "after %d retry waits (%d ms)%n", what, seconds, waits.size(), waited);
    assertTrue(waited <= 500, "the client waited " + waited + " ms once the server was back");
    assertTrue(seconds < 2, "the call went through " + seconds + " s after the server was back");
  }
}
