"""`winterdays dataform push | compile`: the Dataform project itself.

push     write dataform/ into the Dataform workspace through the API and commit it (gcp;
         Terraform cannot create workspaces, so push creates it when missing)
compile  compile the project with the pinned CLI and the run's vars, and list its actions with their
         dependencies (--json: the graph, for tools)
ls       what a selection (--tags, --actions) would run, in order, without running it
run      compile and run a selection of actions (by tag or by name, with or without their
         dependencies or dependents), outside the run ledger; both modes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from lakehouse.settings import Settings, SettingsError
from orchestrator.cli.common import DateArgument, Subcommands, yesterday
from orchestrator.cli.common import tags as checked_tags

if TYPE_CHECKING:  # imported when a command runs
    from google.cloud import dataform_v1

    from lakehouse.transform.actions import Selection


def register(sub: Subcommands) -> None:
    dataform = sub.add_parser("dataform", help="push, compile, list or run the Dataform project")
    actions = dataform.add_subparsers(dest="dataform_command", required=True, metavar="ACTION")
    push = actions.add_parser("push", help="write dataform/ into the Dataform workspace and commit it (gcp)")
    push.add_argument("--message", default="winterdays dataform push", help="the commit message")
    push.add_argument("--author-name", default="winterdays")
    push.add_argument("--author-email", default="winterdays@localhost")
    push.set_defaults(handler=push_command)
    comp = actions.add_parser("compile", help="compile with the pinned Dataform CLI and list the actions")
    comp.add_argument("--date", type=DateArgument, help="the run_date var (default: yesterday)")
    comp.add_argument("--schema-suffix", default="", help="Dataform's --schema-suffix")
    comp.add_argument("--json", action="store_true", help="the graph as JSON: actions in order, edges, descriptions")
    comp.set_defaults(handler=compile_command)
    ls = actions.add_parser("ls", help="list what a selection would run, in order, without running it")
    ls.add_argument("--date", type=DateArgument, help="the run_date var (default: yesterday)")
    _selection_flags(ls)
    ls.set_defaults(handler=ls_command)
    run = actions.add_parser("run", help="compile and run selected actions (both modes), outside the run ledger")
    run.add_argument("--date", type=DateArgument, help="the run_date var (default: yesterday)")
    _selection_flags(run)
    run.add_argument("--full-refresh", action="store_true", help="rebuild incremental tables")
    run.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the invocation")
    run.add_argument("--json", action="store_true", help="JSON lines on stdout (the default off a terminal)")
    run.set_defaults(handler=run_command)


def _selection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tags", default="", help="comma-separated tags, e.g. gold,daily")
    parser.add_argument("--actions", default="",
                        help="comma-separated actions, e.g. fct_sales or winter_days_warehouse.fct_sales")
    parser.add_argument("--no-dependencies", action="store_true", help="only the selected actions")
    parser.add_argument("--dependents", action="store_true", help="also what depends on them")


def _selection(args: argparse.Namespace, settings: Settings) -> Selection:
    from lakehouse.transform.actions import Selection

    tags = checked_tags(args.tags, settings)  # an unknown tag would select nothing: refused (exit 2)
    targets = tuple(t for t in args.actions.split(",") if t)
    return Selection(tags=tags, targets=targets,
                     include_dependencies=bool(tags or targets) and not args.no_dependencies,
                     include_dependents=args.dependents, full_refresh=getattr(args, "full_refresh", False))


def dataform_client() -> dataform_v1.DataformClient:
    from google.cloud import dataform_v1

    from lakehouse.credentials import require_application_default_credentials

    require_application_default_credentials()
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
    from lakehouse.transform.lineage import as_json, lineage

    graph = _compiled(settings, args.date, args.schema_suffix)
    if args.json:
        print(json.dumps(as_json(graph), indent=1))
        return 0
    nodes = lineage(graph)
    print(f"{'KIND':<12} {'ACTION':<62} {'TAGS':<14} DEPENDS ON")
    for node in nodes.values():
        print(f"{node.kind:<12} {node.key:<62} {','.join(node.tags):<14} {', '.join(_short(node.dependencies)) or '-'}")
    checks = sum(len(n.assertions) for n in nodes.values())
    print(f"{len(nodes)} actions and {checks} assertions, in execution order; "
          "`winterdays dataform compile --json` gives the graph, `winterdays docs` its documentation")
    return 0


def ls_command(args: argparse.Namespace, settings: Settings) -> int:
    """The actions a selection runs, in the order it runs them (what Dataform's InvocationConfig selects)."""
    from lakehouse.transform.actions import actions_from_graph, select

    actions = actions_from_graph(_compiled(settings, args.date, ""))
    keys = [k for k in select(actions, _selection(args, settings)) if actions[k].kind != "declaration"]
    for n, key in enumerate(keys, 1):
        print(f"{n:>3} {actions[key].kind:<12} {key}")
    print(f"{len(keys)} of {sum(a.kind != 'declaration' for a in actions.values())} actions would run; nothing ran")
    return 0


def _compiled(settings: Settings, day: dt.date | None, schema_suffix: str) -> dict[str, Any]:
    from lakehouse.transform.compiler import compile_project
    from orchestrator.steps import compile_variables

    variables = compile_variables(settings, settings.storage.bronze_uri, day or yesterday(settings))
    return compile_project(settings.transform.dataform_dir, variables, schema_suffix=schema_suffix)


def _short(keys: list[str]) -> list[str]:
    return [k.split(".", 1)[1] for k in keys]


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """A line an action as it ends on a terminal (JSON lines off one), the detail in logs/dataform-run-*.log."""
    from orchestrator.cli.show import wants_json
    from orchestrator.resources import Resources
    from orchestrator.run_log import JsonEcho, StepEcho, detail_to
    from orchestrator.steps import compile_variables, report_action

    selection = _selection(args, settings)
    transform = Resources.from_settings(settings).transform
    variables = compile_variables(settings, settings.storage.bronze_uri, args.date or yesterday(settings))
    log_path = settings.storage.home / "logs" / f"dataform-run-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.log"
    with detail_to(log_path, JsonEcho if wants_json(args) else StepEcho):
        invocation = transform.invoke(transform.compile(variables), selection, on_action=report_action)
        result = transform.wait(invocation, args.timeout, on_action=report_action)
    print(json.dumps({**result.summary(), "log": str(log_path)}))
    result.raise_for_state()
    return 0
