"""`winterdays dataform push | compile`: the Dataform project itself.

push     write dataform/ into the Dataform workspace through the API and commit it (gcp;
         Terraform cannot create workspaces, so push creates it when missing)
compile  compile the project with the pinned CLI and the run's vars, and list its actions
run      compile and run a selection of actions (by tag or by name, with or without their
         dependencies or dependents), outside the run ledger; both modes
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from lakehouse.settings import Settings, SettingsError
from orchestrator.cli.common import Subcommands, parse_date, yesterday

if TYPE_CHECKING:  # imported when a command runs
    from google.cloud import dataform_v1


def register(sub: Subcommands) -> None:
    dataform = sub.add_parser("dataform", help="push the Dataform project to its workspace, or compile it")
    actions = dataform.add_subparsers(dest="dataform_command", required=True, metavar="ACTION")
    push = actions.add_parser("push", help="write dataform/ into the Dataform workspace and commit it (gcp)")
    push.add_argument("--message", default="winterdays dataform push", help="the commit message")
    push.add_argument("--author-name", default="winterdays")
    push.add_argument("--author-email", default="winterdays@localhost")
    push.set_defaults(handler=push_command)
    comp = actions.add_parser("compile", help="compile with the pinned Dataform CLI and list the actions")
    comp.add_argument("--date", type=parse_date, help="the run_date var (default: yesterday)")
    comp.add_argument("--schema-suffix", default="", help="Dataform's --schema-suffix")
    comp.set_defaults(handler=compile_command)
    run = actions.add_parser("run", help="compile and run selected actions (both modes), outside the run ledger")
    run.add_argument("--date", type=parse_date, help="the run_date var (default: yesterday)")
    run.add_argument("--tags", default="", help="comma-separated tags, e.g. gold,daily")
    run.add_argument("--actions", default="",
                     help="comma-separated actions, e.g. fct_sales or winter_days_warehouse.fct_sales")
    run.add_argument("--no-dependencies", action="store_true", help="run only the selected actions")
    run.add_argument("--dependents", action="store_true", help="also run what depends on them")
    run.add_argument("--full-refresh", action="store_true", help="rebuild incremental tables")
    run.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the invocation")
    run.set_defaults(handler=run_command)


def dataform_client() -> dataform_v1.DataformClient:
    from google.cloud import dataform_v1

    return dataform_v1.DataformClient()


def push_command(args: argparse.Namespace, settings: Settings) -> int:
    from lakehouse.transform.dataform_api import REPOSITORY
    from lakehouse.transform.workspace import push_project

    if not REPOSITORY.match(settings.transform.repository):
        raise SettingsError("WINTERDAYS_DATAFORM_REPOSITORY must be projects/P/locations/R/repositories/NAME, "
                            f"got {settings.transform.repository!r}")
    result = push_project(dataform_client(), settings.transform.repository, settings.transform.workspace,
                          settings.transform.dataform_dir, message=args.message, author_name=args.author_name,
                          author_email=args.author_email)
    print(json.dumps({"workspace": result.workspace, "created": result.created, "written": len(result.written),
                      "removed": result.removed, "committed": result.committed}))
    return 0


def compile_command(args: argparse.Namespace, settings: Settings) -> int:
    from lakehouse.transform.actions import actions_from_graph, execution_order
    from lakehouse.transform.compiler import compile_project
    from orchestrator.steps import compile_variables

    variables = compile_variables(settings, settings.storage.bronze_uri, args.date or yesterday(settings))
    graph = compile_project(settings.transform.dataform_dir, variables, schema_suffix=args.schema_suffix)
    actions = actions_from_graph(graph)
    for key in execution_order(actions):
        action = actions[key]
        print(f"{action.kind:<12} {key:<75} {','.join(action.tags):<20} {action.file}")
    return 0


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    from lakehouse.transform.actions import Selection
    from orchestrator.resources import Resources
    from orchestrator.steps import compile_variables, dead_letters_uri

    tags = tuple(t for t in args.tags.split(",") if t)
    targets = tuple(t for t in args.actions.split(",") if t)
    selection = Selection(tags=tags, targets=targets,
                          include_dependencies=bool(tags or targets) and not args.no_dependencies,
                          include_dependents=args.dependents, full_refresh=args.full_refresh)
    resources = Resources.from_settings(settings)
    transform = resources.transform
    variables = compile_variables(settings, settings.storage.bronze_uri, args.date or yesterday(settings),
                                  dead_letters_uri(resources.quarantine))
    result = transform.wait(transform.invoke(transform.compile(variables), selection), args.timeout)
    print(json.dumps(result.summary()))
    result.raise_for_state()
    return 0
