"""`winterdays mlops compile | champion`: the churn pipeline's spec and the model registry."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from lakehouse.settings import Settings, describe
from orchestrator.cli.common import Subcommands


def register(sub: Subcommands) -> None:
    mlops = sub.add_parser("mlops", help="the churn pipeline: compile its spec, show the champion model")
    commands = mlops.add_subparsers(dest="mlops_command", required=True, metavar="SUBCOMMAND")
    compile_ = commands.add_parser("compile", help="compile the pipeline to YAML and upload it to WINTERDAYS_MLOPS_URI")
    compile_.add_argument("--image", help=f"the components' base image ({describe('churn', 'image')})")
    compile_.set_defaults(handler=compile_pipeline)
    champion = commands.add_parser("champion", help="show the champion model of the registry")
    champion.set_defaults(handler=show_champion)


def compile_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    from lakehouse.storage import ObjectStore
    from mlops.pipeline import SPEC_FILE, compile_spec

    if settings.churn.spec_uri.startswith("gs://") and not os.environ.get("STORAGE_EMULATOR_HOST"):
        from lakehouse.credentials import require_application_default_credentials

        require_application_default_credentials()  # before compiling: the upload needs them
    image = args.image or settings.churn.image
    with tempfile.TemporaryDirectory() as scratch:
        spec = compile_spec(Path(scratch) / SPEC_FILE, image).read_bytes()
    mlops_dir = ObjectStore(settings.churn.spec_uri.rsplit("/", 1)[0])
    mlops_dir.write_bytes(SPEC_FILE, spec)
    print(json.dumps({"spec": settings.churn.spec_uri, "image": image, "bytes": len(spec)}))
    return 0


def show_champion(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.registry import open_registry

    print(json.dumps(open_registry(settings.churn.registry_uri).champion(), indent=2))
    return 0
