package com.example.consumer;

import io.trackwire.client.ActiveRun;
import io.trackwire.client.TrackwireClient;
import java.nio.file.Files;
import java.nio.file.Path;

/** Logs one training run to the server named by TRACKWIRE_TRACKING_URI and prints its id. */
public final class LogRun {
  public static void main(String[] args) throws Exception {
    String experimentName = args[0];
    try (TrackwireClient client = TrackwireClient.fromEnvironment()) {
      String experimentId = client.createExperiment(experimentName);
      try (ActiveRun run = client.startRun(experimentId)) {
        run.logParam("optimizer", "adam").setTag("source", "jvm-consumer");
        for (int epoch = 0; epoch < 3; epoch++) {
          run.logMetric("loss", 1.0 / (epoch + 1), epoch);
        }
        Path report = Files.writeString(Files.createTempFile("report", ".txt"), "all good");
        run.logArtifact(report, "reports");
        System.out.println(run.runId());
      }
    }
  }
}
