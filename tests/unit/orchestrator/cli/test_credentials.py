"""The operator's commands without Application Default Credentials: one line saying what to run, exit 2."""

import os
import socket
import subprocess
import sys

import pytest

HOW_TO = "gcloud auth application-default login"


@pytest.fixture
def no_credentials(tmp_path):
    """An environment with no ADC file, no gcloud configuration and no reachable metadata server."""
    with socket.socket() as probe:  # a port nothing listens on: the metadata probe is refused at once
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WINTERDAYS_", "GOOGLE_", "STORAGE_EMULATOR", "FIRESTORE_EMULATOR"))}
    env.update({"CLOUDSDK_CONFIG": str(tmp_path / "gcloud"), "GCE_METADATA_HOST": closed, "GCE_METADATA_IP": closed,
                "HOME": str(tmp_path), "WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme",
                "WINTERDAYS_HOME": str(tmp_path / "home"),
                "WINTERDAYS_DATAFORM_REPOSITORY": "projects/acme/locations/europe-west1/repositories/winter-days"})
    return env


@pytest.mark.parametrize("command", [["dataform", "push"], ["mlops", "compile", "--image", "x/winter-days:1"]])
def test_a_missing_credential_is_one_line_saying_what_to_run(no_credentials, command):
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", *command], env=no_credentials,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if not line.startswith("{")]  # JSON log lines aside
    assert len(errors) == 1 and HOW_TO in errors[0] and "set-quota-project" in errors[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
