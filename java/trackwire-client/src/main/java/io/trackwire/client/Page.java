package io.trackwire.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** One page of search results; pass {@link #nextPageToken()} to the same search for the next. */
public final class Page<T> {
  private final List<T> items;
  private final Optional<String> nextPageToken;

  /**
   * @param items the results of this page
   * @param nextPageToken empty on the last page
   */
  public Page(List<T> items, Optional<String> nextPageToken) {
    this.items = Collections.unmodifiableList(new ArrayList<>(items));
    this.nextPageToken = Objects.requireNonNull(nextPageToken);
  }

  static <T> Page<T> of(List<T> items, String token) {
    return new Page<>(items, token.isEmpty() ? Optional.empty() : Optional.of(token));
  }

  /** The results of this page. */
  public List<T> items() {
    return items;
  }

  /** The token of the next page; empty on the last page. */
  public Optional<String> nextPageToken() {
    return nextPageToken;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Page && items.equals(((Page<?>) other).items)
        && nextPageToken.equals(((Page<?>) other).nextPageToken);
  }

  @Override
  public int hashCode() {
    return Objects.hash(items, nextPageToken);
  }

  @Override
  public String toString() {
    return "Page[items=" + items + ", nextPageToken=" + nextPageToken + "]";
  }
}
