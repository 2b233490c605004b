package io.trackwire.client;

/** {@link TrackwireClientTest} over the HTTP/JSON gateway. */
class HttpClientTest extends TrackwireClientTest {
  @Override
  String trackingUri(TrackwireServer server) {
    return server.httpUri();
  }
}
