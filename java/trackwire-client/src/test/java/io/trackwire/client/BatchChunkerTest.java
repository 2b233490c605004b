package io.trackwire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.trackwire.v1.LogBatchRequest;
import io.trackwire.v1.Metric;
import io.trackwire.v1.Param;
import io.trackwire.v1.RunTag;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BatchChunkerTest {
  private static List<Metric> metrics(int n) {
    return IntStream.range(0, n).mapToObj(i -> Metric.newBuilder().setKey("m").setStep(i).build()).toList();
  }

  private static List<Param> params(int n) {
    return IntStream.range(0, n).mapToObj(i -> Param.newBuilder().setKey("p" + i).build()).toList();
  }

  private static List<RunTag> tags(int n) {
    return IntStream.range(0, n).mapToObj(i -> RunTag.newBuilder().setKey("t" + i).build()).toList();
  }

  @Test
  void aBatchWithinTheLimitsIsOneRequest() {
    List<LogBatchRequest> requests = BatchChunker.chunk("r", metrics(800), params(100), tags(100));
    assertEquals(1, requests.size());
    assertEquals("r", requests.get(0).getRunId());
  }

  @Test
  void anEmptyBatchIsOneEmptyRequest() {
    List<LogBatchRequest> requests = BatchChunker.chunk("r", List.of(), List.of(), List.of());
    assertEquals(List.of(LogBatchRequest.newBuilder().setRunId("r").build()),
        requests.stream().map(r -> r.toBuilder().clearRequestId().build()).toList());
  }

  @Test
  void everyRequestHasItsOwnIdempotencyKey() {
    List<String> ids = BatchChunker.chunk("r", metrics(2501), params(0), tags(0)).stream()
        .map(LogBatchRequest::getRequestId).toList();
    assertEquals(3, ids.size());
    assertEquals(3, Set.copyOf(ids).size());
    ids.forEach(UUID::fromString); // each is a UUID
  }

  @Test
  void everyRequestFitsEveryLimitAndNothingIsLostOrReordered() {
    List<Metric> metrics = metrics(2501);
    List<Param> params = params(250);
    List<RunTag> tags = tags(101);
    List<LogBatchRequest> requests = BatchChunker.chunk("r", metrics, params, tags);
    for (LogBatchRequest request : requests) {
      assertTrue(request.getMetricsCount() <= ServerLimits.MAX_METRICS_PER_BATCH);
      assertTrue(request.getParamsCount() <= ServerLimits.MAX_PARAMS_PER_BATCH);
      assertTrue(request.getTagsCount() <= ServerLimits.MAX_TAGS_PER_BATCH);
      assertTrue(request.getMetricsCount() + request.getParamsCount() + request.getTagsCount()
          <= ServerLimits.MAX_ENTRIES_PER_BATCH);
    }
    assertEquals(metrics, requests.stream().flatMap(r -> r.getMetricsList().stream()).toList());
    assertEquals(params, requests.stream().flatMap(r -> r.getParamsList().stream()).toList());
    assertEquals(tags, requests.stream().flatMap(r -> r.getTagsList().stream()).toList());
    // Params lead, so a write-once conflict fails before any metric is stored.
    assertEquals(ServerLimits.MAX_PARAMS_PER_BATCH, requests.get(0).getParamsCount());
  }
}
