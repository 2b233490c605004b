package io.trackwire.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.trackwire.v1.Experiment;
import io.trackwire.v1.FileInfo;
import io.trackwire.v1.GetMetricBucketsRequest;
import io.trackwire.v1.GetMetricBucketsResponse;
import io.trackwire.v1.Metric;
import io.trackwire.v1.MetricBucket;
import io.trackwire.v1.ModelVersion;
import io.trackwire.v1.ModelVersionStatus;
import io.trackwire.v1.Param;
import io.trackwire.v1.RegisteredModel;
import io.trackwire.v1.Run;
import io.trackwire.v1.RunStatus;
import io.trackwire.v1.RunTag;
import io.trackwire.v1.SearchRunsRequest;
import io.trackwire.v1.ViewType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client against a real server process, over each transport (see {@link GrpcClientTest}
 * and {@link HttpClientTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TrackwireClientTest {
  private TrackwireServer server;
  private TrackwireClient client;

  /** The URI of the server for the transport under test. */
  abstract String trackingUri(TrackwireServer server);

  @BeforeAll
  void startServer() {
    server = TrackwireServer.start();
    client = TrackwireClient.connect(trackingUri(server), null);
  }

  @AfterAll
  void stopServer() throws InterruptedException {
    client.close();
    server.close();
  }

  private static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID();
  }

  @Test
  void registeredModelsAreListedSearchedAndFetched() {
    String name = unique("model");
    String runId = client.createRun(client.createExperiment(unique("exp"))).getInfo().getRunId();
    client.createRegisteredModel(name);
    ModelVersion first = client.createModelVersion(name, "runs:/" + runId + "/model", runId);
    client.createModelVersion(name, "runs:/" + runId + "/model", runId);

    assertEquals("1", first.getVersion());
    assertEquals(ModelVersionStatus.MODEL_VERSION_STATUS_READY, first.getStatus());
    assertEquals(name, client.getRegisteredModel(name).getName());
    assertEquals(runId, client.getModelVersion(name, "2").getRunId());
    assertEquals(List.of("2"), client.getLatestVersions(name).stream()
        .map(ModelVersion::getVersion).collect(Collectors.toList()));
    assertEquals(List.of(name), client.searchRegisteredModels("name = '" + name + "'")
        .map(RegisteredModel::getName).collect(Collectors.toList()));
    assertEquals(2, client.searchModelVersions("name = '" + name + "'").count());
    assertThrows(NotFoundException.class, () -> client.getModelVersion(name, "3"));
    // MLflow answers INVALID_PARAMETER_VALUE for an alias that names no version.
    assertThrows(InvalidArgumentException.class, () -> client.getModelVersionByAlias(name, "champion"));
  }

  @Test
  void experimentLifecycle() {
    String name = unique("exp");
    String id = client.createExperiment(name, null, Map.of("team", "ml"));

    Experiment byId = client.getExperiment(id);
    assertEquals(name, byId.getName());
    assertEquals("active", byId.getLifecycleStage());
    assertEquals(id, client.getExperimentByName(name).orElseThrow().getExperimentId());
    assertEquals(Optional.empty(), client.getExperimentByName(unique("missing")));

    String renamed = unique("renamed");
    client.renameExperiment(id, renamed);
    client.setExperimentTag(id, "stage", "dev");
    client.deleteExperimentTag(id, "team");
    Experiment updated = client.getExperiment(id);
    assertEquals(renamed, updated.getName());
    assertEquals(Map.of("stage", "dev"), updated.getTagsList().stream()
        .collect(Collectors.toMap(t -> t.getKey(), t -> t.getValue())));

    assertEquals(List.of(id), client.searchExperiments("name = '" + renamed + "'")
        .map(Experiment::getExperimentId).toList());

    client.deleteExperiment(id);
    assertEquals("deleted", client.getExperiment(id).getLifecycleStage());
    assertEquals(0, client.searchExperiments("name = '" + renamed + "'").count());
    client.restoreExperiment(id);
    assertEquals("active", client.getExperiment(id).getLifecycleStage());
  }

  @Test
  void errorsCarryTheServersMessage() {
    String name = unique("dup");
    client.createExperiment(name);
    AlreadyExistsException duplicate =
        assertThrows(AlreadyExistsException.class, () -> client.createExperiment(name));
    assertTrue(duplicate.getMessage().contains(name), duplicate.getMessage());

    assertThrows(NotFoundException.class, () -> client.getExperiment("987654321"));
    assertThrows(NotFoundException.class, () -> client.getRun("0123456789abcdef0123456789abcdef"));

    String runId = client.createRun(client.createExperiment(unique("errors"))).getInfo().getRunId();
    client.logParam(runId, "lr", "0.1");
    InvalidArgumentException overwrite =
        assertThrows(InvalidArgumentException.class, () -> client.logParam(runId, "lr", "0.2"));
    assertTrue(overwrite.getMessage().contains("lr"), overwrite.getMessage());
    assertTrue(overwrite instanceof TrackwireException);
  }

  @Test
  void deleteRunsDeletesTheOldestUpToTheTimeAndCount() {
    String experimentId = client.createExperiment(unique("bulk"));
    List<String> runIds = new ArrayList<>();
    for (long startTime = 1; startTime <= 4; startTime++) {
      runIds.add(client.createRun(experimentId, null, startTime, Map.of()).getInfo().getRunId());
    }
    assertEquals(2, client.deleteRuns(experimentId, 3, 2));
    assertEquals(1, client.deleteRuns(experimentId, 3, 0));
    assertEquals(List.of(runIds.get(3)), client.searchRuns(List.of(experimentId), null)
        .map(r -> r.getInfo().getRunId()).toList());
    assertEquals("deleted", client.getRun(runIds.get(0)).getInfo().getLifecycleStage());

    assertThrows(NotFoundException.class, () -> client.deleteRuns("987654321", 1, 0));
    InvalidArgumentException missingTime =
        assertThrows(InvalidArgumentException.class, () -> client.deleteRuns(experimentId, 0, 0));
    assertTrue(missingTime.getMessage().contains("max_timestamp_millis"), missingTime.getMessage());
  }

  @Test
  void runLifecycleAndLogging() {
    String experimentId = client.createExperiment(unique("runs"));
    Run created = client.createRun(experimentId, "first", 1_000L, Map.of("origin", "test"));
    String runId = created.getInfo().getRunId();
    assertEquals(RunStatus.RUN_STATUS_RUNNING, created.getInfo().getStatus());
    assertEquals("first", created.getInfo().getRunName());

    client.logParam(runId, "lr", "0.01");
    client.logMetric(runId, "loss", 0.5, 2_000L, 1);
    client.logMetric(runId, "loss", Double.NaN, 3_000L, 2);
    client.setTag(runId, "note", "x");
    client.setTag(runId, "gone", "y");
    client.deleteTag(runId, "gone");

    Run run = client.getRun(runId);
    assertEquals("0.01", run.getData().getParams(0).getValue());
    assertTrue(Double.isNaN(run.getData().getMetrics(0).getValue()), "latest loss is NaN");
    Map<String, String> tags = run.getData().getTagsList().stream()
        .collect(Collectors.toMap(RunTag::getKey, RunTag::getValue));
    assertEquals("x", tags.get("note"));
    assertEquals("test", tags.get("origin"));
    assertFalse(tags.containsKey("gone"));

    client.updateRun(runId, null, null, "renamed");
    client.setTerminated(runId, RunStatus.RUN_STATUS_KILLED);
    Run ended = client.getRun(runId);
    assertEquals("renamed", ended.getInfo().getRunName());
    assertEquals(RunStatus.RUN_STATUS_KILLED, ended.getInfo().getStatus());
    assertTrue(ended.getInfo().hasEndTime());

    client.deleteRun(runId);
    assertEquals("deleted", client.getRun(runId).getInfo().getLifecycleStage());
    client.restoreRun(runId);
    assertEquals("active", client.getRun(runId).getInfo().getLifecycleStage());
  }

  @Test
  void searchRunsFiltersOrdersAndPages() {
    String experimentId = client.createExperiment(unique("search"));
    for (int i = 0; i < 5; i++) {
      String runId = client.createRun(experimentId).getInfo().getRunId();
      client.logMetric(runId, "acc", i / 10.0, 1_000L, 0);
    }
    assertEquals(3, client.searchRuns(List.of(experimentId), "metrics.acc >= 0.2").count());

    List<Double> seen = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      Page<Run> page = client.searchRunsPage(SearchRunsRequest.newBuilder()
          .addExperimentIds(experimentId).addOrderBy("metrics.acc DESC")
          .setRunViewType(ViewType.VIEW_TYPE_ALL).setMaxResults(2).setPageToken(token).build());
      page.items().forEach(r -> seen.add(r.getData().getMetrics(0).getValue()));
      token = page.nextPageToken().orElse("");
      pages++;
    } while (!token.isEmpty());
    assertEquals(List.of(0.4, 0.3, 0.2, 0.1, 0.0), seen);
    assertEquals(3, pages);
  }

  @Test
  void logBatchIsChunkedToTheServersLimits() {
    String runId = client.createRun(client.createExperiment(unique("batch"))).getInfo().getRunId();
    int points = ServerLimits.MAX_METRICS_PER_BATCH * 2 + 500;
    List<Metric> metrics = IntStream.range(0, points)
        .mapToObj(i -> Metric.newBuilder().setKey("m").setValue(i).setStep(i).setTimestamp(i).build())
        .toList();
    List<Param> params = IntStream.range(0, ServerLimits.MAX_PARAMS_PER_BATCH + 50)
        .mapToObj(i -> Param.newBuilder().setKey("p" + i).setValue("v" + i).build())
        .toList();
    List<RunTag> tags = IntStream.range(0, ServerLimits.MAX_TAGS_PER_BATCH + 20)
        .mapToObj(i -> RunTag.newBuilder().setKey("t" + i).setValue("v" + i).build())
        .toList();

    client.logBatch(runId, metrics, params, tags);

    Run run = client.getRun(runId);
    assertEquals(params.size(), run.getData().getParamsCount());
    assertTrue(run.getData().getTagsCount() >= tags.size());
    List<Metric> history = client.getMetricHistory(runId, "m");
    assertEquals(points, history.size());
    assertEquals(IntStream.range(0, points).asLongStream().boxed().toList(),
        history.stream().map(Metric::getStep).toList());
  }

  @Test
  void metricBucketsKeepASpikeAndZoomIn() {
    String experimentId = client.createExperiment(unique("buckets"));
    String runId = client.createRun(experimentId).getInfo().getRunId();
    String otherRunId = client.createRun(experimentId).getInfo().getRunId();
    List<Metric> points = new ArrayList<>();
    for (int step = 0; step < 1000; step++) {
      double value = step == 737 ? 1e6 : -step; // one spike among a thousand points
      points.add(Metric.newBuilder().setKey("loss").setValue(value).setTimestamp(1000L + step)
          .setStep(step).build());
    }
    client.logBatch(runId, points, List.of(), List.of());

    GetMetricBucketsResponse whole = client.getMetricBuckets(List.of(runId, otherRunId), "loss", 10);
    assertEquals(0, whole.getStartStep());
    assertEquals(999, whole.getEndStep());
    assertEquals(100, whole.getBucketWidth());
    assertEquals(List.of(runId, otherRunId), whole.getRunsList().stream().map(r -> r.getRunId()).toList());
    List<MetricBucket> buckets = whole.getRuns(0).getBucketsList();
    assertEquals(10, buckets.size());
    MetricBucket spiked = buckets.get(7);
    assertEquals(700, spiked.getFirstStep());
    assertEquals(799, spiked.getLastStep());
    assertEquals(1e6, spiked.getMaxValue());
    assertEquals(-799, spiked.getMinValue());
    assertEquals(-799, spiked.getLastValue());
    assertEquals(100, spiked.getCount());
    assertEquals(1799, spiked.getLastTimestamp());
    assertEquals(0, whole.getRuns(1).getBucketsCount(), "a run without the metric has no buckets");

    GetMetricBucketsResponse zoomed = client.getMetricBuckets(GetMetricBucketsRequest.newBuilder()
        .addRunIds(runId).setMetricKey("loss").setStartStep(730).setEndStep(739).setBuckets(100).build());
    assertEquals(1, zoomed.getBucketWidth());
    assertEquals(10, zoomed.getRuns(0).getBucketsCount());
    assertEquals(1e6, zoomed.getRuns(0).getBuckets(7).getLastValue());

    assertThrows(NotFoundException.class,
        () -> client.getMetricBuckets(List.of("no-such-run"), "loss", 0));
  }

  @Test
  void limitsComeFromTheSchema() {
    assertEquals(1000, ServerLimits.MAX_METRICS_PER_BATCH);
    assertEquals(100, ServerLimits.MAX_PARAMS_PER_BATCH);
    assertEquals(1 << 20, ServerLimits.ARTIFACT_CHUNK_SIZE);
  }

  @Test
  void artifactsRoundTripInChunks(@TempDir Path tmp) throws IOException {
    String runId = client.createRun(client.createExperiment(unique("artifacts"))).getInfo().getRunId();
    byte[] big = new byte[ServerLimits.ARTIFACT_CHUNK_SIZE * 2 + 12345];
    new Random(7).nextBytes(big);
    Path model = Files.write(tmp.resolve("model.bin"), big);
    Path dir = Files.createDirectories(tmp.resolve("plots/sub"));
    Files.writeString(tmp.resolve("plots/a.txt"), "a");
    Files.writeString(dir.resolve("b.txt"), "b");
    Path empty = Files.write(tmp.resolve("empty.txt"), new byte[0]);

    FileInfo uploaded = client.logArtifact(runId, model, "models");
    assertEquals("models/model.bin", uploaded.getPath());
    assertEquals(big.length, uploaded.getFileSize());
    client.logArtifacts(runId, tmp.resolve("plots"), "plots");
    client.logArtifact(runId, empty);

    List<String> root = client.listArtifacts(runId, "").stream().map(FileInfo::getPath).sorted().toList();
    assertEquals(List.of("empty.txt", "models", "plots"), root);
    List<FileInfo> plots = client.listArtifacts(runId, "plots");
    assertEquals(List.of("plots/a.txt", "plots/sub"), plots.stream().map(FileInfo::getPath).sorted().toList());

    Path back = client.downloadArtifact(runId, "models/model.bin", tmp.resolve("back/model.bin"));
    assertArrayEquals(big, Files.readAllBytes(back));
    Path tree = client.downloadArtifacts(runId, "plots", tmp.resolve("tree"));
    assertEquals("b", Files.readString(tree.resolve("sub/b.txt")));
    assertEquals(0, Files.size(client.downloadArtifact(runId, "empty.txt", tmp.resolve("e.txt"))));

    client.deleteArtifact(runId, "plots");
    assertEquals(List.of("empty.txt", "models"),
        client.listArtifacts(runId, "").stream().map(FileInfo::getPath).sorted().toList());

    Path missing = tmp.resolve("missing.txt");
    assertThrows(NotFoundException.class, () -> client.downloadArtifact(runId, "nope.txt", missing));
    assertFalse(Files.exists(missing));
  }

  private RunStatus status(String runId) {
    return client.getRun(runId).getInfo().getStatus();
  }

  @Test
  void closingAnActiveRunEndsItFinished() {
    String experimentId = client.createExperiment(unique("close"));
    String runId;
    try (ActiveRun run = client.startRun(experimentId)) {
      run.logParam("k", "v").logMetric("m", 1.0, 3);
      runId = run.runId();
      assertEquals(RunStatus.RUN_STATUS_RUNNING, status(runId));
    }
    assertEquals(RunStatus.RUN_STATUS_FINISHED, status(runId));
  }

  @Test
  void closingARunMarkedFailedEndsItFailed() {
    String experimentId = client.createExperiment(unique("fail"));
    String[] runId = new String[1];
    IllegalStateException boom = new IllegalStateException("boom");
    IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> {
      try (ActiveRun run = client.startRun(experimentId)) {
        runId[0] = run.runId();
        try {
          throw boom;
        } catch (IllegalStateException e) {
          run.fail();
          throw e;
        }
      }
    });
    assertSame(boom, thrown);
    assertEquals(RunStatus.RUN_STATUS_FAILED, status(runId[0]));
  }

  @Test
  void anExplicitEndIsNotOverwrittenByClose() {
    String experimentId = client.createExperiment(unique("end"));
    String runId;
    try (ActiveRun run = client.startRun(experimentId)) {
      runId = run.runId();
      run.end(RunStatus.RUN_STATUS_KILLED);
      run.fail();
    }
    assertEquals(RunStatus.RUN_STATUS_KILLED, status(runId));
  }

  @Test
  void withRunEndsFailedAndRethrowsWhenTheBodyThrows() {
    String experimentId = client.createExperiment(unique("with-run-throws"));
    String[] runId = new String[1];
    IllegalStateException boom = new IllegalStateException("boom");
    IllegalStateException thrown = assertThrows(IllegalStateException.class,
        () -> client.withRun(experimentId, run -> {
          runId[0] = run.runId();
          throw boom;
        }));
    assertSame(boom, thrown);
    assertEquals(0, thrown.getSuppressed().length);
    assertEquals(RunStatus.RUN_STATUS_FAILED, status(runId[0]));
  }

  @Test
  void withRunEndsFinishedWhenTheBodyReturns() {
    String experimentId = client.createExperiment(unique("with-run"));
    String[] runId = new String[1];
    client.withRun(experimentId, "named", Map.of("team", "ml"), run -> runId[0] = run.runId());
    Run run = client.getRun(runId[0]);
    assertEquals(RunStatus.RUN_STATUS_FINISHED, run.getInfo().getStatus());
    assertEquals("named", run.getInfo().getRunName());
  }

  @Test
  void getOrCreateExperimentCreatesOnceThenFinds() {
    String name = unique("get-or-create");
    String created = client.getOrCreateExperiment(name);
    assertEquals(created, client.getOrCreateExperiment(name));
    assertEquals(name, client.getExperiment(created).getName());
  }

  @Test
  void mapsOfParamsMetricsAndTagsAreLoggedInBatches() {
    String runId = client.createRun(client.createExperiment(unique("maps"))).getInfo().getRunId();
    Map<String, String> params = IntStream.range(0, 150).boxed()
        .collect(Collectors.toMap(i -> "p" + i, i -> "v" + i));
    client.logParams(runId, params);
    client.logMetrics(runId, Map.of("loss", 0.5, "acc", Double.NaN), 7);
    client.setTags(runId, Map.of("team", "ml", "stage", "dev"));

    Run run = client.getRun(runId);
    assertEquals(params, run.getData().getParamsList().stream()
        .collect(Collectors.toMap(Param::getKey, Param::getValue)));
    Map<String, Metric> metrics = run.getData().getMetricsList().stream()
        .collect(Collectors.toMap(Metric::getKey, m -> m));
    assertEquals(0.5, metrics.get("loss").getValue());
    assertTrue(Double.isNaN(metrics.get("acc").getValue()));
    assertEquals(7, metrics.get("loss").getStep());
    Map<String, String> tags = run.getData().getTagsList().stream()
        .collect(Collectors.toMap(RunTag::getKey, RunTag::getValue));
    assertEquals("ml", tags.get("team"));
    assertEquals("dev", tags.get("stage"));
  }

  @Test
  void searchesReadEveryPageLazily() {
    String experimentId = client.createExperiment(unique("lazy"));
    for (int i = 0; i < 5; i++) {
      client.createRun(experimentId, "run-" + i, i + 1L, Map.of());
    }
    SearchRunsRequest twoPerPage = SearchRunsRequest.newBuilder().addExperimentIds(experimentId)
        .addOrderBy("attributes.start_time ASC").setMaxResults(2).build();
    assertEquals(List.of("run-0", "run-1", "run-2", "run-3", "run-4"),
        client.searchRuns(twoPerPage).map(r -> r.getInfo().getRunName()).toList());
    assertEquals(List.of("run-0", "run-1", "run-2"),
        client.searchRuns(twoPerPage).limit(3).map(r -> r.getInfo().getRunName()).toList());
    String secondPage = client.searchRunsPage(twoPerPage).nextPageToken().orElseThrow();
    assertEquals(List.of("run-2", "run-3", "run-4"),
        client.searchRuns(twoPerPage.toBuilder().setPageToken(secondPage).build())
            .map(r -> r.getInfo().getRunName()).toList());
  }
}
