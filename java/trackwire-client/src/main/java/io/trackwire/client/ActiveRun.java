package io.trackwire.client;

import io.trackwire.v1.FileInfo;
import io.trackwire.v1.Metric;
import io.trackwire.v1.Param;
import io.trackwire.v1.Run;
import io.trackwire.v1.RunStatus;
import io.trackwire.v1.RunTag;
import java.nio.file.Path;
import java.util.List;

/**
 * A run being logged to, ended when closed: FAILED when an exception escapes the
 * try-with-resources block that closes it, FINISHED otherwise.
 *
 * <pre>{@code
 * try (ActiveRun run = client.startRun(experimentId)) {
 *   train(run);                               // FAILED if train throws (rethrown as is)
 * }                                           // FINISHED otherwise
 * }</pre>
 *
 * <p>{@code close()} takes no exception, so it tells the block's exceptional path from its normal
 * one by the bytecode of its caller: this covers try-with-resources blocks compiled by javac.
 * {@link #failOnException} inside the block, or {@link TrackwireClient#withRun}, record a failure
 * whatever the compiler or whoever closes the run. {@link #end(RunStatus)} ends the run explicitly
 * (e.g. KILLED); a later {@code close()} then does nothing.
 */
public final class ActiveRun implements AutoCloseable {
  private final TrackwireClient client;
  private final Run run;
  private boolean ended;

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

  /**
   * Runs {@code body}; if it throws, ends the run FAILED and rethrows. Records the failure
   * whatever compiled the caller or closes the run.
   */
  public void failOnException(Runnable body) {
    try {
      body.run();
    } catch (RuntimeException | Error e) {
      try {
        end(RunStatus.RUN_STATUS_FAILED);
      } catch (RuntimeException unrecorded) {
        e.addSuppressed(unrecorded);
      }
      throw e;
    }
  }

  /** Ends the run with this status now; later calls and {@code close()} do nothing. */
  public synchronized void end(RunStatus status) {
    if (!ended) {
      // Set first: a run whose FAILED could not be recorded must not be closed FINISHED.
      ended = true;
      client.setTerminated(runId(), status);
    }
  }

  /**
   * Ends the run, unless it was ended already: FAILED when called on the exceptional path of a
   * javac-compiled try-with-resources block, FINISHED otherwise.
   */
  @Override
  public synchronized void close() {
    if (!ended) {
      end(TryWithResources.closingOnException(ActiveRun.class)
          ? RunStatus.RUN_STATUS_FAILED
          : RunStatus.RUN_STATUS_FINISHED);
    }
  }
}
