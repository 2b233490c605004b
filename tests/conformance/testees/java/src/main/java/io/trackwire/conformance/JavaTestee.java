package io.trackwire.conformance;

import io.trackwire.client.NotFoundException;
import io.trackwire.client.Page;
import io.trackwire.client.TrackwireClient;
import io.trackwire.v1.Dataset;
import io.trackwire.v1.DatasetInput;
import io.trackwire.v1.Experiment;
import io.trackwire.v1.FileInfo;
import io.trackwire.v1.GetMetricBucketsRequest;
import io.trackwire.v1.GetMetricBucketsResponse;
import io.trackwire.v1.InputTag;
import io.trackwire.v1.LoggedModel;
import io.trackwire.v1.LoggedModelInfo;
import io.trackwire.v1.Metric;
import io.trackwire.v1.MetricBucket;
import io.trackwire.v1.ModelVersion;
import io.trackwire.v1.Param;
import io.trackwire.v1.RegisteredModel;
import io.trackwire.v1.Run;
import io.trackwire.v1.RunInfo;
import io.trackwire.v1.RunMetricBuckets;
import io.trackwire.v1.RunStatus;
import io.trackwire.v1.RunTag;
import io.trackwire.v1.SearchExperimentsRequest;
import io.trackwire.v1.SearchLoggedModelsRequest;
import io.trackwire.v1.SearchRunsRequest;
import io.trackwire.v1.ViewType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The Java conformance testee: each action is one call of {@link TrackwireClient}. */
public final class JavaTestee {
  private JavaTestee() {}

  public static void main(String[] args) throws Exception {
    new TesteeLoop<>(uri -> TrackwireClient.connect(uri, null), JavaTestee::perform).run();
  }

  static Object perform(TrackwireClient client, String action, Args a) throws Exception {
    switch (action) {
      case "create_experiment":
        return Map.of("experiment_id",
            client.createExperiment(a.str("name"), a.optStr("artifact_location"), a.strMap("tags")));
      case "get_experiment":
        return experiment(client.getExperiment(a.str("experiment_id")));
      case "get_experiment_by_name":
        return experiment(client.getExperimentByName(a.str("name")).orElseThrow(
            () -> new NotFoundException("No experiment named '" + a.str("name") + "'")));
      case "search_experiments": {
        SearchExperimentsRequest.Builder request = SearchExperimentsRequest.newBuilder()
            .addAllOrderBy(a.strList("order_by")).setViewType(viewType(a.optStr("view_type")));
        if (a.has("filter")) {
          request.setFilter(a.str("filter"));
        }
        if (a.has("max_results")) {
          request.setMaxResults(a.optLong("max_results"));
        }
        if (a.has("page_token")) {
          request.setPageToken(a.str("page_token"));
        }
        Page<Experiment> page = client.searchExperimentsPage(request.build());
        return Map.of("experiments", page.items().stream().map(JavaTestee::experiment).toList(),
            "next_page_token", page.nextPageToken().orElse(""));
      }
      case "rename_experiment":
        client.renameExperiment(a.str("experiment_id"), a.str("new_name"));
        return Map.of();
      case "delete_experiment":
        client.deleteExperiment(a.str("experiment_id"));
        return Map.of();
      case "restore_experiment":
        client.restoreExperiment(a.str("experiment_id"));
        return Map.of();
      case "set_experiment_tag":
        client.setExperimentTag(a.str("experiment_id"), a.str("key"), a.str("value"));
        return Map.of();
      case "delete_experiment_tag":
        client.deleteExperimentTag(a.str("experiment_id"), a.str("key"));
        return Map.of();
      case "create_run":
        return run(client.createRun(a.str("experiment_id"), a.optStr("run_name"),
            a.optLong("start_time"), a.strMap("tags")));
      case "get_run":
        return run(client.getRun(a.str("run_id")));
      case "update_run":
        client.updateRun(a.str("run_id"),
            a.has("status") ? RunStatus.valueOf("RUN_STATUS_" + a.str("status")) : null,
            a.optLong("end_time"), a.optStr("run_name"));
        return Map.of();
      case "delete_run":
        client.deleteRun(a.str("run_id"));
        return Map.of();
      case "restore_run":
        client.restoreRun(a.str("run_id"));
        return Map.of();
      case "delete_runs": {
        Long maxRuns = a.optLong("max_runs");
        int deleted = client.deleteRuns(a.str("experiment_id"), a.optLong("max_timestamp_millis"),
            maxRuns == null ? 0 : Math.toIntExact(maxRuns));
        return Map.of("runs_deleted", deleted);
      }
      case "log_param":
        client.logParam(a.str("run_id"), a.str("key"), a.str("value"));
        return Map.of();
      case "log_metric":
        client.logMetric(a.str("run_id"), a.str("key"), a.dbl("value"),
            a.has("timestamp") ? a.optLong("timestamp") : System.currentTimeMillis(),
            a.has("step") ? a.optLong("step") : 0L);
        return Map.of();
      case "set_tag":
        client.setTag(a.str("run_id"), a.str("key"), a.str("value"));
        return Map.of();
      case "delete_tag":
        client.deleteTag(a.str("run_id"), a.str("key"));
        return Map.of();
      case "log_batch": {
        long now = System.currentTimeMillis();
        List<Metric> metrics = a.objects("metrics").stream().map(m -> Metric.newBuilder()
            .setKey(m.str("key")).setValue(m.dbl("value"))
            .setStep(m.has("step") ? m.optLong("step") : 0L)
            .setTimestamp(m.has("timestamp") ? m.optLong("timestamp") : now).build()).toList();
        List<Param> params = new ArrayList<>();
        a.strMap("params").forEach((k, v) -> params.add(Param.newBuilder().setKey(k).setValue(v).build()));
        List<RunTag> tags = new ArrayList<>();
        a.strMap("tags").forEach((k, v) -> tags.add(RunTag.newBuilder().setKey(k).setValue(v).build()));
        client.logBatch(a.str("run_id"), metrics, params, tags);
        return Map.of();
      }
      case "log_inputs":
        client.logInputs(a.str("run_id"), a.objects("datasets").stream().map(JavaTestee::datasetInput).toList());
        return Map.of();
      case "get_metric_history":
        return Map.of("metrics",
            client.getMetricHistory(a.str("run_id"), a.str("key")).stream().map(JavaTestee::point).toList());
      case "get_metric_buckets": {
        GetMetricBucketsRequest.Builder request = GetMetricBucketsRequest.newBuilder()
            .addAllRunIds(a.strList("run_ids")).setMetricKey(a.str("key"));
        if (a.has("start_step")) {
          request.setStartStep(a.optLong("start_step"));
        }
        if (a.has("end_step")) {
          request.setEndStep(a.optLong("end_step"));
        }
        if (a.has("buckets")) {
          request.setBuckets(Math.toIntExact(a.optLong("buckets")));
        }
        return metricBuckets(client.getMetricBuckets(request.build()));
      }
      case "search_runs": {
        SearchRunsRequest.Builder request = SearchRunsRequest.newBuilder()
            .addAllExperimentIds(a.strList("experiment_ids")).addAllOrderBy(a.strList("order_by"))
            .setRunViewType(viewType(a.optStr("view_type")));
        if (a.has("filter")) {
          request.setFilter(a.str("filter"));
        }
        if (a.has("max_results")) {
          request.setMaxResults(Math.toIntExact(a.optLong("max_results")));
        }
        if (a.has("page_token")) {
          request.setPageToken(a.str("page_token"));
        }
        Page<Run> page = client.searchRunsPage(request.build());
        return Map.of("runs", page.items().stream().map(JavaTestee::run).toList(),
            "next_page_token", page.nextPageToken().orElse(""));
      }
      case "log_artifact": {
        Path dir = Files.createTempDirectory("trackwire-testee-");
        try {
          Path file = Files.writeString(dir.resolve("content"), a.str("content"));
          client.uploadArtifact(a.str("run_id"), file, a.str("path"));
        } finally {
          Files.deleteIfExists(dir.resolve("content"));
          Files.delete(dir);
        }
        return Map.of();
      }
      case "list_artifacts":
        return Map.of("files", client.listArtifacts(a.str("run_id"), a.optStr("path")).stream()
            .map(JavaTestee::fileInfo).toList());
      case "download_artifact": {
        Path dir = Files.createTempDirectory("trackwire-testee-");
        Path file = dir.resolve("content");
        try {
          client.downloadArtifact(a.str("run_id"), a.str("path"), file);
          return Map.of("content", Files.readString(file));
        } finally {
          Files.deleteIfExists(file);
          Files.delete(dir);
        }
      }
      case "delete_artifact":
        client.deleteArtifact(a.str("run_id"), a.str("path"));
        return Map.of();
      case "create_registered_model":
        return registeredModel(client.createRegisteredModel(a.str("name")));
      case "get_registered_model":
        return registeredModel(client.getRegisteredModel(a.str("name")));
      case "search_registered_models": {
        List<Object> models = new ArrayList<>();
        client.searchRegisteredModels(a.optStr("filter")).forEach(m -> models.add(registeredModel(m)));
        return Map.of("registered_models", models);
      }
      case "create_model_version":
        return modelVersion(client.createModelVersion(a.str("name"), a.str("source"), a.optStr("run_id")));
      case "get_model_version":
        return modelVersion(client.getModelVersion(a.str("name"), a.str("version")));
      case "search_model_versions": {
        List<Object> versions = new ArrayList<>();
        client.searchModelVersions(a.optStr("filter")).forEach(v -> versions.add(modelVersion(v)));
        return Map.of("model_versions", versions);
      }
      case "create_logged_model":
        return loggedModel(client.createLoggedModel(
            a.str("experiment_id"), a.optStr("name"), a.optStr("source_run_id")));
      case "finalize_logged_model":
        return loggedModel(client.finalizeLoggedModel(a.str("model_id")));
      case "get_logged_model":
        return loggedModel(client.getLoggedModel(a.str("model_id")));
      case "search_logged_models": {
        SearchLoggedModelsRequest.Builder request = SearchLoggedModelsRequest.newBuilder()
            .addAllExperimentIds(a.strList("experiment_ids"));
        if (a.has("filter")) {
          request.setFilter(a.str("filter"));
        }
        if (a.has("max_results")) {
          request.setMaxResults(Math.toIntExact(a.optLong("max_results")));
        }
        if (a.has("page_token")) {
          request.setPageToken(a.str("page_token"));
        }
        Page<LoggedModel> page = client.searchLoggedModelsPage(request.build());
        return Map.of("models", page.items().stream().map(JavaTestee::loggedModel).toList(),
            "next_page_token", page.nextPageToken().orElse(""));
      }
      case "log_logged_model_artifact": {
        Path dir = Files.createTempDirectory("trackwire-testee-");
        try {
          Path file = Files.writeString(dir.resolve("content"), a.str("content"));
          client.uploadLoggedModelArtifact(a.str("model_id"), file, a.str("path"));
        } finally {
          Files.deleteIfExists(dir.resolve("content"));
          Files.delete(dir);
        }
        return Map.of();
      }
      case "list_logged_model_artifacts":
        return Map.of("files", client.listLoggedModelArtifacts(a.str("model_id"), a.optStr("path"))
            .stream().map(JavaTestee::fileInfo).toList());
      case "download_logged_model_artifact": {
        Path dir = Files.createTempDirectory("trackwire-testee-");
        Path file = dir.resolve("content");
        try {
          client.downloadLoggedModelArtifact(a.str("model_id"), a.str("path"), file);
          return Map.of("content", Files.readString(file));
        } finally {
          Files.deleteIfExists(file);
          Files.delete(dir);
        }
      }
      case "retryable_rpcs":
        return Map.of("rpcs", TrackwireClient.retryableRpcs());
      default:
        throw new IllegalArgumentException("the java testee does not know the action " + action);
    }
  }

  private static ViewType viewType(String name) {
    return name == null ? ViewType.VIEW_TYPE_ACTIVE_ONLY : ViewType.valueOf("VIEW_TYPE_" + name);
  }

  private static DatasetInput datasetInput(Args d) {
    Dataset.Builder dataset = Dataset.newBuilder().setName(d.str("name")).setDigest(d.str("digest"))
        .setSourceType(d.str("source_type")).setSource(d.str("source"));
    if (d.has("schema")) {
      dataset.setSchema(d.str("schema"));
    }
    if (d.has("profile")) {
      dataset.setProfile(d.str("profile"));
    }
    DatasetInput.Builder input = DatasetInput.newBuilder().setDataset(dataset);
    d.strMap("tags").forEach((k, v) -> input.addTags(InputTag.newBuilder().setKey(k).setValue(v)));
    return input.build();
  }

  private static Map<String, Object> experiment(Experiment e) {
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("experiment_id", e.getExperimentId());
    shape.put("name", e.getName());
    shape.put("artifact_location", e.getArtifactLocation());
    shape.put("lifecycle_stage", e.getLifecycleStage());
    shape.put("creation_time", e.getCreationTime());
    shape.put("last_update_time", e.getLastUpdateTime());
    Map<String, String> tags = new LinkedHashMap<>();
    e.getTagsList().forEach(t -> tags.put(t.getKey(), t.getValue()));
    shape.put("tags", tags);
    return shape;
  }

  private static Map<String, Object> registeredModel(RegisteredModel m) {
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("name", m.getName());
    shape.put("description", m.getDescription());
    Map<String, String> tags = new LinkedHashMap<>();
    m.getTagsList().forEach(t -> tags.put(t.getKey(), t.getValue()));
    shape.put("tags", tags);
    Map<String, String> aliases = new LinkedHashMap<>();
    m.getAliasesList().forEach(alias -> aliases.put(alias.getAlias(), alias.getVersion()));
    shape.put("aliases", aliases);
    List<Object> latest = new ArrayList<>();
    m.getLatestVersionsList().forEach(v -> latest.add(modelVersion(v)));
    shape.put("latest_versions", latest);
    return shape;
  }

  private static Map<String, Object> modelVersion(ModelVersion v) {
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("name", v.getName());
    shape.put("version", v.getVersion());
    shape.put("current_stage", v.getCurrentStage());
    shape.put("source", v.getSource());
    shape.put("run_id", v.getRunId());
    shape.put("status", v.getStatus().name().substring("MODEL_VERSION_STATUS_".length()));
    return shape;
  }

  private static Map<String, Object> run(Run r) {
    RunInfo info = r.getInfo();
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("run_id", info.getRunId());
    shape.put("experiment_id", info.getExperimentId());
    shape.put("run_name", info.getRunName());
    shape.put("user_id", info.getUserId());
    shape.put("status", info.getStatus().name().substring("RUN_STATUS_".length()));
    shape.put("start_time", info.getStartTime());
    if (info.hasEndTime()) {
      shape.put("end_time", info.getEndTime());
    }
    shape.put("artifact_uri", info.getArtifactUri());
    shape.put("lifecycle_stage", info.getLifecycleStage());
    Map<String, Object> metrics = new LinkedHashMap<>();
    r.getData().getMetricsList().forEach(m -> metrics.put(m.getKey(), m.getValue()));
    shape.put("metrics", metrics);
    Map<String, String> params = new LinkedHashMap<>();
    r.getData().getParamsList().forEach(p -> params.put(p.getKey(), p.getValue()));
    shape.put("params", params);
    Map<String, String> tags = new LinkedHashMap<>();
    r.getData().getTagsList().forEach(t -> tags.put(t.getKey(), t.getValue()));
    shape.put("tags", tags);
    List<Map<String, Object>> inputs = new ArrayList<>();
    for (DatasetInput d : r.getInputs().getDatasetInputsList()) {
      Map<String, Object> input = new LinkedHashMap<>();
      input.put("name", d.getDataset().getName());
      input.put("digest", d.getDataset().getDigest());
      input.put("source_type", d.getDataset().getSourceType());
      input.put("source", d.getDataset().getSource());
      Map<String, String> inputTags = new LinkedHashMap<>();
      d.getTagsList().forEach(t -> inputTags.put(t.getKey(), t.getValue()));
      input.put("tags", inputTags);
      inputs.add(input);
    }
    shape.put("inputs", inputs);
    return shape;
  }

  private static Map<String, Object> loggedModel(LoggedModel m) {
    LoggedModelInfo info = m.getInfo();
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("model_id", info.getModelId());
    shape.put("experiment_id", info.getExperimentId());
    shape.put("name", info.getName());
    shape.put("source_run_id", info.getSourceRunId());
    shape.put("status", info.getStatus().name().substring("LOGGED_MODEL_STATUS_LOGGED_MODEL_".length()));
    shape.put("artifact_uri", info.getArtifactUri());
    Map<String, String> params = new LinkedHashMap<>();
    m.getData().getParamsList().forEach(p -> params.put(p.getKey(), p.getValue()));
    shape.put("params", params);
    Map<String, String> tags = new LinkedHashMap<>();
    info.getTagsList().forEach(t -> tags.put(t.getKey(), t.getValue()));
    shape.put("tags", tags);
    return shape;
  }

  private static Map<String, Object> point(Metric m) {
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("key", m.getKey());
    shape.put("value", m.getValue());
    shape.put("step", m.getStep());
    shape.put("timestamp", m.getTimestamp());
    return shape;
  }

  private static Map<String, Object> metricBuckets(GetMetricBucketsResponse response) {
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("start_step", response.getStartStep());
    shape.put("end_step", response.getEndStep());
    shape.put("bucket_width", response.getBucketWidth());
    List<Map<String, Object>> runs = new ArrayList<>();
    for (RunMetricBuckets run : response.getRunsList()) {
      runs.add(Map.of("run_id", run.getRunId(),
          "buckets", run.getBucketsList().stream().map(JavaTestee::bucket).toList()));
    }
    shape.put("runs", runs);
    return shape;
  }

  private static Map<String, Object> bucket(MetricBucket b) {
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("first_step", b.getFirstStep());
    shape.put("last_step", b.getLastStep());
    shape.put("first_timestamp", b.getFirstTimestamp());
    shape.put("last_timestamp", b.getLastTimestamp());
    shape.put("last_value", b.getLastValue());
    shape.put("min_value", b.getMinValue());
    shape.put("max_value", b.getMaxValue());
    shape.put("count", b.getCount());
    return shape;
  }

  private static Map<String, Object> fileInfo(FileInfo f) {
    Map<String, Object> shape = new LinkedHashMap<>();
    shape.put("path", f.getPath());
    shape.put("is_dir", f.getIsDir());
    if (f.hasFileSize()) {
      shape.put("file_size", f.getFileSize());
    }
    return shape;
  }
}
