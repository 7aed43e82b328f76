"""Push the dataform/ project into a Dataform workspace through the API and commit it.

Terraform creates the repository but cannot create workspaces, so the workspace is created
when missing. Files the project no longer has are removed from the managed folders
(definitions/, includes/); nothing is committed when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import dataform_v1

from lakehouse.transform.dataform_api import transient_retry

MANAGED_DIRS = ("definitions", "includes")
ROOT_FILES = ("workflow_settings.yaml", "package.json", "package-lock.json")


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
    for name in ROOT_FILES:
        if (project_dir / name).is_file():
            files[name] = (project_dir / name).read_bytes()
    if "workflow_settings.yaml" not in files:
        raise FileNotFoundError(f"{project_dir} is not a Dataform project: workflow_settings.yaml is missing")
    return files


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
        if path.split("/", 1)[0] in MANAGED_DIRS and path not in wanted:
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
