package io.trackwire.conformance

import io.trackwire.scala._
import java.nio.file.Files
import scala.jdk.CollectionConverters._

/** The Scala conformance testee: each action is one call of [[io.trackwire.scala.Trackwire]]. */
object ScalaTestee {

  def main(args: Array[String]): Unit =
    new TesteeLoop[Trackwire](uri => Trackwire(uri, token = None), perform(_, _, _)).run()

  private def perform(tw: Trackwire, action: String, a: Args): AnyRef = action match {
    case "create_experiment" =>
      obj("experiment_id" -> tw.createExperiment(a.str("name"), opt(a, "artifact_location"), strMap(a, "tags")))
    case "get_experiment" => experiment(tw.getExperiment(a.str("experiment_id")))
    case "get_experiment_by_name" =>
      tw.getExperimentByName(a.str("name")).map(experiment).getOrElse(
        throw new io.trackwire.client.NotFoundException(s"No experiment named '${a.str("name")}'"))
    case "search_experiments" =>
      val page = tw.searchExperimentsPage(opt(a, "filter"), strList(a, "order_by"), viewType(a),
        long(a, "max_results"), opt(a, "page_token"))
      obj("experiments" -> page.items.map(experiment).asJava,
        "next_page_token" -> page.nextPageToken.getOrElse(""))
    case "rename_experiment" => done(tw.renameExperiment(a.str("experiment_id"), a.str("new_name")))
    case "delete_experiment" => done(tw.deleteExperiment(a.str("experiment_id")))
    case "restore_experiment" => done(tw.restoreExperiment(a.str("experiment_id")))
    case "set_experiment_tag" =>
      done(tw.setExperimentTag(a.str("experiment_id"), a.str("key"), a.str("value")))
    case "delete_experiment_tag" => done(tw.deleteExperimentTag(a.str("experiment_id"), a.str("key")))
    case "create_run" =>
      run(tw.createRun(a.str("experiment_id"), opt(a, "run_name"), long(a, "start_time"), strMap(a, "tags")))
    case "get_run" => run(tw.getRun(a.str("run_id")))
    case "update_run" =>
      val status = opt(a, "status").map(s => RunStatus.values.find(_.toString.toUpperCase == s).getOrElse(
        throw new IllegalArgumentException(s"unknown status $s")))
      done(tw.updateRun(a.str("run_id"), status, long(a, "end_time"), opt(a, "run_name")))
    case "delete_run" => done(tw.deleteRun(a.str("run_id")))
    case "restore_run" => done(tw.restoreRun(a.str("run_id")))
    case "delete_runs" =>
      val deleted = tw.deleteRuns(a.str("experiment_id"), a.optLong("max_timestamp_millis"),
        long(a, "max_runs").map(_.toInt))
      obj("runs_deleted" -> deleted)
    case "log_param" => done(tw.logParam(a.str("run_id"), a.str("key"), a.str("value")))
    case "log_metric" =>
      done(tw.logMetric(a.str("run_id"), a.str("key"), a.dbl("value"), long(a, "step").getOrElse(0L),
        long(a, "timestamp").getOrElse(System.currentTimeMillis())))
    case "set_tag" => done(tw.setTag(a.str("run_id"), a.str("key"), a.str("value")))
    case "delete_tag" => done(tw.deleteTag(a.str("run_id"), a.str("key")))
    case "log_batch" =>
      val now = System.currentTimeMillis()
      val metrics = a.objects("metrics").asScala.toSeq.map(m =>
        Metric(m.str("key"), m.dbl("value"), long(m, "timestamp").getOrElse(now), long(m, "step").getOrElse(0L)))
      done(tw.logBatch(a.str("run_id"), metrics, strMap(a, "params"), strMap(a, "tags")))
    case "log_inputs" =>
      val datasets = a.objects("datasets").asScala.toSeq.map(d =>
        DatasetInput(d.str("name"), d.str("digest"), d.str("source_type"), d.str("source"),
          opt(d, "schema"), opt(d, "profile"), strMap(d, "tags")))
      done(tw.logInputs(a.str("run_id"), datasets))
    case "get_metric_history" =>
      obj("metrics" -> tw.metricHistory(a.str("run_id"), a.str("key")).map(point).asJava)
    case "get_metric_buckets" =>
      val found = tw.metricBuckets(strList(a, "run_ids"), a.str("key"), long(a, "start_step"),
        long(a, "end_step"), long(a, "buckets").map(_.toInt))
      obj("start_step" -> box(found.startStep), "end_step" -> box(found.endStep),
        "bucket_width" -> box(found.bucketWidth),
        "runs" -> found.runs.map(r => obj("run_id" -> r.runId, "buckets" -> r.buckets.map(bucket).asJava)).asJava)
    case "search_runs" =>
      val page = tw.searchRunsPage(strList(a, "experiment_ids"), opt(a, "filter"), strList(a, "order_by"),
        viewType(a), long(a, "max_results").map(_.toInt), opt(a, "page_token"))
      obj("runs" -> page.items.map(run).asJava, "next_page_token" -> page.nextPageToken.getOrElse(""))
    case "log_artifact" =>
      val dir = Files.createTempDirectory("trackwire-testee-")
      val file = Files.writeString(dir.resolve("content"), a.str("content"))
      try done(tw.uploadArtifact(a.str("run_id"), file, a.str("path")))
      finally { Files.delete(file); Files.delete(dir) }
    case "list_artifacts" =>
      obj("files" -> tw.listArtifacts(a.str("run_id"), opt(a, "path").getOrElse("")).map(fileInfo).asJava)
    case "download_artifact" =>
      val dir = Files.createTempDirectory("trackwire-testee-")
      val file = dir.resolve("content")
      try {
        tw.downloadArtifact(a.str("run_id"), a.str("path"), file)
        obj("content" -> Files.readString(file))
      } finally { Files.deleteIfExists(file); Files.delete(dir) }
    case "delete_artifact" => done(tw.deleteArtifact(a.str("run_id"), a.str("path")))
    case "create_registered_model" => registeredModel(tw.createRegisteredModel(a.str("name")))
    case "get_registered_model" => registeredModel(tw.getRegisteredModel(a.str("name")))
    case "search_registered_models" =>
      obj("registered_models" -> tw.searchRegisteredModels(opt(a, "filter")).map(registeredModel).toList.asJava)
    case "create_model_version" =>
      modelVersion(tw.createModelVersion(a.str("name"), a.str("source"), opt(a, "run_id")))
    case "get_model_version" => modelVersion(tw.getModelVersion(a.str("name"), a.str("version")))
    case "search_model_versions" =>
      obj("model_versions" -> tw.searchModelVersions(opt(a, "filter")).map(modelVersion).toList.asJava)
    case "create_logged_model" =>
      loggedModel(tw.createLoggedModel(a.str("experiment_id"), opt(a, "name"), opt(a, "source_run_id")))
    case "finalize_logged_model" => loggedModel(tw.finalizeLoggedModel(a.str("model_id")))
    case "get_logged_model" => loggedModel(tw.getLoggedModel(a.str("model_id")))
    case "search_logged_models" =>
      val page = tw.searchLoggedModelsPage(strList(a, "experiment_ids"), opt(a, "filter"),
        long(a, "max_results").map(_.toInt), opt(a, "page_token"))
      obj("models" -> page.items.map(loggedModel).asJava, "next_page_token" -> page.nextPageToken.getOrElse(""))
    case "log_logged_model_artifact" =>
      val dir = Files.createTempDirectory("trackwire-testee-")
      val file = Files.writeString(dir.resolve("content"), a.str("content"))
      try done(tw.uploadLoggedModelArtifact(a.str("model_id"), file, a.str("path")))
      finally { Files.delete(file); Files.delete(dir) }
    case "list_logged_model_artifacts" =>
      obj("files" -> tw.listLoggedModelArtifacts(a.str("model_id"), opt(a, "path").getOrElse(""))
        .map(fileInfo).asJava)
    case "download_logged_model_artifact" =>
      val dir = Files.createTempDirectory("trackwire-testee-")
      val file = dir.resolve("content")
      try {
        tw.downloadLoggedModelArtifact(a.str("model_id"), a.str("path"), file)
        obj("content" -> Files.readString(file))
      } finally { Files.deleteIfExists(file); Files.delete(dir) }
    case "retryable_rpcs" => obj("rpcs" -> Trackwire.retryableRpcs.asJava)
    case other => throw new IllegalArgumentException(s"the scala testee does not know the action $other")
  }

  // ---- argument conversions

  private def opt(a: Args, name: String): Option[String] = Option(a.optStr(name))
  private def long(a: Args, name: String): Option[Long] = Option(a.optLong(name)).map(_.longValue)
  private def strMap(a: Args, name: String): Map[String, String] = a.strMap(name).asScala.toMap
  private def strList(a: Args, name: String): Seq[String] = a.strList(name).asScala.toSeq

  private def viewType(a: Args): ViewType = opt(a, "view_type") match {
    case None | Some("ACTIVE_ONLY") => ViewType.ActiveOnly
    case Some("DELETED_ONLY") => ViewType.DeletedOnly
    case Some("ALL") => ViewType.All
    case Some(other) => throw new IllegalArgumentException(s"unknown view type $other")
  }

  // ---- result shapes (see tests/conformance/README.md)

  private def done(unit: Any): AnyRef = obj()

  private def obj(entries: (String, Any)*): java.util.Map[String, Any] = {
    val map = new java.util.LinkedHashMap[String, Any]()
    entries.foreach { case (k, v) => map.put(k, v) }
    map
  }

  private def box(value: Long): java.lang.Long = Long.box(value)

  private def experiment(e: Experiment): AnyRef = obj(
    "experiment_id" -> e.experimentId, "name" -> e.name, "artifact_location" -> e.artifactLocation,
    "lifecycle_stage" -> e.lifecycleStage, "creation_time" -> box(e.creationTime),
    "last_update_time" -> box(e.lastUpdateTime), "tags" -> e.tags.asJava)

  private def registeredModel(m: RegisteredModel): AnyRef = obj(
    "name" -> m.name, "description" -> m.description, "tags" -> m.tags.asJava,
    "aliases" -> m.aliases.asJava, "latest_versions" -> m.latestVersions.map(modelVersion).asJava)

  private def modelVersion(v: ModelVersion): AnyRef = obj(
    "name" -> v.name, "version" -> v.version, "current_stage" -> v.currentStage,
    "source" -> v.source, "run_id" -> v.runId.getOrElse(""), "status" -> v.status)

  private def run(r: Run): AnyRef = {
    val shape = obj(
      "run_id" -> r.info.runId, "experiment_id" -> r.info.experimentId, "run_name" -> r.info.runName,
      "user_id" -> r.info.userId, "status" -> r.info.status.toString.toUpperCase,
      "start_time" -> box(r.info.startTime), "artifact_uri" -> r.info.artifactUri,
      "lifecycle_stage" -> r.info.lifecycleStage,
      "metrics" -> r.metrics.map { case (k, m) => k -> Double.box(m.value) }.asJava,
      "params" -> r.params.asJava, "tags" -> r.tags.asJava,
      "inputs" -> r.inputs.map(d => obj("name" -> d.name, "digest" -> d.digest,
        "source_type" -> d.sourceType, "source" -> d.source, "tags" -> d.tags.asJava)).asJava)
    r.info.endTime.foreach(t => shape.put("end_time", box(t)))
    shape
  }

  private def loggedModel(m: LoggedModel): AnyRef = obj(
    "model_id" -> m.modelId, "experiment_id" -> m.experimentId, "name" -> m.name,
    "source_run_id" -> m.sourceRunId.getOrElse(""), "status" -> m.status,
    "artifact_uri" -> m.artifactUri, "params" -> m.params.asJava, "tags" -> m.tags.asJava)

  private def point(m: Metric): AnyRef = obj(
    "key" -> m.key, "value" -> Double.box(m.value), "step" -> box(m.step), "timestamp" -> box(m.timestamp))

  private def bucket(b: MetricBucket): AnyRef = obj(
    "first_step" -> box(b.firstStep), "last_step" -> box(b.lastStep),
    "first_timestamp" -> box(b.firstTimestamp), "last_timestamp" -> box(b.lastTimestamp),
    "last_value" -> Double.box(b.lastValue), "min_value" -> Double.box(b.minValue),
    "max_value" -> Double.box(b.maxValue), "count" -> box(b.count))

  private def fileInfo(f: FileInfo): AnyRef = {
    val shape = obj("path" -> f.path, "is_dir" -> Boolean.box(f.isDir))
    f.fileSize.foreach(s => shape.put("file_size", box(s)))
    shape
  }
}
