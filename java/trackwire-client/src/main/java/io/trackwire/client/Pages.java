package io.trackwire.client;

import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/** Search results across pages, each page fetched when the previous one is used up. */
final class Pages<T> implements Iterator<T> {
  private final Function<String, Page<T>> fetch;
  private Iterator<T> current = Collections.emptyIterator();
  private Optional<String> next;

  private Pages(String firstToken, Function<String, Page<T>> fetch) {
    this.fetch = fetch;
    this.next = Optional.of(firstToken);
  }

  /** The results from the page of {@code firstToken} ({@code ""}: the first) on, fetched lazily. */
  static <T> Stream<T> stream(String firstToken, Function<String, Page<T>> fetch) {
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(
        new Pages<>(firstToken, fetch), Spliterator.ORDERED | Spliterator.NONNULL), false);
  }

  @Override
  public boolean hasNext() {
    while (!current.hasNext() && next.isPresent()) {
      Page<T> page = fetch.apply(next.get());
      current = page.items().iterator();
      next = page.nextPageToken();
    }
    return current.hasNext();
  }

  @Override
  public T next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    return current.next();
  }
}
