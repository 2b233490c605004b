package io.trackwire.scala

import scala.jdk.CollectionConverters._
import io.trackwire.{v1 => pb}

/** The state of a run. */
sealed abstract class RunStatus(private[scala] val proto: pb.RunStatus)

object RunStatus {
  case object Running extends RunStatus(pb.RunStatus.RUN_STATUS_RUNNING)
  case object Scheduled extends RunStatus(pb.RunStatus.RUN_STATUS_SCHEDULED)
  case object Finished extends RunStatus(pb.RunStatus.RUN_STATUS_FINISHED)
  case object Failed extends RunStatus(pb.RunStatus.RUN_STATUS_FAILED)
  case object Killed extends RunStatus(pb.RunStatus.RUN_STATUS_KILLED)

  val values: Seq[RunStatus] = Seq(Running, Scheduled, Finished, Failed, Killed)

  private[scala] def fromProto(status: pb.RunStatus): RunStatus =
    values.find(_.proto == status).getOrElse(
      throw new IllegalArgumentException(s"unknown run status $status"))
}

/** Which lifecycle stages a search includes. */
sealed abstract class ViewType(private[scala] val proto: pb.ViewType)

object ViewType {
  case object ActiveOnly extends ViewType(pb.ViewType.VIEW_TYPE_ACTIVE_ONLY)
  case object DeletedOnly extends ViewType(pb.ViewType.VIEW_TYPE_DELETED_ONLY)
  case object All extends ViewType(pb.ViewType.VIEW_TYPE_ALL)
}

/** An experiment; times are milliseconds since the epoch. */
final case class Experiment(
    experimentId: String,
    name: String,
    artifactLocation: String,
    lifecycleStage: String,
    creationTime: Long,
    lastUpdateTime: Long,
    tags: Map[String, String])

object Experiment {
  private[scala] def fromProto(e: pb.Experiment): Experiment =
    Experiment(e.getExperimentId, e.getName, e.getArtifactLocation, e.getLifecycleStage,
      e.getCreationTime, e.getLastUpdateTime,
      e.getTagsList.asScala.map(t => t.getKey -> t.getValue).toMap)
}

/** One metric observation. */
final case class Metric(key: String, value: Double, timestamp: Long, step: Long = 0L) {
  private[scala] def toProto: pb.Metric =
    pb.Metric.newBuilder().setKey(key).setValue(value).setTimestamp(timestamp).setStep(step).build()
}

object Metric {
  private[scala] def fromProto(m: pb.Metric): Metric = Metric(m.getKey, m.getValue, m.getTimestamp, m.getStep)
}

/**
 * The points of one run's metric whose steps fall in one bucket: first and last step and
 * timestamp, the value at the last step, the extremes (NaN points aside) and the count.
 */
final case class MetricBucket(
    firstStep: Long,
    lastStep: Long,
    firstTimestamp: Long,
    lastTimestamp: Long,
    lastValue: Double,
    minValue: Double,
    maxValue: Double,
    count: Long)

object MetricBucket {
  private[scala] def fromProto(b: pb.MetricBucket): MetricBucket =
    MetricBucket(b.getFirstStep, b.getLastStep, b.getFirstTimestamp, b.getLastTimestamp,
      b.getLastValue, b.getMinValue, b.getMaxValue, b.getCount)
}

/** The non-empty buckets of one run, in step order. */
final case class RunMetricBuckets(runId: String, buckets: Vector[MetricBucket])

/**
 * A metric of several runs summarised per bucket of steps: the step range `startStep` to
 * `endStep` cut into buckets of `bucketWidth` steps; `runs` in the order they were asked for.
 */
final case class MetricBuckets(
    startStep: Long,
    endStep: Long,
    bucketWidth: Long,
    runs: Vector[RunMetricBuckets])

object MetricBuckets {
  private[scala] def fromProto(r: pb.GetMetricBucketsResponse): MetricBuckets =
    MetricBuckets(r.getStartStep, r.getEndStep, r.getBucketWidth,
      r.getRunsList.asScala.map(run =>
        RunMetricBuckets(run.getRunId, run.getBucketsList.asScala.map(MetricBucket.fromProto).toVector)).toVector)
}

/** Metadata of a run; `endTime` is empty while it is active. */
final case class RunInfo(
    runId: String,
    experimentId: String,
    runName: String,
    userId: String,
    status: RunStatus,
    startTime: Long,
    endTime: Option[Long],
    artifactUri: String,
    lifecycleStage: String)

object RunInfo {
  private[scala] def fromProto(i: pb.RunInfo): RunInfo =
    RunInfo(i.getRunId, i.getExperimentId, i.getRunName, i.getUserId,
      RunStatus.fromProto(i.getStatus), i.getStartTime,
      if (i.hasEndTime) Some(i.getEndTime) else None, i.getArtifactUri, i.getLifecycleStage)
}

/** A dataset used by a run. */
final case class DatasetInput(
    name: String,
    digest: String,
    sourceType: String,
    source: String,
    schema: Option[String] = None,
    profile: Option[String] = None,
    tags: Map[String, String] = Map.empty) {
  private[scala] def toProto: pb.DatasetInput = {
    val dataset = pb.Dataset.newBuilder().setName(name).setDigest(digest)
      .setSourceType(sourceType).setSource(source)
    schema.foreach(dataset.setSchema)
    profile.foreach(dataset.setProfile)
    val input = pb.DatasetInput.newBuilder().setDataset(dataset)
    tags.foreach { case (k, v) => input.addTags(pb.InputTag.newBuilder().setKey(k).setValue(v)) }
    input.build()
  }
}

object DatasetInput {
  private[scala] def fromProto(d: pb.DatasetInput): DatasetInput = {
    val ds = d.getDataset
    DatasetInput(ds.getName, ds.getDigest, ds.getSourceType, ds.getSource,
      Option(ds.getSchema).filter(_.nonEmpty), Option(ds.getProfile).filter(_.nonEmpty),
      d.getTagsList.asScala.map(t => t.getKey -> t.getValue).toMap)
  }
}

/** A run: metadata, the latest value of each metric, params, tags and dataset inputs. */
final case class Run(
    info: RunInfo,
    metrics: Map[String, Metric],
    params: Map[String, String],
    tags: Map[String, String],
    inputs: Seq[DatasetInput]) {
  def runId: String = info.runId
}

object Run {
  private[scala] def fromProto(r: pb.Run): Run =
    Run(RunInfo.fromProto(r.getInfo),
      r.getData.getMetricsList.asScala.map(m => m.getKey -> Metric.fromProto(m)).toMap,
      r.getData.getParamsList.asScala.map(p => p.getKey -> p.getValue).toMap,
      r.getData.getTagsList.asScala.map(t => t.getKey -> t.getValue).toMap,
      r.getInputs.getDatasetInputsList.asScala.map(DatasetInput.fromProto).toVector)
}

/** A file or directory among a run's artifacts; `fileSize` is empty for directories. */
final case class FileInfo(path: String, isDir: Boolean, fileSize: Option[Long])

object FileInfo {
  private[scala] def fromProto(f: pb.FileInfo): FileInfo =
    FileInfo(f.getPath, f.getIsDir, if (f.hasFileSize) Some(f.getFileSize) else None)
}

/** One page of search results; pass `nextPageToken` to the same search for the next one. */
final case class Page[A](items: Vector[A], nextPageToken: Option[String])

/** An MLflow 3 logged model; `status` is "PENDING", "READY" or "UPLOAD_FAILED". */
final case class LoggedModel(
    modelId: String,
    experimentId: String,
    name: String,
    sourceRunId: Option[String],
    status: String,
    artifactUri: String,
    params: Map[String, String],
    tags: Map[String, String],
    metrics: Vector[Metric])

object LoggedModel {
  private[scala] def fromProto(m: pb.LoggedModel): LoggedModel = {
    val info = m.getInfo
    LoggedModel(info.getModelId, info.getExperimentId, info.getName,
      Option(info.getSourceRunId).filter(_.nonEmpty),
      info.getStatus.name.stripPrefix("LOGGED_MODEL_STATUS_LOGGED_MODEL_"), info.getArtifactUri,
      m.getData.getParamsList.asScala.map(p => p.getKey -> p.getValue).toMap,
      info.getTagsList.asScala.map(t => t.getKey -> t.getValue).toMap,
      m.getData.getMetricsList.asScala.map(Metric.fromProto).toVector)
  }
}
