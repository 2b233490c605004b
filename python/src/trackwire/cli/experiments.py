"""`trackwire experiments list|create|rename|delete|restore|csv` (MLflow's `mlflow
experiments` flag names)."""

from __future__ import annotations

import argparse
import sys

from trackwire.cli.output import iso_time, print_records, say, write_csv
from trackwire.cli.runs import run_record
from trackwire.cli.tracking import VIEWS, add_output_flag, all_pages, open_client, tracking_command
from trackwire.v1 import entities_pb2 as ent

EXPERIMENT_COLUMNS = (
    ("experiment_id", "ID"),
    ("name", "NAME"),
    ("lifecycle_stage", "STAGE"),
    ("creation_time", "CREATED"),
    ("artifact_location", "ARTIFACTS"),
)


def register(commands) -> None:
    experiments = commands.add_parser("experiments", help="list and manage experiments")
    subcommands = experiments.add_subparsers(dest="experiments_command", required=True)

    listing = tracking_command(
        subcommands, "list", list_experiments, "list experiments", aliases=("search",)
    )
    listing.add_argument("--filter", help="search DSL, e.g. \"name LIKE 'churn%%'\"")
    listing.add_argument("--order-by", action="append", help="e.g. 'name ASC' (repeat for ties)")
    listing.add_argument(
        "--view", "-v", choices=VIEWS, default="active_only", help="default: %(default)s"
    )
    listing.add_argument("--max-results", type=int, help="at most this many (default: all)")
    add_output_flag(listing)

    create = tracking_command(subcommands, "create", create_experiment, "create an experiment")
    create.add_argument("--experiment-name", "-n", required=True)
    create.add_argument(
        "--artifact-location", "-l", help="where its runs' artifacts go (default: the server's)"
    )

    rename = tracking_command(subcommands, "rename", rename_experiment, "rename an experiment")
    rename.add_argument("--experiment-id", "-x", required=True)
    rename.add_argument("--new-name", required=True)

    delete = tracking_command(
        subcommands,
        "delete",
        delete_experiment,
        "mark an experiment and its runs deleted (restorable until `trackwire gc`)",
    )
    restore = tracking_command(
        subcommands, "restore", restore_experiment, "restore a deleted experiment"
    )
    for command in (delete, restore):
        command.add_argument("--experiment-id", "-x", required=True)

    to_csv = tracking_command(
        subcommands, "csv", experiment_csv, "every active run of an experiment as CSV"
    )
    to_csv.add_argument("--experiment-id", "-x", required=True)
    to_csv.add_argument("--filename", "-o", help="write here (default: standard output)")


def experiment_record(experiment: ent.Experiment) -> dict[str, object]:
    record: dict[str, object] = {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage,
        "creation_time": iso_time(experiment.creation_time),
        "last_update_time": iso_time(experiment.last_update_time),
    }
    record.update({f"tags.{t.key}": t.value for t in sorted(experiment.tags, key=lambda t: t.key)})
    return record


def list_experiments(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        experiments = all_pages(
            lambda token: client.search_experiments(
                filter_string=args.filter,
                order_by=args.order_by,
                view_type=args.view.upper(),
                page_token=token,
            ),
            args.max_results,
        )
        records = [experiment_record(e) for e in experiments]
    print_records(records, args.output, EXPERIMENT_COLUMNS)
    return 0


def create_experiment(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        experiment_id = client.create_experiment(args.experiment_name, args.artifact_location)
    say(f"created experiment {args.experiment_name!r} with id {experiment_id}")
    print(experiment_id)
    return 0


def rename_experiment(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        client.update_experiment(args.experiment_id, args.new_name)
    print(f"experiment {args.experiment_id} renamed to {args.new_name!r}")
    return 0


def delete_experiment(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        client.delete_experiment(args.experiment_id)
    print(
        f"experiment {args.experiment_id} deleted (restore it with `trackwire experiments restore`)"
    )
    return 0


def restore_experiment(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        client.restore_experiment(args.experiment_id)
    print(f"experiment {args.experiment_id} restored")
    return 0


def experiment_csv(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        client.get_experiment(args.experiment_id)  # an unknown id is an error, not an empty file
        runs = all_pages(lambda token: client.search_runs([args.experiment_id], page_token=token))
        records = [run_record(run) for run in runs]
    if args.filename:
        with open(args.filename, "w", newline="") as f:
            write_csv(records, f)
        say(f"{len(records)} run(s) of experiment {args.experiment_id} written to {args.filename}")
    else:
        write_csv(records, sys.stdout)
    return 0
