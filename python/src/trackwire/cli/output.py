"""What commands print: results on standard output (a table, JSON or CSV), progress and
messages on standard error, so that a pipe receives only the results."""

from __future__ import annotations

import csv
import datetime
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

OUTPUTS = ("table", "json", "csv")

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """A line for the person at the terminal (standard error)."""
    stderr.print(message, markup=False)


def iso_time(millis: int | None) -> str | None:
    if not millis:
        return None
    moment = datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def short_time(millis: int | None) -> str:
    """A time for a table cell, to the second."""
    if not millis:
        return "-"
    moment = datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A borderless table: readable in a terminal, and one line per row with a header line
    above when piped, so that `awk` and `cut` work on it."""
    table = Table(*headers, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        # Text, not str: a value is never read as rich markup ("[bold]" in a run name).
        table.add_row(*(Text("-" if cell is None or cell == "" else str(cell)) for cell in row))
    console = stdout
    if not stdout.is_terminal:
        # Never wrap or cut a row when piped: the table takes the width it needs.
        unbounded = stdout.options.update_width(1_000_000)
        width = max(stdout.width, stdout.measure(table, options=unbounded).maximum)
        console = Console(width=width, highlight=False)
    console.print(table)


def print_records(
    records: Sequence[Mapping[str, object]],
    output: str,
    table_columns: Sequence[tuple[str, str]],
) -> None:
    """Records (flat dicts) as a table of `table_columns` ((key, header) pairs), or with all
    their keys as JSON or CSV."""
    if output == "json":
        print(json.dumps(list(records), indent=2))
    elif output == "csv":
        write_csv(records, sys.stdout)
    else:
        print_table(
            [header for _, header in table_columns],
            ([_cell(key, record.get(key)) for key, _ in table_columns] for record in records),
        )


def _cell(key: str, value: object) -> object:
    """A record's value as a table shows it: times to the second, numbers to 6 digits."""
    if key.endswith("_time") and isinstance(value, str):
        return value[:19].replace("T", " ")
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write_csv(records: Sequence[Mapping[str, object]], stream) -> None:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


def transfer_progress() -> Progress:
    """A progress display of bytes moved, with speed and time left; it advances file by file
    (the spinner shows a large file is moving)."""
    return Progress(
        SpinnerColumn(finished_text="✓"),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr,
    )


@contextmanager
def working(description: str) -> Iterator[Progress]:
    """A spinner with the time elapsed, for work whose total is not known in advance; its
    task's description can be updated as the work goes."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,  # a log gets the outcome, not a spinner's frames
    ) as progress:
        progress.add_task(description, total=None)
        yield progress
