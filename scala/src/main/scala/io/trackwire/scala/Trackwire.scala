package io.trackwire.scala

import io.trackwire.client.TrackwireClient
import java.nio.file.Path
import scala.jdk.CollectionConverters._
import scala.jdk.OptionConverters._
import scala.util.control.NonFatal
import io.trackwire.{v1 => pb}
import io.trackwire.v1.{SearchExperimentsRequest, SearchLoggedModelsRequest, SearchRunsRequest}

/**
 * Scala client of a trackwire server: the Java [[io.trackwire.client.TrackwireClient]] with Scala
 * collections, `Option`s, case classes and default arguments. Failures are the Java client's
 * unchecked exceptions ([[io.trackwire.client.NotFoundException]], ...); lookups that may
 * legitimately find nothing return `Option` instead.
 *
 * {{{
 * Using.resource(Trackwire.fromEnvironment()) { tw =>
 *   val experimentId = tw.createExperiment("demo")
 *   tw.withRun(experimentId) { run => run.logMetric("loss", 0.25) }
 * }
 * }}}
 */
final class Trackwire private (val underlying: TrackwireClient) extends AutoCloseable {

  // ---- model registry

  def createRegisteredModel(name: String): RegisteredModel =
    RegisteredModel.fromProto(underlying.createRegisteredModel(name))

  /** A new version of a registered model from a source such as `runs:/<run_id>/model`. */
  def createModelVersion(name: String, source: String, runId: Option[String] = None): ModelVersion =
    ModelVersion.fromProto(underlying.createModelVersion(name, source, runId.orNull))

  def getRegisteredModel(name: String): RegisteredModel =
    RegisteredModel.fromProto(underlying.getRegisteredModel(name))

  /** Every registered model matching the filter, fetched page by page as the iterator is read. */
  def searchRegisteredModels(filter: Option[String] = None): Iterator[RegisteredModel] =
    underlying.searchRegisteredModels(filter.orNull).iterator().asScala.map(RegisteredModel.fromProto)

  def getModelVersion(name: String, version: String): ModelVersion =
    ModelVersion.fromProto(underlying.getModelVersion(name, version))

  /** The version an alias points at; None when the model has no such alias. */
  def getModelVersionByAlias(name: String, alias: String): Option[ModelVersion] =
    // The model's aliases say whether it has this one: for an alias that names no version the
    // server answers as MLflow's does, with INVALID_PARAMETER_VALUE, not NOT_FOUND.
    try {
      val aliases = underlying.getRegisteredModel(name).getAliasesList.asScala
      if (aliases.exists(_.getAlias == alias))
        Some(ModelVersion.fromProto(underlying.getModelVersionByAlias(name, alias)))
      else None
    } catch { case _: io.trackwire.client.NotFoundException => None }

  /** Every model version matching the filter, fetched page by page as the iterator is read. */
  def searchModelVersions(filter: Option[String] = None): Iterator[ModelVersion] =
    underlying.searchModelVersions(filter.orNull).iterator().asScala.map(ModelVersion.fromProto)

  // ---- experiments

  def createExperiment(
      name: String,
      artifactLocation: Option[String] = None,
      tags: Map[String, String] = Map.empty): String =
    underlying.createExperiment(name, artifactLocation.orNull, tags.asJava)

  def getExperiment(experimentId: String): Experiment =
    Experiment.fromProto(underlying.getExperiment(experimentId))

  /** The experiment with this name, if there is one (deleted experiments included). */
  def getExperimentByName(name: String): Option[Experiment] =
    underlying.getExperimentByName(name).toScala.map(Experiment.fromProto)

  /** The id of the experiment with this name, created if there is none. */
  def getOrCreateExperiment(name: String): String = underlying.getOrCreateExperiment(name)

  /**
   * Every experiment the search finds, fetched page by page (`pageSize` each) as the iterator
   * is read.
   */
  def searchExperiments(
      filter: Option[String] = None,
      orderBy: Seq[String] = Nil,
      viewType: ViewType = ViewType.ActiveOnly,
      pageSize: Option[Long] = None): Iterator[Experiment] =
    underlying.searchExperiments(experimentsRequest(filter, orderBy, viewType, pageSize, None))
      .iterator().asScala.map(Experiment.fromProto)

  /** One page of a search; its `nextPageToken` asks for the next. */
  def searchExperimentsPage(
      filter: Option[String] = None,
      orderBy: Seq[String] = Nil,
      viewType: ViewType = ViewType.ActiveOnly,
      maxResults: Option[Long] = None,
      pageToken: Option[String] = None): Page[Experiment] =
    page(underlying.searchExperimentsPage(
      experimentsRequest(filter, orderBy, viewType, maxResults, pageToken)))(Experiment.fromProto)

  private def experimentsRequest(
      filter: Option[String],
      orderBy: Seq[String],
      viewType: ViewType,
      maxResults: Option[Long],
      pageToken: Option[String]): SearchExperimentsRequest = {
    val request = SearchExperimentsRequest.newBuilder()
      .addAllOrderBy(orderBy.asJava).setViewType(viewType.proto)
    filter.foreach(request.setFilter)
    maxResults.foreach(request.setMaxResults)
    pageToken.foreach(request.setPageToken)
    request.build()
  }

  def renameExperiment(experimentId: String, newName: String): Unit =
    underlying.renameExperiment(experimentId, newName)

  def deleteExperiment(experimentId: String): Unit = underlying.deleteExperiment(experimentId)

  def restoreExperiment(experimentId: String): Unit = underlying.restoreExperiment(experimentId)

  def setExperimentTag(experimentId: String, key: String, value: String): Unit =
    underlying.setExperimentTag(experimentId, key, value)

  def deleteExperimentTag(experimentId: String, key: String): Unit =
    underlying.deleteExperimentTag(experimentId, key)

  // ---- runs

  def createRun(
      experimentId: String,
      runName: Option[String] = None,
      startTime: Option[Long] = None,
      tags: Map[String, String] = Map.empty): Run =
    Run.fromProto(underlying.createRun(
      experimentId, runName.orNull, startTime.map(Long.box).orNull, tags.asJava))

  def getRun(runId: String): Run = Run.fromProto(underlying.getRun(runId))

  /** Updates whichever of status, end time and name is given. */
  def updateRun(
      runId: String,
      status: Option[RunStatus] = None,
      endTime: Option[Long] = None,
      runName: Option[String] = None): RunInfo =
    RunInfo.fromProto(underlying.updateRun(
      runId, status.map(_.proto).orNull, endTime.map(Long.box).orNull, runName.orNull))

  /** Ends a run with this status, now. */
  def setTerminated(runId: String, status: RunStatus = RunStatus.Finished): RunInfo =
    RunInfo.fromProto(underlying.setTerminated(runId, status.proto))

  def deleteRun(runId: String): Unit = underlying.deleteRun(runId)

  def restoreRun(runId: String): Unit = underlying.restoreRun(runId)

  /**
   * Deletes the experiment's oldest active runs started at or before `maxTimestampMillis`, at
   * most `maxRuns` of them (the server's default and largest, 10,000, when None); how many.
   */
  def deleteRuns(experimentId: String, maxTimestampMillis: Long, maxRuns: Option[Int] = None): Int =
    underlying.deleteRuns(experimentId, maxTimestampMillis, maxRuns.getOrElse(0))

  /** Every run the search finds, fetched page by page (`pageSize` each) as the iterator is read. */
  def searchRuns(
      experimentIds: Seq[String],
      filter: Option[String] = None,
      orderBy: Seq[String] = Nil,
      viewType: ViewType = ViewType.ActiveOnly,
      pageSize: Option[Int] = None): Iterator[Run] =
    underlying.searchRuns(runsRequest(experimentIds, filter, orderBy, viewType, pageSize, None))
      .iterator().asScala.map(Run.fromProto)

  /** One page of a search; its `nextPageToken` asks for the next. */
  def searchRunsPage(
      experimentIds: Seq[String],
      filter: Option[String] = None,
      orderBy: Seq[String] = Nil,
      viewType: ViewType = ViewType.ActiveOnly,
      maxResults: Option[Int] = None,
      pageToken: Option[String] = None): Page[Run] =
    page(underlying.searchRunsPage(
      runsRequest(experimentIds, filter, orderBy, viewType, maxResults, pageToken)))(Run.fromProto)

  private def runsRequest(
      experimentIds: Seq[String],
      filter: Option[String],
      orderBy: Seq[String],
      viewType: ViewType,
      maxResults: Option[Int],
      pageToken: Option[String]): SearchRunsRequest = {
    val request = SearchRunsRequest.newBuilder()
      .addAllExperimentIds(experimentIds.asJava).addAllOrderBy(orderBy.asJava)
      .setRunViewType(viewType.proto)
    filter.foreach(request.setFilter)
    maxResults.foreach(request.setMaxResults)
    pageToken.foreach(request.setPageToken)
    request.build()
  }

  /**
   * Runs `body` in a new run and ends the run [[RunStatus.Finished]] when it returns,
   * [[RunStatus.Failed]] when it throws (the exception propagates).
   */
  def withRun[A](
      experimentId: String,
      runName: Option[String] = None,
      tags: Map[String, String] = Map.empty)(body: ActiveRun => A): A = {
    val run = new ActiveRun(this, createRun(experimentId, runName, tags = tags).runId)
    val result =
      try body(run)
      catch {
        case e: Throwable =>
          try setTerminated(run.runId, RunStatus.Failed)
          catch { case NonFatal(suppressed) => e.addSuppressed(suppressed) }
          throw e
      }
    setTerminated(run.runId, RunStatus.Finished)
    result
  }

  // ---- logging

  /** Logs a param; params are write-once (a different value is refused). */
  def logParam(runId: String, key: String, value: String): Unit = underlying.logParam(runId, key, value)

  /** Logs a metric point; NaN and infinities are valid values. */
  def logMetric(
      runId: String,
      key: String,
      value: Double,
      step: Long = 0L,
      timestamp: Long = System.currentTimeMillis()): Unit =
    underlying.logMetric(runId, key, value, timestamp, step)

  def setTag(runId: String, key: String, value: String): Unit = underlying.setTag(runId, key, value)

  /** Logs params in as few requests as the server's limits allow. */
  def logParams(runId: String, params: Map[String, String]): Unit = underlying.logParams(runId, params.asJava)

  /** Logs one point of each metric at this step, now. */
  def logMetrics(runId: String, values: Map[String, Double], step: Long = 0L): Unit =
    underlying.logMetrics(runId, values.map { case (k, v) => k -> Double.box(v) }.asJava, step)

  /** Sets (or overwrites) run tags in as few requests as the server's limits allow. */
  def setTags(runId: String, tags: Map[String, String]): Unit = underlying.setTags(runId, tags.asJava)

  def deleteTag(runId: String, key: String): Unit = underlying.deleteTag(runId, key)

  /** Logs everything at once, in as many requests as the server's limits require. */
  def logBatch(
      runId: String,
      metrics: Seq[Metric] = Nil,
      params: Map[String, String] = Map.empty,
      tags: Map[String, String] = Map.empty): Unit =
    underlying.logBatch(runId,
      metrics.map(_.toProto).asJava,
      params.map { case (k, v) => pb.Param.newBuilder().setKey(k).setValue(v).build() }.toSeq.asJava,
      tags.map { case (k, v) => pb.RunTag.newBuilder().setKey(k).setValue(v).build() }.toSeq.asJava)

  def logInputs(runId: String, datasets: Seq[DatasetInput]): Unit =
    underlying.logInputs(runId, datasets.map(_.toProto).asJava)

  /** The whole history of a metric, in step order (streamed from the server). */
  def metricHistory(runId: String, key: String): Vector[Metric] =
    underlying.getMetricHistory(runId, key).asScala.map(Metric.fromProto).toVector

  /**
   * A metric of several runs (at most 100) summarised for a chart: the step range (the runs'
   * whole range by default) cut into `buckets` equal buckets (the server's default, 1000, when
   * empty), each keeping its extremes so that no spike is lost.
   */
  def metricBuckets(
      runIds: Seq[String],
      key: String,
      startStep: Option[Long] = None,
      endStep: Option[Long] = None,
      buckets: Option[Int] = None): MetricBuckets = {
    val request = pb.GetMetricBucketsRequest.newBuilder().addAllRunIds(runIds.asJava).setMetricKey(key)
    startStep.foreach(request.setStartStep)
    endStep.foreach(request.setEndStep)
    buckets.foreach(request.setBuckets)
    MetricBuckets.fromProto(underlying.getMetricBuckets(request.build()))
  }

  // ---- artifacts

  /** Uploads a file into a directory of the run's artifacts (the root by default). */
  def logArtifact(runId: String, localFile: Path, artifactDir: String = ""): FileInfo =
    FileInfo.fromProto(underlying.logArtifact(runId, localFile, artifactDir))

  /** Uploads a directory tree into a directory of the run's artifacts (the root by default). */
  def logArtifacts(runId: String, localDir: Path, artifactDir: String = ""): Vector[FileInfo] =
    underlying.logArtifacts(runId, localDir, artifactDir).asScala.map(FileInfo.fromProto).toVector

  /** Uploads a file to exactly `destinationPath` among the run's artifacts. */
  def uploadArtifact(runId: String, localFile: Path, destinationPath: String): FileInfo =
    FileInfo.fromProto(underlying.uploadArtifact(runId, localFile, destinationPath))

  def listArtifacts(runId: String, path: String = ""): Vector[FileInfo] =
    underlying.listArtifacts(runId, path).asScala.map(FileInfo.fromProto).toVector

  def downloadArtifact(runId: String, path: String, localFile: Path): Path =
    underlying.downloadArtifact(runId, path, localFile)

  def downloadArtifacts(runId: String, path: String, localDir: Path): Path =
    underlying.downloadArtifacts(runId, path, localDir)

  /** Deletes a file, or a directory with everything below it, from the run's artifacts. */
  def deleteArtifact(runId: String, path: String): Unit = underlying.deleteArtifact(runId, path)

  // ---- logged models (MLflow 3) ----

  /** Creates a logged model (PENDING until [[finalizeLoggedModel]]). */
  def createLoggedModel(
      experimentId: String,
      name: Option[String] = None,
      sourceRunId: Option[String] = None): LoggedModel =
    LoggedModel.fromProto(
      underlying.createLoggedModel(experimentId, name.orNull, sourceRunId.orNull))

  /** Marks a logged model READY. */
  def finalizeLoggedModel(modelId: String): LoggedModel =
    LoggedModel.fromProto(underlying.finalizeLoggedModel(modelId))

  def getLoggedModel(modelId: String): LoggedModel =
    LoggedModel.fromProto(underlying.getLoggedModel(modelId))

  /** Every logged model of the experiments matching `filter`, fetched page by page. */
  def searchLoggedModels(experimentIds: Seq[String], filter: Option[String] = None): Iterator[LoggedModel] =
    underlying.searchLoggedModels(experimentIds.asJava, filter.orNull)
      .iterator().asScala.map(LoggedModel.fromProto)

  /** One page of a search of logged models; its `nextPageToken` asks for the next. */
  def searchLoggedModelsPage(
      experimentIds: Seq[String],
      filter: Option[String] = None,
      maxResults: Option[Int] = None,
      pageToken: Option[String] = None): Page[LoggedModel] = {
    val request = SearchLoggedModelsRequest.newBuilder().addAllExperimentIds(experimentIds.asJava)
    filter.foreach(request.setFilter)
    maxResults.foreach(n => request.setMaxResults(n))
    pageToken.foreach(request.setPageToken)
    page(underlying.searchLoggedModelsPage(request.build()))(LoggedModel.fromProto)
  }

  /** Uploads a file to exactly `destinationPath` among the model's artifacts. */
  def uploadLoggedModelArtifact(modelId: String, localFile: Path, destinationPath: String): FileInfo =
    FileInfo.fromProto(underlying.uploadLoggedModelArtifact(modelId, localFile, destinationPath))

  def listLoggedModelArtifacts(modelId: String, path: String = ""): Vector[FileInfo] =
    underlying.listLoggedModelArtifacts(modelId, path).asScala.map(FileInfo.fromProto).toVector

  def downloadLoggedModelArtifact(modelId: String, path: String, localFile: Path): Path =
    underlying.downloadLoggedModelArtifact(modelId, path, localFile)

  def downloadLoggedModelArtifacts(modelId: String, path: String, localDir: Path): Path =
    underlying.downloadLoggedModelArtifacts(modelId, path, localDir)

  /** Shuts the connection down. */
  override def close(): Unit = underlying.close()

  private def page[P, A](javaPage: io.trackwire.client.Page[P])(convert: P => A): Page[A] =
    Page(javaPage.items.asScala.map(convert).toVector, javaPage.nextPageToken.toScala)
}

object Trackwire {

  /**
   * Connects to `grpc://host[:port]`, `grpcs://...`, `http://host[:port]` or `https://...` (the
   * server's MLflow REST API); by default with the token in `TRACKWIRE_TOKEN` (else
   * `MLFLOW_TRACKING_TOKEN`) and, for TLS, the CA certificates in `TRACKWIRE_CA_CERT` (else the
   * system's).
   */
  def apply(
      trackingUri: String,
      token: Option[String] = env(TrackwireClient.TOKEN_ENV).orElse(env(TrackwireClient.MLFLOW_TOKEN_ENV)),
      caCertificates: Option[Path] = env(TrackwireClient.CA_CERT_ENV).map(Path.of(_))): Trackwire =
    new Trackwire(TrackwireClient.connect(trackingUri, token.orNull, caCertificates.orNull))

  /**
   * Connects as the environment says: `TRACKWIRE_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else
   * `http://127.0.0.1:5000`; tokens and CA certificates as in [[apply]].
   */
  def fromEnvironment(): Trackwire = new Trackwire(TrackwireClient.fromEnvironment())

  /** The short names of the RPCs the client sends again when their answer is lost, sorted. */
  def retryableRpcs: Seq[String] = TrackwireClient.retryableRpcs().asScala.toSeq

  private def env(name: String): Option[String] = sys.env.get(name).filter(_.nonEmpty)
}
