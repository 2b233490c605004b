package io.trackwire.client;

import java.util.List;
import java.util.Optional;

/**
 * One page of search results; pass {@link #nextPageToken()} to the same search for the next.
 *
 * @param items the results of this page
 * @param nextPageToken empty on the last page
 */
public record Page<T>(List<T> items, Optional<String> nextPageToken) {
  public Page {
    items = List.copyOf(items);
  }

  static <T> Page<T> of(List<T> items, String token) {
    return new Page<>(items, token.isEmpty() ? Optional.empty() : Optional.of(token));
  }
}
