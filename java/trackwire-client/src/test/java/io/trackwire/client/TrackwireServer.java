package io.trackwire.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code trackwire server} process on free loopback ports with its own SQLite file and
 * artifact folder, for tests. The executable comes from the {@code trackwire.server} system
 * property (mk/jvm.mk sets it to the virtualenv's {@code trackwire}).
 */
public final class TrackwireServer implements AutoCloseable {
  private static final String READY_LINE = "trackwire server listening";
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private final int grpcPort;
  private final int httpPort;
  private final Path dir;
  private final List<String> extraArgs;
  private Process process;

  private TrackwireServer(int grpcPort, int httpPort, Path dir, List<String> extraArgs) {
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.dir = dir;
    this.extraArgs = extraArgs;
  }

  public static TrackwireServer start() {
    return start(List.of());
  }

  /** Starts a server with extra command-line flags, e.g. {@code --auth}. */
  public static TrackwireServer start(List<String> extraArgs) {
    try {
      TrackwireServer server = new TrackwireServer(
          freePort(), freePort(), Files.createTempDirectory("trackwire-test-"), extraArgs);
      server.launch();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops the process, keeping its store, for a {@link #restart()}. */
  public void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }

  /** Kills the process with SIGKILL, as a crash would, keeping its store for a {@link #restart()}. */
  public void kill() throws InterruptedException {
    process.destroyForcibly().waitFor();
  }

  /** Starts the stopped server again on the same ports and store; returns once it listens. */
  public void restart() {
    launch();
  }

  private void launch() {
    try {
      List<String> command = new ArrayList<>(List.of(executable(), "server",
          "--backend-store-uri", storeUri(dir),
          "--artifacts-destination", dir.resolve("artifacts").toString(),
          "--host", "127.0.0.1",
          "--grpc-port", Integer.toString(grpcPort),
          "--http-port", Integer.toString(httpPort)));
      command.addAll(extraArgs);
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      CountDownLatch ready = new CountDownLatch(1);
      StringBuilder output = new StringBuilder();
      Thread drain = new Thread(() -> {
        try (BufferedReader lines = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = lines.readLine()) != null) {
            synchronized (output) {
              output.append(line).append('\n');
            }
            if (line.contains(READY_LINE)) {
              ready.countDown();
            }
          }
        } catch (IOException e) {
          // the process went away; the wait below reports it
        }
      }, "trackwire-server-output");
      drain.setDaemon(true);
      drain.start();
      // A generous guard against a server that never comes up, not a timing assertion.
      if (!ready.await(120, TimeUnit.SECONDS) || !process.isAlive()) {
        process.destroyForcibly();
        synchronized (output) {
          throw new IllegalStateException("trackwire server did not start:\n" + output);
        }
      }
      this.process = process;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public String grpcUri() {
    return (extraArgs.contains("--tls-cert") ? "grpcs" : "grpc") + "://127.0.0.1:" + grpcPort;
  }

  public String httpUri() {
    return (extraArgs.contains("--tls-cert") ? "https" : "http") + "://127.0.0.1:" + httpPort;
  }

  /** Creates an access token for a user (for servers started with {@code --auth}). */
  public String createToken(String user) throws IOException, InterruptedException {
    Process tokens = new ProcessBuilder(executable(), "tokens", "create", "--user", user,
            "--backend-store-uri", storeUri(dir))
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    String token = new String(tokens.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (tokens.waitFor() != 0 || token.isEmpty()) {
      throw new IllegalStateException("`trackwire tokens create` failed");
    }
    return token;
  }

  /**
   * A self-signed certificate for 127.0.0.1 and its key, made with openssl in {@code dir}:
   * pass {@code --tls-cert dir/cert.pem --tls-key dir/key.pem} to {@link #start(List)}.
   */
  public static Path selfSignedCertificate(Path dir) throws IOException, InterruptedException {
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString(),
            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
        .redirectErrorStream(true)
        .start();
    String output = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (openssl.waitFor() != 0) {
      throw new IllegalStateException("openssl failed:\n" + output);
    }
    return dir.resolve("cert.pem");
  }

  private static String executable() {
    String executable = System.getProperty("trackwire.server");
    if (executable == null || !Files.isExecutable(Path.of(executable))) {
      throw new IllegalStateException("Set -Dtrackwire.server to the trackwire executable (got "
          + executable + "); `make test-jvm` does this");
    }
    return executable;
  }

  private static String storeUri(Path dir) {
    return "sqlite:///" + dir.resolve("store.db");
  }

  public TrackwireClient client() {
    return TrackwireClient.connect(grpcUri(), null);
  }

  @Override
  public void close() throws InterruptedException {
    stop();
    try (var paths = Files.walk(dir)) {
      for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The folder holding this server's database and artifacts. */
  public Path dir() {
    return dir;
  }

  /**
   * A loopback port nothing listens on, below Linux's ephemeral range (32768-60999): the kernel
   * then hands it to no client connection before the server binds it. None is handed out twice.
   */
  private static int freePort() {
    while (true) {
      int port = ThreadLocalRandom.current().nextInt(20_000, 32_000);
      if (!HANDED_OUT.add(port)) {
        continue;
      }
      try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return port;
      } catch (IOException taken) {
        // in use: try another
      }
    }
  }
}
