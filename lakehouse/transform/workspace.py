"""Push the dataform/ project into a Dataform workspace through the API and commit it.

Terraform creates the repository but cannot create workspaces, so the workspace is created
when missing. Files the project no longer has are removed from the managed folders
(definitions/, includes/); nothing is committed when nothing changed.

The managed service compiles with the @dataform/core that workflow_settings.yaml names in
`dataformCoreVersion` (Dataform's documented choice when core is the only package). Locally
package.json pins the CLI and core instead, so that a compile never calls npm (DESIGN.md); the
CLI refuses both at once. So the pushed tree holds workflow_settings.yaml with the core version
of package.json's pin, and no package.json: a package.json in a workspace would need
`install_npm_packages` before every compile, and the CLI it pins is of no use to the service.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import dataform_v1

from lakehouse.transform.dataform_api import transient_retry

MANAGED_DIRS = ("definitions", "includes")
SETTINGS_FILE = "workflow_settings.yaml"
LOCAL_ONLY_FILES = ("package.json", "package-lock.json")  # never pushed; removed if an older push left them
CORE_PACKAGE = "@dataform/core"


@dataclass
class PushResult:
    workspace: str
    created: bool = False
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    committed: bool = False


def project_files(project_dir: Path) -> dict[str, bytes]:
    """Workspace path -> contents of every file the project consists of."""
    project_dir = Path(project_dir)
    files = {}
    for folder in MANAGED_DIRS:
        for path in sorted((project_dir / folder).rglob("*")):
            if path.is_file():
                files[path.relative_to(project_dir).as_posix()] = path.read_bytes()
    settings_path = project_dir / SETTINGS_FILE
    if not settings_path.is_file():
        raise FileNotFoundError(f"{project_dir} is not a Dataform project: {SETTINGS_FILE} is missing")
    files[SETTINGS_FILE] = managed_settings(settings_path.read_text(), project_dir / "package.json").encode()
    return files


def managed_settings(settings_yaml: str, package_json: Path) -> str:
    """workflow_settings.yaml as the service compiles it: with dataformCoreVersion, package.json's pin of core."""
    try:
        version = json.loads(package_json.read_text())["dependencies"][CORE_PACKAGE]
    except (OSError, ValueError, KeyError):
        raise FileNotFoundError(f"{package_json} must pin {CORE_PACKAGE} (its version goes to the workspace's "
                                f"{SETTINGS_FILE} as dataformCoreVersion)") from None
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(f"{package_json}: {CORE_PACKAGE} must be pinned to an exact version, got {version!r}")
    stamp = "# Set by `winterdays dataform push` from package.json's pin."
    return f"{settings_yaml.rstrip()}\n{stamp}\ndataformCoreVersion: {version}\n"


def push_project(client: dataform_v1.DataformClient, repository: str, workspace_id: str, project_dir: Path, *,
                 message: str, author_name: str, author_email: str) -> PushResult:
    retry = transient_retry()
    workspace = f"{repository}/workspaces/{workspace_id}"
    result = PushResult(workspace=workspace, created=_ensure_workspace(client, repository, workspace_id, retry))
    wanted = project_files(project_dir)
    for path, contents in wanted.items():
        client.write_file(request={"workspace": workspace, "path": path, "contents": contents}, retry=retry)
        result.written.append(path)
    for path in _existing_files(client, workspace, retry):
        if (path.split("/", 1)[0] in MANAGED_DIRS or path in LOCAL_ONLY_FILES) and path not in wanted:
            client.remove_file(request={"workspace": workspace, "path": path}, retry=retry)
            result.removed.append(path)
    statuses = client.fetch_file_git_statuses(request={"name": workspace}, retry=retry)
    if statuses.uncommitted_file_changes:
        client.commit_workspace_changes(request={
            "name": workspace,
            "author": {"name": author_name, "email_address": author_email},
            "commit_message": message,
        }, retry=retry)
        result.committed = True
    return result


def _ensure_workspace(client: dataform_v1.DataformClient, repository: str, workspace_id: str,
                      retry: api_retry.Retry) -> bool:
    try:
        client.get_workspace(name=f"{repository}/workspaces/{workspace_id}", retry=retry)
        return False
    except api_exceptions.NotFound:
        client.create_workspace(parent=repository, workspace=dataform_v1.Workspace(), workspace_id=workspace_id,
                                retry=retry)
        return True


def _existing_files(client: dataform_v1.DataformClient, workspace: str, retry: api_retry.Retry,
                    directory: str = "") -> list[str]:
    found = []
    pages = client.query_directory_contents(request={"workspace": workspace, "path": directory}, retry=retry)
    for entry in pages:
        if entry.directory:
            found += _existing_files(client, workspace, retry, entry.directory)
        elif entry.file:
            found.append(entry.file)
    return found
