"""An in-process gRPC fake of the Dataform v1 service, for the gcp adapter's tests.

The real client (DataformClient over a DataformGrpcTransport on an insecure channel) talks
to it, so the adapter's requests, retries and paging run for real. Generic handlers use the
proto-plus types' serialize/deserialize. Scenarios are set on the fake's attributes.
"""

from __future__ import annotations

import itertools
from concurrent import futures

import grpc
import yaml
from google.cloud import dataform_v1
from google.cloud.dataform_v1.services.dataform.transports import DataformGrpcTransport
from google.cloud.dataform_v1.types import dataform as t

SERVICE = "google.cloud.dataform.v1.Dataform"
State = t.WorkflowInvocation.State


class FakeDataform:
    def __init__(self):
        self.calls: list[tuple[str, object]] = []
        self.unavailable: dict[str, int] = {}  # method -> how many calls fail with UNAVAILABLE first
        self.compilation_errors: list[t.CompilationResult.CompilationError] = []
        self.states: list[int] = [State.SUCCEEDED]  # successive get_workflow_invocation states
        self.actions: list[t.WorkflowInvocationAction] = []
        # the actions as each get_workflow_invocation leaves them (then the last stays): progress between polls
        self.actions_by_poll: list[list[t.WorkflowInvocationAction]] = []
        self.compiled: list[t.CompilationResultAction] = []
        self.workspaces: set[str] = set()
        self.files: dict[str, dict[str, bytes]] = {}  # workspace -> path -> contents
        self.commits: list[t.CommitWorkspaceChangesRequest] = []
        self.committed: dict[str, dict[str, bytes]] = {}
        self.installed: set[str] = set()  # workspaces whose package.json packages are installed
        self._ids = itertools.count(1)
        self._state_iter = None

    # -- the RPCs ---------------------------------------------------------------------------
    def CreateCompilationResult(self, request: t.CreateCompilationResultRequest, context):
        result = t.CompilationResult(request.compilation_result)
        workspace = request.compilation_result.workspace
        if workspace and workspace not in self.workspaces:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{workspace} not found")
        result.name = f"{request.parent}/compilationResults/c{next(self._ids)}"
        result.compilation_errors = self.compilation_errors or (self._core_errors(workspace) if workspace else [])
        return result

    def _core_errors(self, workspace: str) -> list:
        """What the service refuses about @dataform/core, with the pinned Dataform CLI's own messages (its
        compile() in @dataform/cli's bundle.js): core is named once, by workflow_settings.yaml's
        dataformCoreVersion (then no package.json, package-lock.json or node_modules) or by a package.json
        whose packages are installed (InstallNpmPackages, the API's `dataform install`)."""
        files = self.files[workspace]
        settings = yaml.safe_load(files.get("workflow_settings.yaml", b"")) or {}
        core = settings.get("dataformCoreVersion")
        if not core and "package.json" not in files:
            return [_error("workflow_settings.yaml", "dataformCoreVersion must be specified either in "
                           "workflow_settings.yaml or via a package.json")]
        if core:
            return [_error(path, f"'{path}' unexpected; remove it and try again")
                    for path in ("package.json", "package-lock.json") if path in files]
        if workspace not in self.installed:
            return [_error("package.json", "Could not find NPM dependencies. Have you run 'dataform install'?")]
        return []

    def InstallNpmPackages(self, request: t.InstallNpmPackagesRequest, context):
        if "package.json" not in self.files[request.workspace]:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the workspace has no package.json")
        self.installed.add(request.workspace)
        return t.InstallNpmPackagesResponse()

    def CreateWorkflowInvocation(self, request: t.CreateWorkflowInvocationRequest, context):
        compiled = {(a.target.schema, a.target.name) for a in self.compiled}
        for target in request.workflow_invocation.invocation_config.included_targets:
            if (target.schema, target.name) not in compiled:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"included target {target.database}.{target.schema}.{target.name} is not an action "
                              "of the compilation result")
        invocation = t.WorkflowInvocation(request.workflow_invocation)
        invocation.name = f"{request.parent}/workflowInvocations/w{next(self._ids)}"
        invocation.state = State.RUNNING
        self._state_iter = iter(self.states)
        self.invocation = invocation
        return invocation

    def GetWorkflowInvocation(self, request: t.GetWorkflowInvocationRequest, context):
        invocation = t.WorkflowInvocation(self.invocation)
        invocation.state = next(self._state_iter, self.states[-1])
        if self.actions_by_poll:
            self.actions = self.actions_by_poll.pop(0)
        return invocation

    def CancelWorkflowInvocation(self, request, context):
        self.states = [State.CANCELLED]
        return t.CancelWorkflowInvocationResponse()

    def QueryWorkflowInvocationActions(self, request, context):
        return _page(t.QueryWorkflowInvocationActionsResponse, "workflow_invocation_actions", self.actions, request)

    def QueryCompilationResultActions(self, request, context):
        return _page(t.QueryCompilationResultActionsResponse, "compilation_result_actions", self.compiled, request)

    def GetRepository(self, request: t.GetRepositoryRequest, context):
        return t.Repository(name=request.name)

    def GetWorkspace(self, request: t.GetWorkspaceRequest, context):
        if request.name not in self.workspaces:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        return t.Workspace(name=request.name)

    def CreateWorkspace(self, request: t.CreateWorkspaceRequest, context):
        name = f"{request.parent}/workspaces/{request.workspace_id}"
        self.workspaces.add(name)
        self.files.setdefault(name, {})
        return t.Workspace(name=name)

    def WriteFile(self, request: t.WriteFileRequest, context):
        self.files[request.workspace][request.path] = request.contents
        if request.path == "package.json":  # installed packages no longer match it
            self.installed.discard(request.workspace)
        return t.WriteFileResponse()

    def RemoveFile(self, request: t.RemoveFileRequest, context):
        self.files[request.workspace].pop(request.path)
        return t.RemoveFileResponse()

    def QueryDirectoryContents(self, request: t.QueryDirectoryContentsRequest, context):
        prefix = f"{request.path}/" if request.path else ""
        entries, seen = [], set()
        for path in sorted(self.files[request.workspace]):
            if not path.startswith(prefix):
                continue
            head, sep, _ = path[len(prefix):].partition("/")
            if sep and prefix + head not in seen:
                seen.add(prefix + head)
                entries.append(t.DirectoryEntry(directory=prefix + head))
            elif not sep:
                entries.append(t.DirectoryEntry(file=path))
        return _page(t.QueryDirectoryContentsResponse, "directory_entries", entries, request)

    def FetchFileGitStatuses(self, request: t.FetchFileGitStatusesRequest, context):
        now, before = self.files[request.name], self.committed.get(request.name, {})
        changed = sorted(p for p in set(now) | set(before) if now.get(p) != before.get(p))
        change = t.FetchFileGitStatusesResponse.UncommittedFileChange
        return t.FetchFileGitStatusesResponse(uncommitted_file_changes=[change(path=p) for p in changed])

    def CommitWorkspaceChanges(self, request: t.CommitWorkspaceChangesRequest, context):
        self.commits.append(request)
        self.committed[request.name] = dict(self.files[request.name])
        return t.CommitWorkspaceChangesResponse()

    # -- plumbing ---------------------------------------------------------------------------
    def handler(self) -> grpc.GenericRpcHandler:
        methods = {}
        for name, (request_type, response_type) in _SIGNATURES.items():
            methods[name] = grpc.unary_unary_rpc_method_handler(
                self._recorded(name), request_deserializer=request_type.deserialize,
                response_serializer=response_type.serialize)
        return grpc.method_handlers_generic_handler(SERVICE, methods)

    def _recorded(self, name):
        def call(request, context):
            self.calls.append((name, request))
            if self.unavailable.get(name):
                self.unavailable[name] -= 1
                context.abort(grpc.StatusCode.UNAVAILABLE, "the service is briefly unavailable")
            return getattr(self, name)(request, context)
        return call

    def called(self, name: str) -> list:
        return [request for method, request in self.calls if method == name]


def _error(path: str, message: str) -> t.CompilationResult.CompilationError:
    return t.CompilationResult.CompilationError(path=path, message=message)


def seed_workspace(fake: FakeDataform, workspace: str, core_version: str = "3.0.62") -> None:
    """A workspace as `winterdays dataform push` leaves it, for tests that compile without pushing."""
    fake.workspaces.add(workspace)
    fake.files[workspace] = {"workflow_settings.yaml": f"dataformCoreVersion: {core_version}\n".encode()}


PAGE_SIZE = 2  # small, so the client's pager really fetches several pages


def _page(response_type, field: str, items: list, request):
    start = int(request.page_token or 0)
    page = items[start:start + PAGE_SIZE]
    token = str(start + PAGE_SIZE) if start + PAGE_SIZE < len(items) else ""
    return response_type(**{field: page, "next_page_token": token})


_SIGNATURES = {
    "CreateCompilationResult": (t.CreateCompilationResultRequest, t.CompilationResult),
    "CreateWorkflowInvocation": (t.CreateWorkflowInvocationRequest, t.WorkflowInvocation),
    "GetWorkflowInvocation": (t.GetWorkflowInvocationRequest, t.WorkflowInvocation),
    "CancelWorkflowInvocation": (t.CancelWorkflowInvocationRequest, t.CancelWorkflowInvocationResponse),
    "QueryWorkflowInvocationActions": (t.QueryWorkflowInvocationActionsRequest,
                                       t.QueryWorkflowInvocationActionsResponse),
    "QueryCompilationResultActions": (t.QueryCompilationResultActionsRequest, t.QueryCompilationResultActionsResponse),
    "GetRepository": (t.GetRepositoryRequest, t.Repository),
    "GetWorkspace": (t.GetWorkspaceRequest, t.Workspace),
    "CreateWorkspace": (t.CreateWorkspaceRequest, t.Workspace),
    "WriteFile": (t.WriteFileRequest, t.WriteFileResponse),
    "RemoveFile": (t.RemoveFileRequest, t.RemoveFileResponse),
    "QueryDirectoryContents": (t.QueryDirectoryContentsRequest, t.QueryDirectoryContentsResponse),
    "FetchFileGitStatuses": (t.FetchFileGitStatusesRequest, t.FetchFileGitStatusesResponse),
    "CommitWorkspaceChanges": (t.CommitWorkspaceChangesRequest, t.CommitWorkspaceChangesResponse),
    "InstallNpmPackages": (t.InstallNpmPackagesRequest, t.InstallNpmPackagesResponse),
}


class FakeServer:
    """Starts the fake on a free loopback port; `client()` is a real DataformClient wired to it."""

    def __init__(self, fake: FakeDataform):
        self.fake = fake
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((fake.handler(),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def __enter__(self):
        self.server.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return self

    def client(self) -> dataform_v1.DataformClient:
        return dataform_v1.DataformClient(transport=DataformGrpcTransport(channel=self.channel))

    def __exit__(self, *exc):
        self.channel.close()
        self.server.stop(grace=None)
