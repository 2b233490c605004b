package io.trackwire.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code trackwire server} process on free loopback ports with its own SQLite file and
 * artifact folder, for tests. The executable comes from the {@code trackwire.server} system
 * property (mk/jvm.mk sets it to the virtualenv's {@code trackwire}).
 */
public final class TrackwireServer implements AutoCloseable {
  private static final String READY_LINE = "trackwire server listening";

  private final Process process;
  private final int grpcPort;
  private final Path dir;

  private TrackwireServer(Process process, int grpcPort, Path dir) {
    this.process = process;
    this.grpcPort = grpcPort;
    this.dir = dir;
  }

  public static TrackwireServer start() {
    String executable = System.getProperty("trackwire.server");
    if (executable == null || !Files.isExecutable(Path.of(executable))) {
      throw new IllegalStateException("Set -Dtrackwire.server to the trackwire executable (got "
          + executable + "); `make test-jvm` does this");
    }
    try {
      Path dir = Files.createTempDirectory("trackwire-test-");
      int grpcPort = freePort();
      int httpPort = freePort();
      Process process = new ProcessBuilder(List.of(executable, "server",
              "--backend-store-uri", "sqlite:///" + dir.resolve("store.db"),
              "--artifacts-destination", dir.resolve("artifacts").toString(),
              "--host", "127.0.0.1",
              "--grpc-port", Integer.toString(grpcPort),
              "--http-port", Integer.toString(httpPort)))
          .redirectErrorStream(true)
          .start();
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
      return new TrackwireServer(process, grpcPort, dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public String grpcUri() {
    return "grpc://127.0.0.1:" + grpcPort;
  }

  public TrackwireClient client() {
    return TrackwireClient.connect(grpcUri(), null);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
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

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
