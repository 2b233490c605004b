package io.trackwire.client;

import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.trackwire.v1.ArtifactServiceGrpc;
import io.trackwire.v1.CreateExperimentPermissionRequest;
import io.trackwire.v1.CreateExperimentRequest;
import io.trackwire.v1.CreateModelVersionRequest;
import io.trackwire.v1.CreateRegisteredModelRequest;
import io.trackwire.v1.CreateLoggedModelRequest;
import io.trackwire.v1.CreateRunRequest;
import io.trackwire.v1.DatasetInput;
import io.trackwire.v1.DeleteArtifactRequest;
import io.trackwire.v1.DeleteExperimentPermissionRequest;
import io.trackwire.v1.DeleteExperimentRequest;
import io.trackwire.v1.DeleteExperimentTagRequest;
import io.trackwire.v1.DeleteRunRequest;
import io.trackwire.v1.DeleteRunsRequest;
import io.trackwire.v1.DeleteTagRequest;
import io.trackwire.v1.DownloadArtifactRequest;
import io.trackwire.v1.DownloadArtifactResponse;
import io.trackwire.v1.Experiment;
import io.trackwire.v1.ExperimentPermission;
import io.trackwire.v1.ExperimentTag;
import io.trackwire.v1.FileInfo;
import io.trackwire.v1.GetExperimentByNameRequest;
import io.trackwire.v1.GetExperimentPermissionRequest;
import io.trackwire.v1.FinalizeLoggedModelRequest;
import io.trackwire.v1.GetExperimentRequest;
import io.trackwire.v1.GetLatestVersionsRequest;
import io.trackwire.v1.GetModelVersionByAliasRequest;
import io.trackwire.v1.GetModelVersionRequest;
import io.trackwire.v1.GetRegisteredModelRequest;
import io.trackwire.v1.GetLoggedModelRequest;
import io.trackwire.v1.GetMetricBucketsRequest;
import io.trackwire.v1.GetMetricBucketsResponse;
import io.trackwire.v1.GetRunRequest;
import io.trackwire.v1.ListArtifactsRequest;
import io.trackwire.v1.ListArtifactsResponse;
import io.trackwire.v1.LogBatchRequest;
import io.trackwire.v1.LogInputsRequest;
import io.trackwire.v1.LogMetricRequest;
import io.trackwire.v1.LogParamRequest;
import io.trackwire.v1.LoggedModel;
import io.trackwire.v1.LoggedModelServiceGrpc;
import io.trackwire.v1.LoggedModelStatus;
import io.trackwire.v1.Metric;
import io.trackwire.v1.ModelRegistryServiceGrpc;
import io.trackwire.v1.ModelVersion;
import io.trackwire.v1.Param;
import io.trackwire.v1.Permission;
import io.trackwire.v1.RegisteredModel;
import io.trackwire.v1.RestoreExperimentRequest;
import io.trackwire.v1.RestoreRunRequest;
import io.trackwire.v1.Run;
import io.trackwire.v1.RunInfo;
import io.trackwire.v1.RunStatus;
import io.trackwire.v1.RunTag;
import io.trackwire.v1.SearchExperimentsRequest;
import io.trackwire.v1.SearchExperimentsResponse;
import io.trackwire.v1.SearchModelVersionsRequest;
import io.trackwire.v1.SearchModelVersionsResponse;
import io.trackwire.v1.SearchRegisteredModelsRequest;
import io.trackwire.v1.SearchRegisteredModelsResponse;
import io.trackwire.v1.SearchLoggedModelsRequest;
import io.trackwire.v1.SearchLoggedModelsResponse;
import io.trackwire.v1.SearchRunsRequest;
import io.trackwire.v1.SearchRunsResponse;
import io.trackwire.v1.SetExperimentTagRequest;
import io.trackwire.v1.SetTagRequest;
import io.trackwire.v1.StreamMetricHistoryRequest;
import io.trackwire.v1.StreamMetricHistoryResponse;
import io.trackwire.v1.TrackingServiceGrpc;
import io.trackwire.v1.UpdateExperimentPermissionRequest;
import io.trackwire.v1.UpdateExperimentRequest;
import io.trackwire.v1.UpdateRunRequest;
import io.trackwire.v1.UploadArtifactRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Client of a trackwire server, over gRPC ({@code grpc://}, {@code grpcs://}) or MLflow's
 * HTTP/JSON API ({@code http://}, {@code https://}): experiments, runs, everything logged to
 * runs, and artifacts. Thread-safe; share one instance and {@link #close()} it when done.
 *
 * <pre>{@code
 * try (TrackwireClient client = TrackwireClient.fromEnvironment()) {
 *   String experimentId = client.getOrCreateExperiment("demo");
 *   client.withRun(experimentId, run -> run.logMetric("loss", 0.25));
 * }
 * }</pre>
 *
 * <p>Failures surface as unchecked {@link TrackwireException}s carrying the server's message.
 */
public final class TrackwireClient implements AutoCloseable {
  /** Names the server, e.g. {@code grpc://tracking.example.com:50051}; read first. */
  public static final String TRACKING_URI_ENV = "TRACKWIRE_TRACKING_URI";
  /** MLflow's variable for the server, read when {@value #TRACKING_URI_ENV} is unset. */
  public static final String MLFLOW_TRACKING_URI_ENV = "MLFLOW_TRACKING_URI";
  /** A bearer token sent on every call; read first. */
  public static final String TOKEN_ENV = "TRACKWIRE_TOKEN";
  /** MLflow's variable for the token, read when {@value #TOKEN_ENV} is unset. */
  public static final String MLFLOW_TOKEN_ENV = "MLFLOW_TRACKING_TOKEN";
  /** Names a PEM file of CA certificates to trust for grpcs:// and https://. */
  public static final String CA_CERT_ENV = "TRACKWIRE_CA_CERT";
  /** Used when no variable names a server: what {@code trackwire server} serves by default. */
  public static final String DEFAULT_TRACKING_URI = "http://127.0.0.1:5000";

  private static final int DEFAULT_GRPC_PORT = 50051;
  private static final int DEFAULT_GRPCS_PORT = 443;

  private final Transport transport;
  private final RetryPolicy.Sleeper sleeper;

  private TrackwireClient(Transport transport, RetryPolicy.Sleeper sleeper) {
    this.transport = transport;
    this.sleeper = sleeper;
  }

  /**
   * Connects as the environment says: {@code TRACKWIRE_TRACKING_URI}, else
   * {@code MLFLOW_TRACKING_URI}, else {@value #DEFAULT_TRACKING_URI}; the token in
   * {@code TRACKWIRE_TOKEN}, else {@code MLFLOW_TRACKING_TOKEN}; CA certificates in
   * {@code TRACKWIRE_CA_CERT}.
   */
  public static TrackwireClient fromEnvironment() {
    return connect(environment(TRACKING_URI_ENV, MLFLOW_TRACKING_URI_ENV).orElse(DEFAULT_TRACKING_URI));
  }

  /** Connects with the token the environment names (see {@link #fromEnvironment()}). */
  public static TrackwireClient connect(String trackingUri) {
    return connect(trackingUri, environment(TOKEN_ENV, MLFLOW_TOKEN_ENV).orElse(null));
  }

  /**
   * Connects with an explicit bearer token ({@code null} for none), trusting the CA
   * certificates in {@code TRACKWIRE_CA_CERT} if it is set, else the system's.
   */
  public static TrackwireClient connect(String trackingUri, String token) {
    return connect(trackingUri, token, environment(CA_CERT_ENV).map(Path::of).orElse(null));
  }

  /**
   * Connects to {@code grpc://host[:port]} (plaintext, port 50051 by default),
   * {@code grpcs://host[:port]} (TLS, 443), {@code http://host[:port][/prefix]} or
   * {@code https://...} (MLflow's REST API through the server's gateway), with an explicit
   * bearer token and a PEM file of CA certificates to trust for TLS ({@code null}s for none and
   * the system's). Nothing is dialled yet: an unreachable server shows up as
   * {@link UnavailableException} on the first call.
   */
  public static TrackwireClient connect(String trackingUri, String token, Path caCertificates) {
    return connect(trackingUri, token, caCertificates, Thread::sleep);
  }

  /** As {@link #connect(String, String, Path)}, waiting between retries with {@code sleeper}. */
  static TrackwireClient connect(
      String trackingUri, String token, Path caCertificates, RetryPolicy.Sleeper sleeper) {
    URI uri;
    try {
      uri = new URI(trackingUri);
    } catch (URISyntaxException e) {
      throw new InvalidArgumentException("Invalid tracking URI '" + trackingUri + "': " + e.getMessage());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme();
    if (!scheme.matches("grpcs?|https?")) {
      throw new InvalidArgumentException("Unsupported tracking URI '" + trackingUri
          + "': the Java client speaks grpc://, grpcs://, http:// and https://");
    }
    if (uri.getHost() == null) {
      throw new InvalidArgumentException("Tracking URI '" + trackingUri + "' names no host");
    }
    Transport transport;
    if (scheme.startsWith("http")) {
      transport = HttpTransport.open(uri, caCertificates, token);
    } else {
      boolean tls = scheme.equals("grpcs");
      int port = uri.getPort() != -1 ? uri.getPort() : tls ? DEFAULT_GRPCS_PORT : DEFAULT_GRPC_PORT;
      transport = GrpcTransport.open(uri.getHost(), port, tls, caCertificates, token);
    }
    return new TrackwireClient(transport, sleeper);
  }

  /** The first of these variables that is set and not empty. */
  private static Optional<String> environment(String... names) {
    for (String name : names) {
      String value = System.getenv(name);
      if (value != null && !value.isEmpty()) {
        return Optional.of(value);
      }
    }
    return Optional.empty();
  }

  /**
   * The short names of the RPCs this client sends again when their answer is lost, sorted: those
   * the schema marks RETRY_SAFE or RETRY_WITH_REQUEST_ID.
   */
  public static List<String> retryableRpcs() {
    return RetryPolicy.retryableRpcs();
  }

  /** Closes the connection, waiting briefly for calls in flight. */
  @Override
  public void close() {
    transport.close();
  }

  // ---- experiments -------------------------------------------------------------------------

  /** Creates an experiment and returns its id; {@link AlreadyExistsException} if the name is taken. */
  public String createExperiment(String name) {
    return createExperiment(name, null, Collections.emptyMap());
  }

  /** Creates an experiment with an artifact location ({@code null}: the server's choice) and tags. */
  public String createExperiment(String name, String artifactLocation, Map<String, String> tags) {
    CreateExperimentRequest.Builder request = CreateExperimentRequest.newBuilder().setName(name);
    if (artifactLocation != null) {
      request.setArtifactLocation(artifactLocation);
    }
    tags.forEach((k, v) -> request.addTags(ExperimentTag.newBuilder().setKey(k).setValue(v)));
    return call(TrackingServiceGrpc.getCreateExperimentMethod(), request.build()).getExperimentId();
  }

  /**
   * The id of the experiment with this name, created if there is none (also when another client
   * creates it at the same moment).
   */
  public String getOrCreateExperiment(String name) {
    Optional<Experiment> existing = getExperimentByName(name);
    if (existing.isPresent()) {
      return existing.get().getExperimentId();
    }
    try {
      return createExperiment(name);
    } catch (AlreadyExistsException createdMeanwhile) {
      return getExperimentByName(name).orElseThrow(() -> createdMeanwhile).getExperimentId();
    }
  }

  public Experiment getExperiment(String experimentId) {
    return call(TrackingServiceGrpc.getGetExperimentMethod(),
        GetExperimentRequest.newBuilder().setExperimentId(experimentId).build()).getExperiment();
  }

  /** The experiment with this name, if there is one (deleted experiments included). */
  public Optional<Experiment> getExperimentByName(String name) {
    try {
      return Optional.of(call(TrackingServiceGrpc.getGetExperimentByNameMethod(),
          GetExperimentByNameRequest.newBuilder().setExperimentName(name).build()).getExperiment());
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }

  /** Every active experiment matching a filter ({@code null} for all), fetched page by page as read. */
  public Stream<Experiment> searchExperiments(String filter) {
    SearchExperimentsRequest.Builder request = SearchExperimentsRequest.newBuilder();
    if (filter != null) {
      request.setFilter(filter);
    }
    return searchExperiments(request.build());
  }

  /**
   * Every experiment a search finds (order, view type, page size as in the request), from the
   * request's page token on, fetched page by page as the stream is read.
   */
  public Stream<Experiment> searchExperiments(SearchExperimentsRequest request) {
    return Pages.stream(request.getPageToken(),
        token -> searchExperimentsPage(request.toBuilder().setPageToken(token).build()));
  }

  /** One page of a search; its {@link Page#nextPageToken()} asks for the next. */
  public Page<Experiment> searchExperimentsPage(SearchExperimentsRequest request) {
    SearchExperimentsResponse response = call(TrackingServiceGrpc.getSearchExperimentsMethod(), request);
    return Page.of(response.getExperimentsList(), response.getNextPageToken());
  }

  public void renameExperiment(String experimentId, String newName) {
    call(TrackingServiceGrpc.getUpdateExperimentMethod(), UpdateExperimentRequest.newBuilder()
        .setExperimentId(experimentId).setNewName(newName).build());
  }

  /** Marks the experiment and its runs deleted; {@link #restoreExperiment} undoes it. */
  public void deleteExperiment(String experimentId) {
    call(TrackingServiceGrpc.getDeleteExperimentMethod(),
        DeleteExperimentRequest.newBuilder().setExperimentId(experimentId).build());
  }

  public void restoreExperiment(String experimentId) {
    call(TrackingServiceGrpc.getRestoreExperimentMethod(),
        RestoreExperimentRequest.newBuilder().setExperimentId(experimentId).build());
  }

  public void setExperimentTag(String experimentId, String key, String value) {
    call(TrackingServiceGrpc.getSetExperimentTagMethod(), SetExperimentTagRequest.newBuilder()
        .setExperimentId(experimentId).setKey(key).setValue(value).build());
  }

  public void deleteExperimentTag(String experimentId, String key) {
    call(TrackingServiceGrpc.getDeleteExperimentTagMethod(), DeleteExperimentTagRequest.newBuilder()
        .setExperimentId(experimentId).setKey(key).build());
  }

  // ---- runs --------------------------------------------------------------------------------

  /** Creates a RUNNING run in the experiment. */
  public Run createRun(String experimentId) {
    return createRun(experimentId, null, null, Collections.emptyMap());
  }

  /**
   * Creates a RUNNING run.
   *
   * @param runName {@code null} lets the server pick one
   * @param startTime milliseconds since the epoch; {@code null} for the server's clock
   */
  public Run createRun(String experimentId, String runName, Long startTime, Map<String, String> tags) {
    CreateRunRequest.Builder request = CreateRunRequest.newBuilder().setExperimentId(experimentId)
        .setUserId(System.getProperty("user.name", ""));
    if (runName != null) {
      request.setRunName(runName);
    }
    if (startTime != null) {
      request.setStartTime(startTime);
    }
    tags.forEach((k, v) -> request.addTags(RunTag.newBuilder().setKey(k).setValue(v)));
    return call(TrackingServiceGrpc.getCreateRunMethod(), request.build()).getRun();
  }

  public Run getRun(String runId) {
    return call(TrackingServiceGrpc.getGetRunMethod(), GetRunRequest.newBuilder().setRunId(runId).build())
        .getRun();
  }

  /** Updates whichever of status, end time and name is not {@code null}. */
  public RunInfo updateRun(String runId, RunStatus status, Long endTime, String runName) {
    UpdateRunRequest.Builder request = UpdateRunRequest.newBuilder().setRunId(runId);
    if (status != null) {
      request.setStatus(status);
    }
    if (endTime != null) {
      request.setEndTime(endTime);
    }
    if (runName != null) {
      request.setRunName(runName);
    }
    return call(TrackingServiceGrpc.getUpdateRunMethod(), request.build()).getRunInfo();
  }

  /** Ends a run with this status, now. */
  public RunInfo setTerminated(String runId, RunStatus status) {
    return updateRun(runId, status, System.currentTimeMillis(), null);
  }

  public void deleteRun(String runId) {
    call(TrackingServiceGrpc.getDeleteRunMethod(), DeleteRunRequest.newBuilder().setRunId(runId).build());
  }

  /**
   * Deletes the experiment's oldest active runs that started at or before
   * {@code maxTimestampMillis}, at most {@code maxRuns} of them (0 for the server's default and
   * largest, 10,000); returns how many were deleted. They stay restorable until
   * {@code trackwire gc} purges them.
   */
  public int deleteRuns(String experimentId, long maxTimestampMillis, int maxRuns) {
    return call(TrackingServiceGrpc.getDeleteRunsMethod(), DeleteRunsRequest.newBuilder()
        .setExperimentId(experimentId)
        .setMaxTimestampMillis(maxTimestampMillis)
        .setMaxRuns(maxRuns)
        .build()).getRunsDeleted();
  }

  public void restoreRun(String runId) {
    call(TrackingServiceGrpc.getRestoreRunMethod(), RestoreRunRequest.newBuilder().setRunId(runId).build());
  }

  /**
   * Every active run of the experiments matching a filter ({@code null} for all), fetched page
   * by page as the stream is read.
   */
  public Stream<Run> searchRuns(List<String> experimentIds, String filter) {
    SearchRunsRequest.Builder request = SearchRunsRequest.newBuilder().addAllExperimentIds(experimentIds);
    if (filter != null) {
      request.setFilter(filter);
    }
    return searchRuns(request.build());
  }

  /**
   * Every run a search finds (order, view type, page size as in the request), from the
   * request's page token on, fetched page by page as the stream is read.
   */
  public Stream<Run> searchRuns(SearchRunsRequest request) {
    return Pages.stream(request.getPageToken(),
        token -> searchRunsPage(request.toBuilder().setPageToken(token).build()));
  }

  /** One page of a search; its {@link Page#nextPageToken()} asks for the next. */
  public Page<Run> searchRunsPage(SearchRunsRequest request) {
    SearchRunsResponse response = call(TrackingServiceGrpc.getSearchRunsMethod(), request);
    return Page.of(response.getRunsList(), response.getNextPageToken());
  }

  /** Creates a run and returns a handle that ends it when closed. */
  public ActiveRun startRun(String experimentId) {
    return new ActiveRun(this, createRun(experimentId));
  }

  /** Creates a named run ({@code null}: the server names it) with tags; ends it when closed. */
  public ActiveRun startRun(String experimentId, String runName, Map<String, String> tags) {
    return new ActiveRun(this, createRun(experimentId, runName, null, tags));
  }

  /**
   * Runs {@code body} in a new run of the experiment and ends the run FINISHED when the body
   * returns, FAILED when it throws (the exception is rethrown).
   */
  public void withRun(String experimentId, Consumer<ActiveRun> body) {
    withRun(experimentId, null, Collections.emptyMap(), body);
  }

  /** As {@link #withRun(String, Consumer)}, for a named run with tags. */
  public void withRun(
      String experimentId, String runName, Map<String, String> tags, Consumer<ActiveRun> body) {
    try (ActiveRun run = startRun(experimentId, runName, tags)) {
      try {
        body.accept(run);
      } catch (RuntimeException | Error e) {
        run.fail();
        throw e;
      }
    }
  }

  // ---- logging -----------------------------------------------------------------------------

  /** Logs a param; params are write-once (a different value is refused). */
  public void logParam(String runId, String key, String value) {
    call(TrackingServiceGrpc.getLogParamMethod(),
        LogParamRequest.newBuilder().setRunId(runId).setKey(key).setValue(value).build());
  }

  /** Logs params in as few requests as the server's limits allow. */
  public void logParams(String runId, Map<String, String> params) {
    logBatch(runId, Collections.emptyList(), params.entrySet().stream()
        .map(e -> Param.newBuilder().setKey(e.getKey()).setValue(e.getValue()).build())
        .collect(Collectors.toList()), Collections.emptyList());
  }

  /** Logs a metric point at step 0, now. */
  public void logMetric(String runId, String key, double value) {
    logMetric(runId, key, value, System.currentTimeMillis(), 0);
  }

  /** Logs a metric point; NaN and infinities are valid values. */
  public void logMetric(String runId, String key, double value, long timestamp, long step) {
    call(TrackingServiceGrpc.getLogMetricMethod(), LogMetricRequest.newBuilder().setRunId(runId)
        .setKey(key).setValue(value).setTimestamp(timestamp).setStep(step).build());
  }

  /** Logs one point of each metric at step 0, now. */
  public void logMetrics(String runId, Map<String, Double> values) {
    logMetrics(runId, values, 0);
  }

  /** Logs one point of each metric at this step, now, in as few requests as the limits allow. */
  public void logMetrics(String runId, Map<String, Double> values, long step) {
    long now = System.currentTimeMillis();
    logBatch(runId, values.entrySet().stream()
        .map(e -> Metric.newBuilder().setKey(e.getKey()).setValue(e.getValue())
            .setTimestamp(now).setStep(step).build())
        .collect(Collectors.toList()), Collections.emptyList(), Collections.emptyList());
  }

  /** Sets (or overwrites) a run tag. */
  public void setTag(String runId, String key, String value) {
    call(TrackingServiceGrpc.getSetTagMethod(),
        SetTagRequest.newBuilder().setRunId(runId).setKey(key).setValue(value).build());
  }

  /** Sets (or overwrites) run tags, in as few requests as the server's limits allow. */
  public void setTags(String runId, Map<String, String> tags) {
    logBatch(runId, Collections.emptyList(), Collections.emptyList(), tags.entrySet().stream()
        .map(e -> RunTag.newBuilder().setKey(e.getKey()).setValue(e.getValue()).build())
        .collect(Collectors.toList()));
  }

  public void deleteTag(String runId, String key) {
    call(TrackingServiceGrpc.getDeleteTagMethod(),
        DeleteTagRequest.newBuilder().setRunId(runId).setKey(key).build());
  }

  /**
   * Logs metrics, params and tags in as few requests as the server's limits allow. Each request
   * is atomic on the server; a batch larger than one request is not (earlier chunks stay).
   */
  public void logBatch(String runId, List<Metric> metrics, List<Param> params, List<RunTag> tags) {
    for (LogBatchRequest request : BatchChunker.chunk(runId, metrics, params, tags)) {
      call(TrackingServiceGrpc.getLogBatchMethod(), request);
    }
  }

  /** Records datasets used by the run. */
  public void logInputs(String runId, List<DatasetInput> datasets) {
    call(TrackingServiceGrpc.getLogInputsMethod(),
        LogInputsRequest.newBuilder().setRunId(runId).addAllDatasets(datasets).build());
  }

  /** The whole history of a metric in step order, streamed from the server in chunks. */
  public List<Metric> getMetricHistory(String runId, String key) {
    List<Metric> points = new ArrayList<>();
    Iterator<StreamMetricHistoryResponse> chunks = stream(TrackingServiceGrpc.getStreamMetricHistoryMethod(),
        StreamMetricHistoryRequest.newBuilder().setRunId(runId).setMetricKey(key).build());
    chunks.forEachRemaining(chunk -> points.addAll(chunk.getMetricsList()));
    return points;
  }

  /**
   * A metric of several runs (at most 100) summarised for a chart: the runs' whole step range
   * cut into {@code buckets} equal buckets (0: the server's default, 1000), each with its first
   * and last step, last value, minimum, maximum and count, so no spike is lost.
   */
  public GetMetricBucketsResponse getMetricBuckets(List<String> runIds, String key, int buckets) {
    return getMetricBuckets(GetMetricBucketsRequest.newBuilder()
        .addAllRunIds(runIds).setMetricKey(key).setBuckets(buckets).build());
  }

  /** As {@link #getMetricBuckets(List, String, int)}, for the step range the request sets (a zoom). */
  public GetMetricBucketsResponse getMetricBuckets(GetMetricBucketsRequest request) {
    return call(TrackingServiceGrpc.getGetMetricBucketsMethod(), request);
  }

  // ---- artifacts ---------------------------------------------------------------------------

  /** Uploads a file to the run's artifact root under its own name. */
  public FileInfo logArtifact(String runId, Path localFile) {
    return uploadArtifact(runId, localFile, localFile.getFileName().toString());
  }

  /** Uploads a file into a directory of the run's artifacts ({@code ""} for the root). */
  public FileInfo logArtifact(String runId, Path localFile, String artifactDir) {
    return uploadArtifact(runId, localFile, join(artifactDir, localFile.getFileName().toString()));
  }

  /** Uploads a directory tree into a directory of the run's artifacts ({@code ""} for the root). */
  public List<FileInfo> logArtifacts(String runId, Path localDir, String artifactDir) {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(localDir)) {
      files = walk.filter(Files::isRegularFile).sorted().collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read directory " + localDir, e);
    }
    List<FileInfo> uploaded = new ArrayList<>();
    for (Path file : files) {
      String relative = localDir.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
      uploaded.add(uploadArtifact(runId, file, join(artifactDir, relative)));
    }
    return uploaded;
  }

  /**
   * Streams a local file to {@code destinationPath} among the run's artifacts in chunks, never
   * holding the file in memory.
   */
  public FileInfo uploadArtifact(String runId, Path localFile, String destinationPath) {
    return upload(UploadArtifactRequest.newBuilder().setRunId(runId), localFile, destinationPath);
  }

  private FileInfo upload(UploadArtifactRequest.Builder owner, Path localFile, String destinationPath) {
    try (InputStream in = Files.newInputStream(localFile)) {
      return transport.clientStream(ArtifactServiceGrpc.getUploadArtifactMethod(),
          owner.setPath(destinationPath).build(), in,
          chunk -> UploadArtifactRequest.newBuilder().setData(chunk).build()).getFileInfo();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + localFile, e);
    }
  }

  /** The direct children of a directory of the run's artifacts ({@code ""} for the root). */
  public List<FileInfo> listArtifacts(String runId, String path) {
    return listFiles(ListArtifactsRequest.newBuilder().setRunId(runId), path);
  }

  /** {@code owner}: the request naming the run (run_id) or the logged model (model_id). */
  private List<FileInfo> listFiles(ListArtifactsRequest.Builder owner, String path) {
    List<FileInfo> files = new ArrayList<>();
    String token = "";
    do {
      ListArtifactsRequest request = owner.setPath(path == null ? "" : path).setPageToken(token).build();
      ListArtifactsResponse page = call(ArtifactServiceGrpc.getListArtifactsMethod(), request);
      files.addAll(page.getFilesList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return files;
  }

  /**
   * Streams one artifact file to a local file, replacing it. Nothing is left at
   * {@code localFile} when the download fails.
   */
  public Path downloadArtifact(String runId, String path, Path localFile) {
    return downloadFile(DownloadArtifactRequest.newBuilder().setRunId(runId).setPath(path).build(), localFile);
  }

  private Path downloadFile(DownloadArtifactRequest request, Path localFile) {
    Path parent = localFile.toAbsolutePath().getParent();
    Path partial;
    try {
      Files.createDirectories(parent);
      partial = Files.createTempFile(parent, ".trackwire-download-", ".part");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write to " + parent, e);
    }
    try {
      try (OutputStream out = Files.newOutputStream(partial)) {
        Iterator<DownloadArtifactResponse> chunks =
            stream(ArtifactServiceGrpc.getDownloadArtifactMethod(), request);
        while (chunks.hasNext()) {
          chunks.next().getData().writeTo(out);
        }
      }
      return Files.move(partial, localFile, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + localFile, e);
    } finally {
      try {
        Files.deleteIfExists(partial);
      } catch (IOException ignored) {
        // best effort: only a leftover temporary file
      }
    }
  }

  /** Downloads a directory of the run's artifacts ({@code ""}: all of them) into a local one. */
  public Path downloadArtifacts(String runId, String path, Path localDir) {
    for (FileInfo file : listArtifacts(runId, path)) {
      String name = file.getPath().substring(file.getPath().lastIndexOf('/') + 1);
      if (file.getIsDir()) {
        downloadArtifacts(runId, file.getPath(), localDir.resolve(name));
      } else {
        downloadArtifact(runId, file.getPath(), localDir.resolve(name));
      }
    }
    return localDir;
  }

  /** Deletes a file, or a directory with everything below it, from the run's artifacts. */
  public void deleteArtifact(String runId, String path) {
    call(ArtifactServiceGrpc.getDeleteArtifactMethod(),
        DeleteArtifactRequest.newBuilder().setRunId(runId).setPath(path).build());
  }

  // ---- logged models (MLflow 3) --------------------------------------------------------------

  /** Creates a logged model (status PENDING) in an experiment; {@code sourceRunId} may be null. */
  public LoggedModel createLoggedModel(String experimentId, String name, String sourceRunId) {
    CreateLoggedModelRequest.Builder request = CreateLoggedModelRequest.newBuilder()
        .setExperimentId(experimentId);
    if (name != null) {
      request.setName(name);
    }
    if (sourceRunId != null) {
      request.setSourceRunId(sourceRunId);
    }
    return call(LoggedModelServiceGrpc.getCreateLoggedModelMethod(), request.build()).getModel();
  }

  /** Marks a logged model READY once its artifacts are uploaded. */
  public LoggedModel finalizeLoggedModel(String modelId) {
    return call(LoggedModelServiceGrpc.getFinalizeLoggedModelMethod(),
        FinalizeLoggedModelRequest.newBuilder().setModelId(modelId)
            .setStatus(LoggedModelStatus.LOGGED_MODEL_STATUS_LOGGED_MODEL_READY).build()).getModel();
  }

  public LoggedModel getLoggedModel(String modelId) {
    return call(LoggedModelServiceGrpc.getGetLoggedModelMethod(),
        GetLoggedModelRequest.newBuilder().setModelId(modelId).build()).getModel();
  }

  /** Every logged model of the experiments that matches {@code filter} (null: all of them). */
  public Stream<LoggedModel> searchLoggedModels(List<String> experimentIds, String filter) {
    SearchLoggedModelsRequest.Builder request =
        SearchLoggedModelsRequest.newBuilder().addAllExperimentIds(experimentIds);
    if (filter != null) {
      request.setFilter(filter);
    }
    SearchLoggedModelsRequest first = request.build();
    return Pages.stream(first.getPageToken(),
        token -> searchLoggedModelsPage(first.toBuilder().setPageToken(token).build()));
  }

  /** One page of a search of logged models; its {@link Page#nextPageToken()} asks for the next. */
  public Page<LoggedModel> searchLoggedModelsPage(SearchLoggedModelsRequest request) {
    SearchLoggedModelsResponse response = call(LoggedModelServiceGrpc.getSearchLoggedModelsMethod(), request);
    return Page.of(response.getModelsList(), response.getNextPageToken());
  }

  /** Streams a local file to {@code destinationPath} among the logged model's artifacts. */
  public FileInfo uploadLoggedModelArtifact(String modelId, Path localFile, String destinationPath) {
    return upload(UploadArtifactRequest.newBuilder().setModelId(modelId), localFile, destinationPath);
  }

  /** The direct children of a directory of the model's artifacts ({@code ""} for the root). */
  public List<FileInfo> listLoggedModelArtifacts(String modelId, String path) {
    return listFiles(ListArtifactsRequest.newBuilder().setModelId(modelId), path);
  }

  /** Streams one file of the model's artifacts to a local file, replacing it. */
  public Path downloadLoggedModelArtifact(String modelId, String path, Path localFile) {
    return downloadFile(
        DownloadArtifactRequest.newBuilder().setModelId(modelId).setPath(path).build(), localFile);
  }

  /** Downloads a directory of the model's artifacts ({@code ""}: all of them) into a local one. */
  public Path downloadLoggedModelArtifacts(String modelId, String path, Path localDir) {
    for (FileInfo file : listLoggedModelArtifacts(modelId, path)) {
      String name = file.getPath().substring(file.getPath().lastIndexOf('/') + 1);
      if (file.getIsDir()) {
        downloadLoggedModelArtifacts(modelId, file.getPath(), localDir.resolve(name));
      } else {
        downloadLoggedModelArtifact(modelId, file.getPath(), localDir.resolve(name));
      }
    }
    return localDir;
  }

  // ---- experiment permissions (servers started with --auth) ---------------------------------

  /** Grants a user a permission on an experiment (needs MANAGE on it, or an admin token). */
  public ExperimentPermission createExperimentPermission(
      String experimentId, String username, Permission permission) {
    return call(TrackingServiceGrpc.getCreateExperimentPermissionMethod(),
        CreateExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).setPermission(permission).build())
        .getExperimentPermission();
  }

  public ExperimentPermission getExperimentPermission(String experimentId, String username) {
    return call(TrackingServiceGrpc.getGetExperimentPermissionMethod(),
        GetExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).build())
        .getExperimentPermission();
  }

  public void updateExperimentPermission(
      String experimentId, String username, Permission permission) {
    call(TrackingServiceGrpc.getUpdateExperimentPermissionMethod(),
        UpdateExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).setPermission(permission).build());
  }

  public void deleteExperimentPermission(String experimentId, String username) {
    call(TrackingServiceGrpc.getDeleteExperimentPermissionMethod(),
        DeleteExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).build());
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private static String join(String dir, String name) {
    if (dir == null || dir.isEmpty()) {
      return name;
    }
    return dir.endsWith("/") ? dir + name : dir + "/" + name;
  }

  /**
   * One unary call, retried as its RPC's policy in the schema allows (see {@link RetryPolicy}):
   * the same request each time, with its idempotency key if the policy asks for one.
   */
  // -- model registry ------------------------------------------------------------------------

  public RegisteredModel createRegisteredModel(String name) {
    return call(ModelRegistryServiceGrpc.getCreateRegisteredModelMethod(),
        CreateRegisteredModelRequest.newBuilder().setName(name).build()).getRegisteredModel();
  }

  /** A new version of a registered model from a source such as {@code runs:/<run_id>/model}. */
  public ModelVersion createModelVersion(String name, String source, String runId) {
    CreateModelVersionRequest.Builder request =
        CreateModelVersionRequest.newBuilder().setName(name).setSource(source);
    if (runId != null) {
      request.setRunId(runId);
    }
    return call(ModelRegistryServiceGrpc.getCreateModelVersionMethod(), request.build()).getModelVersion();
  }

  public RegisteredModel getRegisteredModel(String name) {
    return call(ModelRegistryServiceGrpc.getGetRegisteredModelMethod(),
        GetRegisteredModelRequest.newBuilder().setName(name).build()).getRegisteredModel();
  }

  /** Every registered model matching a filter ({@code null} for all), fetched page by page as read. */
  public Stream<RegisteredModel> searchRegisteredModels(String filter) {
    SearchRegisteredModelsRequest request = SearchRegisteredModelsRequest.newBuilder()
        .setFilter(filter == null ? "" : filter).build();
    return Pages.stream("",
        token -> searchRegisteredModelsPage(request.toBuilder().setPageToken(token).build()));
  }

  /** One page of a registered model search; its {@link Page#nextPageToken()} asks for the next. */
  public Page<RegisteredModel> searchRegisteredModelsPage(SearchRegisteredModelsRequest request) {
    SearchRegisteredModelsResponse response =
        call(ModelRegistryServiceGrpc.getSearchRegisteredModelsMethod(), request);
    return Page.of(response.getRegisteredModelsList(), response.getNextPageToken());
  }

  /** The latest version of a model in each of the given stages (every stage when none). */
  public List<ModelVersion> getLatestVersions(String name, String... stages) {
    return call(ModelRegistryServiceGrpc.getGetLatestVersionsMethod(),
        GetLatestVersionsRequest.newBuilder().setName(name).addAllStages(Arrays.asList(stages)).build())
        .getModelVersionsList();
  }

  public ModelVersion getModelVersion(String name, String version) {
    return call(ModelRegistryServiceGrpc.getGetModelVersionMethod(),
        GetModelVersionRequest.newBuilder().setName(name).setVersion(version).build()).getModelVersion();
  }

  /** The version an alias of the model points at. */
  public ModelVersion getModelVersionByAlias(String name, String alias) {
    return call(ModelRegistryServiceGrpc.getGetModelVersionByAliasMethod(),
        GetModelVersionByAliasRequest.newBuilder().setName(name).setAlias(alias).build()).getModelVersion();
  }

  /** Every model version matching a filter ({@code null} for all), fetched page by page as read. */
  public Stream<ModelVersion> searchModelVersions(String filter) {
    SearchModelVersionsRequest request = SearchModelVersionsRequest.newBuilder()
        .setFilter(filter == null ? "" : filter).build();
    return Pages.stream("",
        token -> searchModelVersionsPage(request.toBuilder().setPageToken(token).build()));
  }

  /** One page of a model version search; its {@link Page#nextPageToken()} asks for the next. */
  public Page<ModelVersion> searchModelVersionsPage(SearchModelVersionsRequest request) {
    SearchModelVersionsResponse response =
        call(ModelRegistryServiceGrpc.getSearchModelVersionsMethod(), request);
    return Page.of(response.getModelVersionsList(), response.getNextPageToken());
  }

  private <Q extends Message, R extends Message> R call(MethodDescriptor<Q, R> method, Q request) {
    String name = method.getFullMethodName();
    Q sent = RetryPolicy.withRequestId(name, request);
    return RetryPolicy.call(name, () -> transport.unary(method, sent), sleeper);
  }

  /** A server-streaming call; starting it is retried as its policy allows, reading it is not. */
  private <Q extends Message, R extends Message> Iterator<R> stream(MethodDescriptor<Q, R> method, Q request) {
    String name = method.getFullMethodName();
    return RetryPolicy.call(name, () -> transport.serverStream(method, request), sleeper);
  }
}
