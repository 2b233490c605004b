package io.trackwire.client;

import io.trackwire.v1.LogBatchRequest;
import io.trackwire.v1.Metric;
import io.trackwire.v1.Param;
import io.trackwire.v1.RunTag;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Splits a batch into LogBatch requests that each fit the server's limits, each with its own
 * idempotency key (a random UUID) that retries of that request reuse.
 */
final class BatchChunker {
  private BatchChunker() {}

  static List<LogBatchRequest> chunk(
      String runId, List<Metric> metrics, List<Param> params, List<RunTag> tags) {
    List<LogBatchRequest> requests = new ArrayList<>();
    int m = 0;
    int p = 0;
    int t = 0;
    // Params go first: they are write-once, so a conflict fails before any metric is stored.
    do {
      LogBatchRequest.Builder request = LogBatchRequest.newBuilder()
          .setRunId(runId)
          .setRequestId(UUID.randomUUID().toString());
      int room = ServerLimits.MAX_ENTRIES_PER_BATCH;
      int n = Math.min(Math.min(params.size() - p, ServerLimits.MAX_PARAMS_PER_BATCH), room);
      request.addAllParams(params.subList(p, p + n));
      p += n;
      room -= n;
      n = Math.min(Math.min(tags.size() - t, ServerLimits.MAX_TAGS_PER_BATCH), room);
      request.addAllTags(tags.subList(t, t + n));
      t += n;
      room -= n;
      n = Math.min(Math.min(metrics.size() - m, ServerLimits.MAX_METRICS_PER_BATCH), room);
      request.addAllMetrics(metrics.subList(m, m + n));
      m += n;
      requests.add(request.build());
    } while (m < metrics.size() || p < params.size() || t < tags.size());
    return requests;
  }
}
