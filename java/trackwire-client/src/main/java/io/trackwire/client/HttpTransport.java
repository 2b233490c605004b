package io.trackwire.client;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.MethodOptions;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.StringJoiner;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Calls through the server's HTTP/JSON gateway (MLflow's REST API), with the JDK's HTTP client.
 * Every call follows its RPC's {@code google.api.http} rule in the schema, as the gateway does:
 * a body of {@code "*"} sends the request as JSON, no body sends it as query parameters, a bytes
 * {@code body} (uploads) streams raw bytes after a head in the query, a bytes
 * {@code response_body} (downloads) streams raw bytes back, and other server streams answer
 * newline-delimited JSON. Errors are MLflow's {@code {"error_code": ..., "message": ...}}.
 */
final class HttpTransport implements Transport {
  private static final String JSON = "application/json";

  private final HttpClient http;
  private final URI base;
  private final String token;
  private final Map<String, HttpRule> rules = new ConcurrentHashMap<>();
  private static final Pattern TEMPLATE_FIELD = Pattern.compile("\\{(\\w+)\\}");

  private HttpTransport(HttpClient http, URI base, String token) {
    this.http = http;
    this.base = base;
    this.token = token;
  }

  /**
   * For {@code http(s)://host[:port][/prefix]}; {@code caCertificates} ({@code null}: the
   * system's) are trusted for https://. Connections are made on the first call.
   */
  static HttpTransport open(URI base, Path caCertificates, String token) {
    HttpClient.Builder http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NORMAL);
    if (caCertificates != null && "https".equals(base.getScheme())) {
      http.sslContext(trusting(caCertificates));
    }
    String path = base.getRawPath() == null ? "" : base.getRawPath().replaceAll("/+$", "");
    return new HttpTransport(http.build(), base.resolve(path.isEmpty() ? "/" : path + "/"), token);
  }

  private static SSLContext trusting(Path caCertificates) {
    try (InputStream pem = Files.newInputStream(caCertificates)) {
      KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
      trusted.load(null, null);
      int i = 0;
      for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(pem)) {
        trusted.setCertificateEntry("ca-" + i++, certificate);
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new InvalidArgumentException(
          "Cannot read CA certificates from " + caCertificates + ": " + e.getMessage());
    }
  }

  @Override
  public <Q extends Message, R extends Message> R unary(MethodDescriptor<Q, R> method, Q request) {
    HttpRule rule = rule(method);
    HttpResponse<InputStream> response = send(rule, request, "*".equals(rule.getBody())
        ? HttpRequest.BodyPublishers.ofString(GatewayJson.write(request).toString())
        : null);
    try (InputStream body = response.body()) {
      return parse(method, new String(body.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw unavailable(e);
    }
  }

  @Override
  public <Q extends Message, R extends Message> Iterator<R> serverStream(
      MethodDescriptor<Q, R> method, Q request) {
    HttpRule rule = rule(method);
    InputStream body = send(rule, request, null).body();
    if (rule.getResponseBody().isEmpty()) {
      return ndjson(method, body);
    }
    FieldDescriptor data = prototype(method).getDescriptorForType().findFieldByName(rule.getResponseBody());
    return new Iterator<R>() {
      private final byte[] buffer = new byte[ServerLimits.ARTIFACT_CHUNK_SIZE];
      private R next = read();

      private R read() {
        try {
          int read = GrpcTransport.readFully(body, buffer);
          if (read == 0) {
            body.close();
            return null;
          }
          @SuppressWarnings("unchecked")
          R chunk = (R) prototype(method).newBuilderForType()
              .setField(data, ByteString.copyFrom(buffer, 0, read)).build();
          return chunk;
        } catch (IOException e) {
          throw unavailable(e);
        }
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public R next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        R current = next;
        next = read();
        return current;
      }
    };
  }

  private <Q extends Message, R extends Message> Iterator<R> ndjson(
      MethodDescriptor<Q, R> method, InputStream body) {
    BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
    return new Iterator<R>() {
      private String line = readLine();

      private String readLine() {
        try {
          String read;
          do {
            read = lines.readLine();
          } while (read != null && read.trim().isEmpty());
          if (read == null) {
            lines.close();
          }
          return read;
        } catch (IOException e) {
          throw unavailable(e);
        }
      }

      @Override
      public boolean hasNext() {
        return line != null;
      }

      @Override
      public R next() {
        if (line == null) {
          throw new NoSuchElementException();
        }
        R response = parse(method, line);
        line = readLine();
        return response;
      }
    };
  }

  /** Streams {@code data} as the raw request body after the head's fields as query parameters. */
  @Override
  public <Q extends Message, R extends Message> R clientStream(
      MethodDescriptor<Q, R> method, Q head, InputStream data, Function<ByteString, Q> chunk) {
    HttpResponse<InputStream> response =
        send(rule(method), head, HttpRequest.BodyPublishers.ofInputStream(() -> data));
    try (InputStream body = response.body()) {
      return parse(method, new String(body.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw unavailable(e);
    }
  }

  /** Sends a request by its rule; {@code body} null puts the message in the query instead. */
  private HttpResponse<InputStream> send(HttpRule rule, Message message, HttpRequest.BodyPublisher body) {
    String verb = rule.getPatternCase().name();
    String path;
    switch (rule.getPatternCase()) {
      case GET:
        path = rule.getGet();
        break;
      case POST:
        path = rule.getPost();
        break;
      case PUT:
        path = rule.getPut();
        break;
      case PATCH:
        path = rule.getPatch();
        break;
      case DELETE:
        path = rule.getDelete();
        break;
      default:
        throw new IllegalStateException("unsupported HTTP rule " + rule);
    }
    String query = "*".equals(rule.getBody()) ? "" : query(message);
    URI uri = base.resolve(
        withPathFields(path, message).replaceFirst("^/", "") + (query.isEmpty() ? "" : "?" + query));
    HttpRequest.Builder request = HttpRequest.newBuilder(uri)
        .method(verb, body == null ? HttpRequest.BodyPublishers.noBody() : body)
        .header("Accept", JSON);
    if ("*".equals(rule.getBody())) {
      request.header("Content-Type", JSON);
    } else if (body != null) {
      request.header("Content-Type", "application/octet-stream");
    }
    if (token != null && !token.isEmpty()) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<InputStream> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw unavailable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TrackwireException(Status.Code.CANCELLED, "Interrupted", e);
    }
    if (response.statusCode() >= 400) {
      throw error(response);
    }
    return response;
  }

  /** The message's fields as query parameters (repeated fields repeat). */
  /** A path template ({@code /logged-models/{model_id}}) filled with the message's fields. */
  private static String withPathFields(String path, Message message) {
    Matcher template = TEMPLATE_FIELD.matcher(path);
    StringBuilder filled = new StringBuilder();
    while (template.find()) {
      FieldDescriptor field = message.getDescriptorForType().findFieldByName(template.group(1));
      String value = field == null ? "" : String.valueOf(message.getField(field));
      template.appendReplacement(filled, Matcher.quoteReplacement(encode(value)));
    }
    template.appendTail(filled);
    return filled.toString();
  }

  private static String query(Message message) {
    StringJoiner query = new StringJoiner("&");
    for (Map.Entry<String, JsonElement> field : GatewayJson.write(message).entrySet()) {
      Iterable<JsonElement> values = field.getValue().isJsonArray()
          ? field.getValue().getAsJsonArray()
          : Collections.singletonList(field.getValue());
      for (JsonElement value : values) {
        query.add(encode(field.getKey()) + "=" + encode(value.getAsString()));
      }
    }
    return query.toString();
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static TrackwireException error(HttpResponse<InputStream> response) {
    String text;
    try (InputStream body = response.body()) {
      text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      text = "";
    }
    String code = "";
    String message = text;
    try {
      JsonObject json = JsonParser.parseString(text).getAsJsonObject();
      code = json.has("error_code") ? json.get("error_code").getAsString() : "";
      message = json.has("message") ? json.get("message").getAsString() : text;
    } catch (JsonParseException | IllegalStateException | UnsupportedOperationException notJson) {
      // an error page of something in between (a proxy): keep its text
    }
    if (message.isEmpty()) {
      message = "HTTP " + response.statusCode() + " from " + response.uri();
    }
    return TrackwireException.fromMlflow(response.statusCode(), code, message);
  }

  private static <Q extends Message, R extends Message> R parse(MethodDescriptor<Q, R> method, String json) {
    Message.Builder builder = prototype(method).newBuilderForType();
    try {
      JsonElement parsed = json.trim().isEmpty() ? new JsonObject() : JsonParser.parseString(json);
      GatewayJson.read(parsed.getAsJsonObject(), builder);
    } catch (RuntimeException e) {
      throw new TrackwireException(Status.Code.INTERNAL,
          "Unreadable answer to " + method.getFullMethodName() + ": " + e.getMessage(), e);
    }
    @SuppressWarnings("unchecked")
    R response = (R) builder.build();
    return response;
  }

  private static <R extends Message> Message prototype(MethodDescriptor<?, R> method) {
    return ((MethodDescriptor.PrototypeMarshaller<R>) method.getResponseMarshaller()).getMessagePrototype();
  }

  /** The schema's HTTP rule of a method. */
  private HttpRule rule(MethodDescriptor<?, ?> method) {
    return rules.computeIfAbsent(method.getFullMethodName(), name -> {
      com.google.protobuf.Descriptors.MethodDescriptor schema =
          ((ProtoMethodDescriptorSupplier) method.getSchemaDescriptor()).getMethodDescriptor();
      ExtensionRegistry registry = ExtensionRegistry.newInstance();
      registry.add(AnnotationsProto.http);
      try {
        MethodOptions options = MethodOptions.parseFrom(schema.getOptions().toByteString(), registry);
        if (!options.hasExtension(AnnotationsProto.http)) {
          throw new IllegalStateException(name + " has no HTTP rule");
        }
        return options.getExtension(AnnotationsProto.http);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("unreadable options of " + name, e);
      }
    });
  }

  private UnavailableException unavailable(IOException e) {
    return new UnavailableException("Cannot reach " + base + ": " + e, e);
  }

  @Override
  public void close() {
    // The JDK's client (before 21) has no close; its idle connections time out by themselves.
  }
}
