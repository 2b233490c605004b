package io.trackwire.conformance;

import io.trackwire.client.AlreadyExistsException;
import io.trackwire.client.InvalidArgumentException;
import io.trackwire.client.NotFoundException;
import io.trackwire.client.PermissionDeniedException;
import io.trackwire.client.ResourceExhaustedException;
import io.trackwire.client.TrackwireException;
import io.trackwire.client.UnauthenticatedException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The NDJSON loop every JVM testee shares: one request per stdin line, one response per stdout
 * line, one client per tracking URI. See tests/conformance/README.md.
 */
public final class TesteeLoop<C extends AutoCloseable> {
  /** Performs one action with the language's idiomatic client; returns the result shape. */
  @FunctionalInterface
  public interface Actions<C> {
    Object perform(C client, String action, Args args) throws Exception;
  }

  private final Function<String, C> connect;
  private final Actions<C> actions;

  public TesteeLoop(Function<String, C> connect, Actions<C> actions) {
    this.connect = connect;
    this.actions = actions;
  }

  public void run() throws Exception {
    // stdout carries the protocol only; anything else the JVM or gRPC prints goes to stderr.
    PrintStream protocol = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    Map<String, C> clients = new HashMap<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        protocol.println(Json.write(answer(clients, line)));
        protocol.flush();
      }
    } finally {
      for (C client : clients.values()) {
        client.close();
      }
    }
  }

  private Map<String, Object> answer(Map<String, C> clients, String line) throws IOException {
    Map<String, Object> request = Json.parseObject(line);
    Map<String, Object> response = new LinkedHashMap<>();
    response.put("id", ((Number) request.get("id")).longValue());
    try {
      C client = clients.computeIfAbsent(String.valueOf(request.get("tracking_uri")), connect);
      @SuppressWarnings("unchecked")
      Map<String, Object> args = request.get("args") instanceof Map<?, ?> m
          ? (Map<String, Object>) m : Map.of();
      response.put("result", actions.perform(client, String.valueOf(request.get("action")), new Args(args)));
    } catch (Exception e) {
      Map<String, Object> error = new LinkedHashMap<>();
      error.put("code", code(e));
      error.put("message", e instanceof TrackwireException
          ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage());
      response.put("error", error);
    }
    return response;
  }

  private static String code(Exception e) {
    if (e instanceof InvalidArgumentException) {
      return "ERROR_CODE_INVALID_ARGUMENT";
    } else if (e instanceof NotFoundException) {
      return "ERROR_CODE_NOT_FOUND";
    } else if (e instanceof AlreadyExistsException) {
      return "ERROR_CODE_ALREADY_EXISTS";
    } else if (e instanceof ResourceExhaustedException) {
      return "ERROR_CODE_RESOURCE_EXHAUSTED";
    } else if (e instanceof UnauthenticatedException) {
      return "ERROR_CODE_UNAUTHENTICATED";
    } else if (e instanceof PermissionDeniedException) {
      return "ERROR_CODE_PERMISSION_DENIED";
    }
    return "ERROR_CODE_INTERNAL";
  }
}
