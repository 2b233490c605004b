package io.trackwire.scala

import io.trackwire.client.{AlreadyExistsException, InvalidArgumentException, NotFoundException, TrackwireServer}
import java.nio.file.Files
import java.util.UUID
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/** The Scala client against a real server process, over gRPC and over HTTP. */
abstract class TrackwireSpec(http: Boolean) extends AnyFunSuite with BeforeAndAfterAll {
  private var server: TrackwireServer = _
  private var tw: Trackwire = _

  override def beforeAll(): Unit = {
    server = TrackwireServer.start()
    tw = Trackwire(if (http) server.httpUri() else server.grpcUri(), token = None)
  }

  override def afterAll(): Unit = {
    tw.close()
    server.close()
  }

  private def unique(prefix: String) = s"$prefix-${UUID.randomUUID()}"

  test("registered models and versions come back as case classes") {
    val name = s"model-${UUID.randomUUID()}"
    val runId = tw.createRun(tw.createExperiment(s"$name-exp")).info.runId
    tw.createRegisteredModel(name)
    val first = tw.createModelVersion(name, s"runs:/$runId/model", Some(runId))
    assert(first.version == "1" && first.runId.contains(runId) && first.currentStage == "None")
    assert(tw.getRegisteredModel(name).latestVersions.map(_.version) == Seq("1"))
    assert(tw.searchRegisteredModels(Some(s"name = '$name'")).map(_.name).toList == List(name))
    assert(tw.searchModelVersions(Some(s"run_id = '$runId'")).map(_.version).toList == List("1"))
    assert(tw.getModelVersion(name, "1").source == s"runs:/$runId/model")
    assert(tw.getModelVersionByAlias(name, "champion").isEmpty)
  }

  test("experiments come back as case classes; a missing name is None") {
    val name = unique("exp")
    val id = tw.createExperiment(name, tags = Map("team" -> "ml"))
    val experiment = tw.getExperiment(id)
    assert(experiment.name == name)
    assert(experiment.tags == Map("team" -> "ml"))
    assert(tw.getExperimentByName(name).map(_.experimentId).contains(id))
    assert(tw.getExperimentByName(unique("missing")).isEmpty)
    assertThrows[AlreadyExistsException](tw.createExperiment(name))

    tw.deleteExperiment(id)
    val deleted = tw.searchExperiments(filter = Some(s"name = '$name'"), viewType = ViewType.DeletedOnly)
    assert(deleted.map(_.experimentId).toVector == Vector(id))
    assert(tw.getOrCreateExperiment(name) == id)
    tw.restoreExperiment(id)
    assert(tw.getExperiment(id).lifecycleStage == "active")
  }

  test("deleteRuns deletes the oldest runs up to the time and count") {
    val experimentId = tw.createExperiment(unique("bulk"))
    val runIds = (1L to 3L).map(t => tw.createRun(experimentId, startTime = Some(t)).runId)
    assert(tw.deleteRuns(experimentId, maxTimestampMillis = 2L, maxRuns = Some(1)) == 1)
    assert(tw.deleteRuns(experimentId, maxTimestampMillis = 2L) == 1)
    assert(tw.searchRuns(Seq(experimentId)).map(_.runId).toVector == Vector(runIds(2)))
    assertThrows[NotFoundException](tw.deleteRuns("987654321", 1L))
  }

  test("withRun ends the run Finished and returns the body's value") {
    val experimentId = tw.createExperiment(unique("ok"))
    val runId = tw.withRun(experimentId, runName = Some("train")) { run =>
      run.logParams(Map("lr" -> "0.01", "depth" -> "3"))
      run.logMetrics(Map("acc" -> 0.9, "loss" -> Double.PositiveInfinity), step = 1)
      run.setTag("note", "x")
      run.setTags(Map("team" -> "ml"))
      run.runId
    }
    val run = tw.getRun(runId)
    assert(run.info.status == RunStatus.Finished)
    assert(run.info.endTime.isDefined)
    assert(run.info.runName == "train")
    assert(run.params == Map("lr" -> "0.01", "depth" -> "3"))
    assert(run.metrics("acc").value == 0.9)
    assert(run.metrics("loss").value.isPosInfinity)
    assert(run.tags.get("note").contains("x"))
    assert(run.tags.get("team").contains("ml"))
  }

  test("withRun ends the run Failed when the body throws, and rethrows") {
    val experimentId = tw.createExperiment(unique("fail"))
    var runId = ""
    val thrown = intercept[IllegalStateException] {
      tw.withRun(experimentId) { run =>
        runId = run.runId
        throw new IllegalStateException("diverged")
      }
    }
    assert(thrown.getMessage == "diverged")
    assert(tw.getRun(runId).info.status == RunStatus.Failed)
  }

  test("batches larger than one request, history and paging") {
    val experimentId = tw.createExperiment(unique("batch"))
    val runId = tw.createRun(experimentId).runId
    val points = (0 until 2300).map(i => Metric("m", i.toDouble, timestamp = i.toLong, step = i.toLong))
    tw.logBatch(runId, metrics = points, params = (0 until 150).map(i => s"p$i" -> "v").toMap)
    assert(tw.metricHistory(runId, "m").map(_.step) == (0L until 2300L).toVector)
    assert(tw.getRun(runId).params.size == 150)
    val err = intercept[InvalidArgumentException](tw.logParam(runId, "p1", "other"))
    assert(err.getMessage.contains("p1"))

    (1 to 3).foreach(_ => tw.createRun(experimentId))
    val first = tw.searchRunsPage(Seq(experimentId), maxResults = Some(3), orderBy = Seq("start_time DESC"))
    assert(first.items.size == 3 && first.nextPageToken.isDefined)
    val second = tw.searchRunsPage(Seq(experimentId), maxResults = Some(3), orderBy = Seq("start_time DESC"),
      pageToken = first.nextPageToken)
    assert(second.items.size == 1 && second.nextPageToken.isEmpty)
    assert((first.items ++ second.items).map(_.runId).distinct.size == 4)
    val all = tw.searchRuns(Seq(experimentId), orderBy = Seq("start_time DESC"), pageSize = Some(3))
    assert(all.map(_.runId).toVector == (first.items ++ second.items).map(_.runId))
  }

  test("metric buckets keep a spike, zoom in, and name every run asked for") {
    val experimentId = tw.createExperiment(unique("buckets"))
    val runId = tw.createRun(experimentId).runId
    val emptyRunId = tw.createRun(experimentId).runId
    val points = (0 until 1000).map(i =>
      Metric("loss", if (i == 737) 1e6 else -i.toDouble, timestamp = 1000L + i, step = i.toLong))
    tw.logBatch(runId, metrics = points)

    val whole = tw.metricBuckets(Seq(runId, emptyRunId), "loss", buckets = Some(10))
    assert((whole.startStep, whole.endStep, whole.bucketWidth) == ((0L, 999L, 100L)))
    assert(whole.runs.map(_.runId) == Vector(runId, emptyRunId))
    assert(whole.runs(0).buckets.size == 10 && whole.runs(1).buckets.isEmpty)
    assert(whole.runs(0).buckets(7) ==
      MetricBucket(700L, 799L, 1700L, 1799L, lastValue = -799.0, minValue = -799.0, maxValue = 1e6, 100L))

    val zoomed = tw.metricBuckets(Seq(runId), "loss", startStep = Some(730L), endStep = Some(739L),
      buckets = Some(100))
    assert(zoomed.bucketWidth == 1L && zoomed.runs(0).buckets.map(_.lastValue)(7) == 1e6)
    assertThrows[NotFoundException](tw.metricBuckets(Seq("no-such-run"), "loss"))
  }

  test("artifacts upload, list and download") {
    val runId = tw.createRun(tw.createExperiment(unique("art"))).runId
    val dir = Files.createTempDirectory("trackwire-scala-")
    val file = Files.writeString(dir.resolve("notes.txt"), "hello")
    assert(tw.logArtifact(runId, file, "docs") == FileInfo("docs/notes.txt", isDir = false, Some(5L)))
    assert(tw.listArtifacts(runId) == Vector(FileInfo("docs", isDir = true, None)))
    val back = tw.downloadArtifact(runId, "docs/notes.txt", dir.resolve("back.txt"))
    assert(Files.readString(back) == "hello")
  }
}

class GrpcTrackwireSpec extends TrackwireSpec(http = false)

class HttpTrackwireSpec extends TrackwireSpec(http = true)
