package io.trackwire.client;

import io.trackwire.v1.FileInfo;
import io.trackwire.v1.Metric;
import io.trackwire.v1.Param;
import io.trackwire.v1.Run;
import io.trackwire.v1.RunStatus;
import io.trackwire.v1.RunTag;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A run being logged to, ended when closed: FINISHED, or FAILED when {@link #fail()} marked it.
 *
 * <pre>{@code
 * try (ActiveRun run = client.startRun(experimentId)) {
 *   try {
 *     train(run);
 *   } catch (RuntimeException e) {
 *     run.fail();                             // close() ends it FAILED
 *     throw e;
 *   }
 * }                                           // FINISHED otherwise
 * }</pre>
 *
 * <p>{@link TrackwireClient#withRun} does the marking for you: it ends the run FAILED when its
 * body throws. {@link #end(RunStatus)} ends the run explicitly (e.g. KILLED); a later
 * {@code close()} then does nothing.
 */
public final class ActiveRun implements AutoCloseable {
  private final TrackwireClient client;
  private final Run run;
  private boolean ended;
  private boolean failed;

  ActiveRun(TrackwireClient client, Run run) {
    this.client = client;
    this.run = run;
  }

  public String runId() {
    return run.getInfo().getRunId();
  }

  public String experimentId() {
    return run.getInfo().getExperimentId();
  }

  /** The run as created (use {@link TrackwireClient#getRun} for its current state). */
  public Run run() {
    return run;
  }

  public ActiveRun logParam(String key, String value) {
    client.logParam(runId(), key, value);
    return this;
  }

  public ActiveRun logMetric(String key, double value) {
    client.logMetric(runId(), key, value);
    return this;
  }

  public ActiveRun logMetric(String key, double value, long step) {
    client.logMetric(runId(), key, value, System.currentTimeMillis(), step);
    return this;
  }

  public ActiveRun setTag(String key, String value) {
    client.setTag(runId(), key, value);
    return this;
  }

  public ActiveRun logParams(Map<String, String> params) {
    client.logParams(runId(), params);
    return this;
  }

  public ActiveRun logMetrics(Map<String, Double> values) {
    client.logMetrics(runId(), values);
    return this;
  }

  public ActiveRun logMetrics(Map<String, Double> values, long step) {
    client.logMetrics(runId(), values, step);
    return this;
  }

  public ActiveRun setTags(Map<String, String> tags) {
    client.setTags(runId(), tags);
    return this;
  }

  public ActiveRun logBatch(List<Metric> metrics, List<Param> params, List<RunTag> tags) {
    client.logBatch(runId(), metrics, params, tags);
    return this;
  }

  public FileInfo logArtifact(Path localFile) {
    return client.logArtifact(runId(), localFile);
  }

  public FileInfo logArtifact(Path localFile, String artifactDir) {
    return client.logArtifact(runId(), localFile, artifactDir);
  }

  public List<FileInfo> logArtifacts(Path localDir, String artifactDir) {
    return client.logArtifacts(runId(), localDir, artifactDir);
  }

  /** Marks the run failed: {@code close()} will end it FAILED instead of FINISHED. */
  public synchronized ActiveRun fail() {
    failed = true;
    return this;
  }

  /** Ends the run with this status now; later calls and {@code close()} do nothing. */
  public synchronized void end(RunStatus status) {
    if (!ended) {
      // Set first: a run whose FAILED could not be recorded must not be closed FINISHED.
      ended = true;
      client.setTerminated(runId(), status);
    }
  }

  /** Ends the run, unless it was ended already: FAILED if marked failed, else FINISHED. */
  @Override
  public synchronized void close() {
    end(failed ? RunStatus.RUN_STATUS_FAILED : RunStatus.RUN_STATUS_FINISHED);
  }
}
