package io.trackwire.scala

import java.nio.file.Path

/** The run inside [[Trackwire.withRun]]: logging calls without repeating the run id. */
final class ActiveRun private[scala] (client: Trackwire, val runId: String) {

  def logParam(key: String, value: String): Unit = client.logParam(runId, key, value)

  def logParams(params: Map[String, String]): Unit = client.logParams(runId, params)

  def logMetric(key: String, value: Double, step: Long = 0L): Unit =
    client.logMetric(runId, key, value, step)

  def logMetrics(values: Map[String, Double], step: Long = 0L): Unit = client.logMetrics(runId, values, step)

  def setTag(key: String, value: String): Unit = client.setTag(runId, key, value)

  def setTags(tags: Map[String, String]): Unit = client.setTags(runId, tags)

  def logArtifact(localFile: Path, artifactDir: String = ""): FileInfo =
    client.logArtifact(runId, localFile, artifactDir)

  def logArtifacts(localDir: Path, artifactDir: String = ""): Vector[FileInfo] =
    client.logArtifacts(runId, localDir, artifactDir)

  /** The run's current state on the server. */
  def run: Run = client.getRun(runId)
}
