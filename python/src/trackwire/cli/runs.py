"""`trackwire runs list|describe|delete|restore` (MLflow's `mlflow runs` flag names)."""

from __future__ import annotations

import argparse
import json
from operator import attrgetter

from trackwire.cli.output import iso_time, print_records, print_table
from trackwire.cli.tracking import VIEWS, add_output_flag, all_pages, open_client, tracking_command
from trackwire.v1 import entities_pb2 as ent

RUN_COLUMNS = (
    ("run_id", "ID"),
    ("run_name", "NAME"),
    ("status", "STATUS"),
    ("start_time", "STARTED"),
    ("user_id", "USER"),
)


def register(commands) -> None:
    runs = commands.add_parser("runs", help="list, describe, delete and restore runs")
    run_commands = runs.add_subparsers(dest="runs_command", required=True)

    listing = tracking_command(
        run_commands, "list", list_runs, "the runs of experiments, filtered and ordered"
    )
    listing.add_argument(
        "--experiment-id",
        "-x",
        action="append",
        required=True,
        help="an experiment to search (repeat for several)",
    )
    add_search_flags(listing)
    listing.add_argument(
        "--columns",
        help="more table columns, comma-separated: metrics.loss,params.lr,tags.team "
        "(JSON and CSV always carry every metric, param and tag)",
    )
    add_output_flag(listing)

    describe = tracking_command(
        run_commands, "describe", describe_run, "a run's info, params, metrics and tags"
    )
    describe.add_argument("--run-id", "-r", required=True)
    describe.add_argument("--output", choices=("table", "json"), default="table")

    delete = tracking_command(
        run_commands, "delete", delete_run, "mark a run deleted (restorable until `trackwire gc`)"
    )
    restore = tracking_command(run_commands, "restore", restore_run, "restore a deleted run")
    for command in (delete, restore):
        command.add_argument("--run-id", "-r", required=True)


def add_search_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--filter",
        "--filter-string",
        dest="filter",
        help="search DSL, e.g. \"metrics.acc > 0.9 and params.lr = '0.01'\"",
    )
    parser.add_argument(
        "--order-by",
        action="append",
        help="e.g. 'metrics.acc DESC' (repeat for ties; default: newest first)",
    )
    parser.add_argument(
        "--view", "-v", choices=VIEWS, default="active_only", help="default: %(default)s"
    )
    parser.add_argument(
        "--max-results", type=int, help="at most this many runs (default: all of them)"
    )


def search(client, args: argparse.Namespace, experiment_ids: list[str]):
    """Every run the search flags select, page after page."""
    return all_pages(
        lambda token: client.search_runs(
            experiment_ids,
            filter_string=args.filter,
            run_view_type=args.view.upper(),
            order_by=args.order_by,
            page_token=token,
        ),
        args.max_results,
    )


def run_record(run: ent.Run) -> dict[str, object]:
    """A run as one flat record, with the column names of MLflow's `search_runs` frame."""
    info = run.info
    record: dict[str, object] = {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": status_name(info.status),
        "start_time": iso_time(info.start_time),
        "end_time": iso_time(info.end_time) if info.HasField("end_time") else None,
        "user_id": info.user_id,
        "lifecycle_stage": info.lifecycle_stage,
        "artifact_uri": info.artifact_uri,
    }
    by_key = attrgetter("key")
    record.update({f"metrics.{m.key}": m.value for m in sorted(run.data.metrics, key=by_key)})
    record.update({f"params.{p.key}": p.value for p in sorted(run.data.params, key=by_key)})
    record.update({f"tags.{t.key}": t.value for t in sorted(run.data.tags, key=by_key)})
    return record


def status_name(status: ent.RunStatus.ValueType) -> str:
    return ent.RunStatus.Name(status).removeprefix("RUN_STATUS_")


def list_runs(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        records = [run_record(run) for run in search(client, args, args.experiment_id)]
    columns = list(RUN_COLUMNS)
    if args.columns:
        columns += [(key.strip(), key.strip()) for key in args.columns.split(",") if key.strip()]
    print_records(records, args.output, columns)
    return 0


def describe_run(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        described = _nested(run_record(client.get_run(args.run_id)))
    if args.output == "json":
        print(json.dumps(described, indent=2))
        return 0
    print_table(("FIELD", "VALUE"), described["info"].items())
    for kind, values in described["data"].items():
        if values:
            print()
            print_table((kind.upper(), "VALUE"), values.items())
    return 0


def _nested(record: dict[str, object]) -> dict[str, dict]:
    """{"info": {...}, "data": {"metrics": {...}, "params": {...}, "tags": {...}}}: the shape
    of MLflow's `runs describe`."""
    nested: dict[str, dict] = {"info": {}, "data": {"metrics": {}, "params": {}, "tags": {}}}
    for key, value in record.items():
        kind, _, name = key.partition(".")
        if name and kind in nested["data"]:
            nested["data"][kind][name] = value
        else:
            nested["info"][key] = value
    return nested


def delete_run(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        client.delete_run(args.run_id)
    print(f"run {args.run_id} deleted (restore it with `trackwire runs restore`)")
    return 0


def restore_run(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        client.restore_run(args.run_id)
    print(f"run {args.run_id} restored")
    return 0
