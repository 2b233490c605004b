package io.trackwire.client;

/** {@link TrackwireClientTest} over gRPC. */
class GrpcClientTest extends TrackwireClientTest {
  @Override
  String trackingUri(TrackwireServer server) {
    return server.grpcUri();
  }
}
