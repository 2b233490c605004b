package io.trackwire.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.trackwire.v1.ExperimentPermission;
import io.trackwire.v1.Permission;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokens and TLS against servers started with --auth and --tls-cert. */
class SecurityTest {
  @Test
  void bearerTokenAuthenticatesOnBothTransports() throws Exception {
    try (TrackwireServer server = TrackwireServer.start(List.of("--auth"))) {
      String token = server.createToken("alice");
      for (String uri : List.of(server.grpcUri(), server.httpUri())) {
        try (TrackwireClient anonymous = TrackwireClient.connect(uri, null)) {
          assertThrows(UnauthenticatedException.class, () -> anonymous.createExperiment("secret"));
        }
        try (TrackwireClient wrong = TrackwireClient.connect(uri, "not-a-token")) {
          assertThrows(UnauthenticatedException.class, () -> wrong.searchExperiments((String) null).count());
        }
        try (TrackwireClient alice = TrackwireClient.connect(uri, token)) {
          String id = alice.getOrCreateExperiment("secret");
          assertEquals("secret", alice.getExperiment(id).getName());
        }
      }
    }
  }

  @Test
  void experimentPermissionsAreManagedByTheOwner() throws Exception {
    try (TrackwireServer server = TrackwireServer.start(List.of("--auth"));
        TrackwireClient owner = TrackwireClient.connect(server.grpcUri(), server.createToken("owner"));
        TrackwireClient guest = TrackwireClient.connect(server.grpcUri(), server.createToken("guest"))) {
      String id = owner.createExperiment("shared");
      assertThrows(PermissionDeniedException.class,
          () -> guest.createExperimentPermission(id, "guest", Permission.PERMISSION_MANAGE));

      ExperimentPermission granted =
          owner.createExperimentPermission(id, "guest", Permission.PERMISSION_EDIT);
      assertEquals(List.of(id, "guest", Permission.PERMISSION_EDIT),
          List.of(granted.getExperimentId(), granted.getUsername(), granted.getPermission()));
      guest.createRun(id); // EDIT lets the guest log to the experiment

      owner.updateExperimentPermission(id, "guest", Permission.PERMISSION_READ);
      assertEquals(Permission.PERMISSION_READ,
          owner.getExperimentPermission(id, "guest").getPermission());
      owner.deleteExperimentPermission(id, "guest");
      assertThrows(NotFoundException.class, () -> owner.getExperimentPermission(id, "guest"));
    }
  }

  @Test
  void tlsTrustsTheGivenCertificateOnBothTransports(@TempDir Path tmp) throws Exception {
    Path cert = TrackwireServer.selfSignedCertificate(tmp);
    try (TrackwireServer server = TrackwireServer.start(
        List.of("--tls-cert", cert.toString(), "--tls-key", tmp.resolve("key.pem").toString()))) {
      for (String uri : List.of(server.grpcUri(), server.httpUri())) {
        try (TrackwireClient client = TrackwireClient.connect(uri, null, cert)) {
          String id = client.getOrCreateExperiment("over-tls");
          assertEquals("over-tls", client.getExperiment(id).getName());
        }
        // Without the certificate the system trust store refuses the self-signed server.
        try (TrackwireClient untrusting = TrackwireClient.connect(uri, null, null, millis -> { })) {
          assertThrows(UnavailableException.class, () -> untrusting.getExperiment("0"));
        }
      }
    }
  }
}
