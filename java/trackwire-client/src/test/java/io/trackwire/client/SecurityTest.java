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
  void bearerTokenAuthenticates() throws Exception {
    try (TrackwireServer server = TrackwireServer.start(List.of("--auth"))) {
      String token = server.createToken("alice");
      try (TrackwireClient anonymous = TrackwireClient.connect(server.grpcUri(), null)) {
        assertThrows(UnauthenticatedException.class, () -> anonymous.createExperiment("secret"));
      }
      try (TrackwireClient wrong = TrackwireClient.connect(server.grpcUri(), "not-a-token")) {
        assertThrows(UnauthenticatedException.class, () -> wrong.searchExperiments((String) null));
      }
      try (TrackwireClient alice = TrackwireClient.connect(server.grpcUri(), token)) {
        String id = alice.createExperiment("secret");
        assertEquals("secret", alice.getExperiment(id).getName());
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
  void grpcsTrustsTheGivenCertificate(@TempDir Path tmp) throws Exception {
    Path cert = TrackwireServer.selfSignedCertificate(tmp);
    try (TrackwireServer server = TrackwireServer.start(
        List.of("--tls-cert", cert.toString(), "--tls-key", tmp.resolve("key.pem").toString()))) {
      try (TrackwireClient client = TrackwireClient.connect(server.grpcUri(), null, cert)) {
        String id = client.createExperiment("over-tls");
        assertEquals("over-tls", client.getExperiment(id).getName());
      }
      // Without the certificate the system trust store refuses the self-signed server.
      try (TrackwireClient untrusting = TrackwireClient.connect(server.grpcUri(), null, null)) {
        assertThrows(UnavailableException.class, () -> untrusting.getExperiment("0"));
      }
    }
  }
}
