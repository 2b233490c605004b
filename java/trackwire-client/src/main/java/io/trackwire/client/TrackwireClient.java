package io.trackwire.client;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.trackwire.v1.ArtifactServiceGrpc;
import io.trackwire.v1.CreateExperimentPermissionRequest;
import io.trackwire.v1.CreateExperimentRequest;
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
import io.trackwire.v1.GetExperimentRequest;
import io.trackwire.v1.GetRunRequest;
import io.trackwire.v1.ListArtifactsRequest;
import io.trackwire.v1.ListArtifactsResponse;
import io.trackwire.v1.LogBatchRequest;
import io.trackwire.v1.LogInputsRequest;
import io.trackwire.v1.LogMetricRequest;
import io.trackwire.v1.LogParamRequest;
import io.trackwire.v1.Metric;
import io.trackwire.v1.Param;
import io.trackwire.v1.Permission;
import io.trackwire.v1.RestoreExperimentRequest;
import io.trackwire.v1.RestoreRunRequest;
import io.trackwire.v1.Run;
import io.trackwire.v1.RunInfo;
import io.trackwire.v1.RunStatus;
import io.trackwire.v1.RunTag;
import io.trackwire.v1.SearchExperimentsRequest;
import io.trackwire.v1.SearchExperimentsResponse;
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
import io.trackwire.v1.UploadArtifactResponse;
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
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Client of a trackwire server over gRPC: experiments, runs, everything logged to runs, and
 * artifacts. Thread-safe; share one instance and {@link #close()} it when done.
 *
 * <pre>{@code
 * try (TrackwireClient client = TrackwireClient.fromEnvironment()) {
 *   String experimentId = client.createExperiment("demo");
 *   client.withRun(experimentId, run -> run.logMetric("loss", 0.25));
 * }
 * }</pre>
 *
 * <p>Failures surface as unchecked {@link TrackwireException}s carrying the server's message.
 */
public final class TrackwireClient implements AutoCloseable {
  /** Environment variable naming the server, e.g. {@code grpc://tracking.example.com:50051}. */
  public static final String TRACKING_URI_ENV = "TRACKWIRE_TRACKING_URI";
  /** Environment variable with a bearer token sent on every call. */
  public static final String TOKEN_ENV = "TRACKWIRE_TOKEN";
  /** Environment variable naming a PEM file of CA certificates to trust for grpcs://. */
  public static final String CA_CERT_ENV = "TRACKWIRE_CA_CERT";
  /** Used when {@value #TRACKING_URI_ENV} is unset: a server on this machine. */
  public static final String DEFAULT_TRACKING_URI = "grpc://localhost:50051";

  private static final int DEFAULT_GRPC_PORT = 50051;
  private static final int DEFAULT_GRPCS_PORT = 443;

  private final ManagedChannel channel;
  private final TrackingServiceGrpc.TrackingServiceBlockingStub tracking;
  private final ArtifactServiceGrpc.ArtifactServiceBlockingStub artifacts;
  private final ArtifactServiceGrpc.ArtifactServiceStub artifactsAsync;
  private final RetryPolicy.Sleeper sleeper;

  private TrackwireClient(ManagedChannel channel, String token, RetryPolicy.Sleeper sleeper) {
    this.channel = channel;
    this.sleeper = sleeper;
    Channel calls = channel;
    if (token != null && !token.isEmpty()) {
      Metadata headers = new Metadata();
      headers.put(
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      calls = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.tracking = TrackingServiceGrpc.newBlockingStub(calls);
    this.artifacts = ArtifactServiceGrpc.newBlockingStub(calls);
    this.artifactsAsync = ArtifactServiceGrpc.newStub(calls);
  }

  /**
   * Connects as configured by {@code TRACKWIRE_TRACKING_URI}, {@code TRACKWIRE_TOKEN} and
   * {@code TRACKWIRE_CA_CERT}.
   */
  public static TrackwireClient fromEnvironment() {
    String uri = System.getenv(TRACKING_URI_ENV);
    return connect(uri == null || uri.isEmpty() ? DEFAULT_TRACKING_URI : uri, System.getenv(TOKEN_ENV));
  }

  /** Connects to {@code grpc://host:port} (plaintext) or {@code grpcs://host:port} (TLS). */
  public static TrackwireClient connect(String trackingUri) {
    return connect(trackingUri, System.getenv(TOKEN_ENV));
  }

  /**
   * Connects with an explicit bearer token ({@code null} for none); for grpcs:// the CA
   * certificates in {@code TRACKWIRE_CA_CERT} are trusted if it is set, else the system's.
   */
  public static TrackwireClient connect(String trackingUri, String token) {
    String ca = System.getenv(CA_CERT_ENV);
    return connect(trackingUri, token, ca == null || ca.isEmpty() ? null : Path.of(ca));
  }

  /**
   * Connects with an explicit bearer token and, for grpcs://, a PEM file of CA certificates to
   * trust ({@code null} for the system's). Channels are lazy: an unreachable server shows up as
   * {@link UnavailableException} on the first call.
   */
  public static TrackwireClient connect(String trackingUri, String token, Path caCertificates) {
    return connect(trackingUri, token, caCertificates, Thread::sleep);
  }

  /** As {@link #connect(String, String, Path)}, waiting between write retries with {@code sleeper}. */
  static TrackwireClient connect(
      String trackingUri, String token, Path caCertificates, RetryPolicy.Sleeper sleeper) {
    URI uri;
    try {
      uri = new URI(trackingUri);
    } catch (URISyntaxException e) {
      throw new InvalidArgumentException("Invalid tracking URI '" + trackingUri + "': " + e.getMessage());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme();
    ChannelCredentials credentials;
    int defaultPort;
    switch (scheme) {
      case "grpc":
        credentials = InsecureChannelCredentials.create();
        defaultPort = DEFAULT_GRPC_PORT;
        break;
      case "grpcs":
        credentials = tls(caCertificates);
        defaultPort = DEFAULT_GRPCS_PORT;
        break;
      default:
        throw new InvalidArgumentException(
            "Unsupported tracking URI '" + trackingUri + "': the Java client speaks grpc:// and grpcs://");
    }
    if (uri.getHost() == null) {
      throw new InvalidArgumentException("Tracking URI '" + trackingUri + "' names no host");
    }
    int port = uri.getPort() != -1 ? uri.getPort() : defaultPort;
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(uri.getHost(), port, credentials)
        .maxInboundMessageSize(ServerLimits.MAX_REQUEST_BYTES)
        .defaultServiceConfig(RetryPolicy.serviceConfig())
        .enableRetry()
        .build();
    return new TrackwireClient(channel, token, sleeper);
  }

  private static ChannelCredentials tls(Path caCertificates) {
    if (caCertificates == null) {
      return TlsChannelCredentials.create();
    }
    try {
      return TlsChannelCredentials.newBuilder().trustManager(caCertificates.toFile()).build();
    } catch (IOException e) {
      throw new InvalidArgumentException(
          "Cannot read CA certificates from " + caCertificates + ": " + e.getMessage());
    }
  }

  /** Shuts the channel down, waiting briefly for calls in flight. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  // ---- experiments -------------------------------------------------------------------------

  /** Creates an experiment and returns its id. */
  public String createExperiment(String name) {
    return createExperiment(name, null, Map.of());
  }

  /** Creates an experiment with an artifact location ({@code null}: the server's choice) and tags. */
  public String createExperiment(String name, String artifactLocation, Map<String, String> tags) {
    CreateExperimentRequest.Builder request = CreateExperimentRequest.newBuilder().setName(name);
    if (artifactLocation != null) {
      request.setArtifactLocation(artifactLocation);
    }
    tags.forEach((k, v) -> request.addTags(ExperimentTag.newBuilder().setKey(k).setValue(v)));
    return call(() -> tracking.createExperiment(request.build())).getExperimentId();
  }

  public Experiment getExperiment(String experimentId) {
    return call(() -> tracking.getExperiment(
        GetExperimentRequest.newBuilder().setExperimentId(experimentId).build())).getExperiment();
  }

  /** The experiment with this name; {@link NotFoundException} when there is none. */
  public Experiment getExperimentByName(String name) {
    return call(() -> tracking.getExperimentByName(
        GetExperimentByNameRequest.newBuilder().setExperimentName(name).build())).getExperiment();
  }

  /** Active experiments matching a filter ({@code null} for all), first page. */
  public Page<Experiment> searchExperiments(String filter) {
    SearchExperimentsRequest.Builder request = SearchExperimentsRequest.newBuilder();
    if (filter != null) {
      request.setFilter(filter);
    }
    return searchExperiments(request.build());
  }

  /** A search with every option of the request (order, view type, page size and token). */
  public Page<Experiment> searchExperiments(SearchExperimentsRequest request) {
    SearchExperimentsResponse response = call(() -> tracking.searchExperiments(request));
    return Page.of(response.getExperimentsList(), response.getNextPageToken());
  }

  public void renameExperiment(String experimentId, String newName) {
    call(() -> tracking.updateExperiment(UpdateExperimentRequest.newBuilder()
        .setExperimentId(experimentId).setNewName(newName).build()));
  }

  /** Marks the experiment and its runs deleted; {@link #restoreExperiment} undoes it. */
  public void deleteExperiment(String experimentId) {
    call(() -> tracking.deleteExperiment(
        DeleteExperimentRequest.newBuilder().setExperimentId(experimentId).build()));
  }

  public void restoreExperiment(String experimentId) {
    call(() -> tracking.restoreExperiment(
        RestoreExperimentRequest.newBuilder().setExperimentId(experimentId).build()));
  }

  public void setExperimentTag(String experimentId, String key, String value) {
    call(() -> tracking.setExperimentTag(SetExperimentTagRequest.newBuilder()
        .setExperimentId(experimentId).setKey(key).setValue(value).build()));
  }

  public void deleteExperimentTag(String experimentId, String key) {
    call(() -> tracking.deleteExperimentTag(DeleteExperimentTagRequest.newBuilder()
        .setExperimentId(experimentId).setKey(key).build()));
  }

  // ---- runs --------------------------------------------------------------------------------

  /** Creates a RUNNING run in the experiment. */
  public Run createRun(String experimentId) {
    return createRun(experimentId, null, null, Map.of());
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
    return call(() -> tracking.createRun(request.build())).getRun();
  }

  public Run getRun(String runId) {
    return call(() -> tracking.getRun(GetRunRequest.newBuilder().setRunId(runId).build())).getRun();
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
    return call(() -> tracking.updateRun(request.build())).getRunInfo();
  }

  /** Ends a run with this status, now. */
  public RunInfo setTerminated(String runId, RunStatus status) {
    return updateRun(runId, status, System.currentTimeMillis(), null);
  }

  public void deleteRun(String runId) {
    call(() -> tracking.deleteRun(DeleteRunRequest.newBuilder().setRunId(runId).build()));
  }

  /**
   * Deletes the experiment's oldest active runs that started at or before
   * {@code maxTimestampMillis}, at most {@code maxRuns} of them (0 for the server's default and
   * largest, 10,000); returns how many were deleted. They stay restorable until
   * {@code trackwire gc} purges them.
   */
  public int deleteRuns(String experimentId, long maxTimestampMillis, int maxRuns) {
    return call(() -> tracking.deleteRuns(DeleteRunsRequest.newBuilder()
        .setExperimentId(experimentId)
        .setMaxTimestampMillis(maxTimestampMillis)
        .setMaxRuns(maxRuns)
        .build())).getRunsDeleted();
  }

  public void restoreRun(String runId) {
    call(() -> tracking.restoreRun(RestoreRunRequest.newBuilder().setRunId(runId).build()));
  }

  /** Active runs of the experiments matching a filter ({@code null} for all), first page. */
  public Page<Run> searchRuns(List<String> experimentIds, String filter) {
    SearchRunsRequest.Builder request = SearchRunsRequest.newBuilder().addAllExperimentIds(experimentIds);
    if (filter != null) {
      request.setFilter(filter);
    }
    return searchRuns(request.build());
  }

  /** A search with every option of the request (order, view type, page size and token). */
  public Page<Run> searchRuns(SearchRunsRequest request) {
    SearchRunsResponse response = call(() -> tracking.searchRuns(request));
    return Page.of(response.getRunsList(), response.getNextPageToken());
  }

  /** Creates a run and returns a handle that ends it when closed. */
  public ActiveRun startRun(String experimentId) {
    return new ActiveRun(this, createRun(experimentId));
  }

  /** Creates a named run with tags and returns a handle that ends it when closed. */
  public ActiveRun startRun(String experimentId, String runName, Map<String, String> tags) {
    return new ActiveRun(this, createRun(experimentId, runName, null, tags));
  }

  /**
   * Runs {@code body} in a new run of the experiment and ends the run FINISHED when the body
   * returns, FAILED when it throws (the exception is rethrown).
   */
  public void withRun(String experimentId, Consumer<ActiveRun> body) {
    withRun(experimentId, null, Map.of(), body);
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
    call(() -> tracking.logParam(
        LogParamRequest.newBuilder().setRunId(runId).setKey(key).setValue(value).build()));
  }

  /** Logs a metric point at step 0, now. */
  public void logMetric(String runId, String key, double value) {
    logMetric(runId, key, value, System.currentTimeMillis(), 0);
  }

  /**
   * Logs a metric point; NaN and infinities are valid values. Retried while the server is
   * unreachable, with an idempotency key so that the point is stored once.
   */
  public void logMetric(String runId, String key, double value, long timestamp, long step) {
    LogMetricRequest request = LogMetricRequest.newBuilder().setRunId(runId).setKey(key)
        .setValue(value).setTimestamp(timestamp).setStep(step)
        .setRequestId(UUID.randomUUID().toString()).build();
    write(() -> tracking.logMetric(request));
  }

  /** Sets (or overwrites) a run tag. */
  public void setTag(String runId, String key, String value) {
    call(() -> tracking.setTag(
        SetTagRequest.newBuilder().setRunId(runId).setKey(key).setValue(value).build()));
  }

  public void deleteTag(String runId, String key) {
    call(() -> tracking.deleteTag(DeleteTagRequest.newBuilder().setRunId(runId).setKey(key).build()));
  }

  /**
   * Logs metrics, params and tags in as few requests as the server's limits allow. Each request
   * is atomic on the server; a batch larger than one request is not (earlier chunks stay).
   * Each request is retried while the server is unreachable, with its own idempotency key so
   * that it is stored once.
   */
  public void logBatch(String runId, List<Metric> metrics, List<Param> params, List<RunTag> tags) {
    for (LogBatchRequest request : BatchChunker.chunk(runId, metrics, params, tags)) {
      write(() -> tracking.logBatch(request));
    }
  }

  /** Records datasets used by the run. */
  public void logInputs(String runId, List<DatasetInput> datasets) {
    call(() -> tracking.logInputs(
        LogInputsRequest.newBuilder().setRunId(runId).addAllDatasets(datasets).build()));
  }

  /** The whole history of a metric in step order, streamed from the server in chunks. */
  public List<Metric> getMetricHistory(String runId, String key) {
    List<Metric> points = new ArrayList<>();
    call(() -> {
      Iterator<StreamMetricHistoryResponse> chunks = tracking.streamMetricHistory(
          StreamMetricHistoryRequest.newBuilder().setRunId(runId).setMetricKey(key).build());
      chunks.forEachRemaining(chunk -> points.addAll(chunk.getMetricsList()));
      return null;
    });
    return points;
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
      files = walk.filter(Files::isRegularFile).sorted().toList();
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
   * Streams a local file to {@code destinationPath} among the run's artifacts in chunks of the
   * server's chunk size, honouring flow control so that the file is never held in memory.
   */
  public FileInfo uploadArtifact(String runId, Path localFile, String destinationPath) {
    CompletableFuture<UploadArtifactResponse> done = new CompletableFuture<>();
    Object readiness = new Object();
    ClientResponseObserver<UploadArtifactRequest, UploadArtifactResponse> observer =
        new ClientResponseObserver<>() {
          private UploadArtifactResponse response;

          @Override
          public void beforeStart(ClientCallStreamObserver<UploadArtifactRequest> requests) {
            requests.setOnReadyHandler(() -> wake(readiness));
          }

          @Override
          public void onNext(UploadArtifactResponse value) {
            response = value;
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
            wake(readiness);
          }

          @Override
          public void onCompleted() {
            done.complete(response);
          }
        };
    ClientCallStreamObserver<UploadArtifactRequest> requests =
        (ClientCallStreamObserver<UploadArtifactRequest>) artifactsAsync.uploadArtifact(observer);
    try (InputStream in = Files.newInputStream(localFile)) {
      requests.onNext(UploadArtifactRequest.newBuilder().setRunId(runId).setPath(destinationPath).build());
      byte[] buffer = new byte[ServerLimits.ARTIFACT_CHUNK_SIZE];
      int read;
      while ((read = in.readNBytes(buffer, 0, buffer.length)) > 0 && !done.isDone()) {
        synchronized (readiness) {
          while (!requests.isReady() && !done.isDone()) {
            readiness.wait();
          }
        }
        requests.onNext(UploadArtifactRequest.newBuilder().setData(ByteString.copyFrom(buffer, 0, read)).build());
      }
      requests.onCompleted();
    } catch (IOException e) {
      requests.cancel("local file unreadable", e);
      throw new UncheckedIOException("Cannot read " + localFile, e);
    } catch (InterruptedException e) {
      requests.cancel("interrupted", e);
      Thread.currentThread().interrupt();
      throw new TrackwireException(Status.Code.CANCELLED, "Upload interrupted", e);
    }
    try {
      return done.get().getFileInfo();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException s) {
        throw TrackwireException.fromStatus(s);
      }
      throw new TrackwireException(Status.Code.INTERNAL, String.valueOf(e.getCause()), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TrackwireException(Status.Code.CANCELLED, "Upload interrupted", e);
    }
  }

  /** The direct children of a directory of the run's artifacts ({@code ""} for the root). */
  public List<FileInfo> listArtifacts(String runId, String path) {
    List<FileInfo> files = new ArrayList<>();
    String token = "";
    do {
      ListArtifactsRequest request = ListArtifactsRequest.newBuilder()
          .setRunId(runId).setPath(path == null ? "" : path).setPageToken(token).build();
      ListArtifactsResponse page = call(() -> artifacts.listArtifacts(request));
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
        Iterator<DownloadArtifactResponse> chunks = artifacts.downloadArtifact(
            DownloadArtifactRequest.newBuilder().setRunId(runId).setPath(path).build());
        while (chunks.hasNext()) {
          chunks.next().getData().writeTo(out);
        }
      } catch (StatusRuntimeException e) {
        throw TrackwireException.fromStatus(e);
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
    call(() -> artifacts.deleteArtifact(
        DeleteArtifactRequest.newBuilder().setRunId(runId).setPath(path).build()));
  }

  // ---- experiment permissions (servers started with --auth) ---------------------------------

  /** Grants a user a permission on an experiment (needs MANAGE on it, or an admin token). */
  public ExperimentPermission createExperimentPermission(
      String experimentId, String username, Permission permission) {
    return call(() -> tracking.createExperimentPermission(
        CreateExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).setPermission(permission).build()))
        .getExperimentPermission();
  }

  public ExperimentPermission getExperimentPermission(String experimentId, String username) {
    return call(() -> tracking.getExperimentPermission(
        GetExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).build()))
        .getExperimentPermission();
  }

  public void updateExperimentPermission(
      String experimentId, String username, Permission permission) {
    call(() -> tracking.updateExperimentPermission(
        UpdateExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).setPermission(permission).build()));
  }

  public void deleteExperimentPermission(String experimentId, String username) {
    call(() -> tracking.deleteExperimentPermission(
        DeleteExperimentPermissionRequest.newBuilder().setExperimentId(experimentId)
            .setUsername(username).build()));
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private static String join(String dir, String name) {
    if (dir == null || dir.isEmpty()) {
      return name;
    }
    return dir.endsWith("/") ? dir + name : dir + "/" + name;
  }

  private static void wake(Object monitor) {
    synchronized (monitor) {
      monitor.notifyAll();
    }
  }

  /** Runs an idempotent write (its request carries a request_id), retrying transient failures. */
  private <T> T write(Supplier<T> rpc) {
    return RetryPolicy.retryWrite(() -> call(rpc), sleeper, channel::resetConnectBackoff);
  }

  /** Runs one call, translating a failed status into the matching exception. */
  private static <T> T call(Supplier<T> rpc) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      throw TrackwireException.fromStatus(e);
    }
  }
}
