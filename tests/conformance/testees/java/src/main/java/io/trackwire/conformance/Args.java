package io.trackwire.conformance;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The arguments of one testee request, with the protocol's conversions. */
public final class Args {
  private final Map<String, Object> values;

  public Args(Map<String, Object> values) {
    this.values = values;
  }

  public boolean has(String name) {
    return values.get(name) != null;
  }

  public String str(String name) {
    Object value = values.get(name);
    if (value == null) {
      throw new IllegalArgumentException("missing argument " + name);
    }
    return String.valueOf(value);
  }

  /** The string, or null when absent (the client's default). */
  public String optStr(String name) {
    return has(name) ? str(name) : null;
  }

  /** An integer argument, or null when absent. */
  public Long optLong(String name) {
    return has(name) ? ((Number) values.get(name)).longValue() : null;
  }

  /** A metric value: a JSON number or one of "NaN", "Infinity", "-Infinity". */
  public double dbl(String name) {
    return number(values.get(name));
  }

  public static double number(Object value) {
    if (value instanceof Number n) {
      return n.doubleValue();
    }
    return switch (String.valueOf(value)) {
      case "NaN" -> Double.NaN;
      case "Infinity" -> Double.POSITIVE_INFINITY;
      case "-Infinity" -> Double.NEGATIVE_INFINITY;
      default -> throw new IllegalArgumentException("not a metric value: " + value);
    };
  }

  /** A {k: v} object of strings; empty when absent. */
  public Map<String, String> strMap(String name) {
    Map<String, String> map = new LinkedHashMap<>();
    if (has(name)) {
      ((Map<?, ?>) values.get(name)).forEach((k, v) -> map.put(String.valueOf(k), String.valueOf(v)));
    }
    return map;
  }

  /** A list of strings; empty when absent. */
  public List<String> strList(String name) {
    return has(name) ? ((List<?>) values.get(name)).stream().map(String::valueOf).toList() : List.of();
  }

  /** A list of objects; empty when absent. */
  public List<Args> objects(String name) {
    if (!has(name)) {
      return List.of();
    }
    return ((List<?>) values.get(name)).stream()
        .map(o -> {
          @SuppressWarnings("unchecked")
          Map<String, Object> map = (Map<String, Object>) o;
          return new Args(map);
        })
        .toList();
  }
}
