package com.example.consumer;

import io.trackwire.client.ActiveRun;
import io.trackwire.client.TrackwireClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Logs one training run to the server the environment names (TRACKWIRE_TRACKING_URI or
 * MLFLOW_TRACKING_URI: grpc:// or http://) and prints its id.
 */
public final class LogRun {
  public static void main(String[] args) throws Exception {
    String experimentName = args[0];
    try (TrackwireClient client = TrackwireClient.fromEnvironment()) {
      String experimentId = client.getOrCreateExperiment(experimentName);
      try (ActiveRun run = client.startRun(experimentId)) {
        run.logParams(Map.of("optimizer", "adam")).setTags(Map.of("source", "jvm-consumer"));
        for (int epoch = 0; epoch < 3; epoch++) {
          run.logMetrics(Map.of("loss", 1.0 / (epoch + 1)), epoch);
        }
        Path report = Files.writeString(Files.createTempFile("report", ".txt"), "all good");
        run.logArtifact(report, "reports");
        System.out.println(run.runId());
      }
    }
  }
}
