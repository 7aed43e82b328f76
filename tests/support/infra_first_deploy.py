"""The policies of tests/support/infra_policy.py on what a first `terraform apply` and deployment need.

Each was a defect a review found before any real deployment (docs/deploy-checks.md): the pipeline
root's bucket-wide grant, alerts not racing the log-based metrics they read, Cloud Build's own
identity, release configs only with a Git remote, service identities after their API, and
service-account ids within 30 characters.
"""

from __future__ import annotations

import re
from pathlib import Path

from infra_config import Config, iam_matrix, nested_blocks

OBJECT_WRITERS = {"roles/storage.objectAdmin", "roles/storage.objectUser"}
ACCOUNT_ID_MAX = 30


def _local(config: Config, name: str):
    return config.named("locals").get(name, ("", None))[1]


def pipeline_root_access(config: Config) -> list[str]:
    """Vertex AI checks storage.objects.get/create on the pipeline root's whole bucket: the pipeline
    account needs an unconditional object role on a bucket of this configuration."""
    root = str(_local(config, "pipeline_root") or "")
    bucket = re.match(r"^gs://\$\{google_storage_bucket\.([\w-]+)\.name\}/", root)
    if not bucket:
        return [f"locals.tf: pipeline_root {root!r} must be gs://${{google_storage_bucket.NAME.name}}/...: a bucket "
                "of this configuration, on which the pipeline account holds a bucket-wide grant"]
    buckets = _local(config, "buckets") or {}
    keys = [key for key, ref in buckets.items() if ref == f"${{google_storage_bucket.{bucket.group(1)}.name}}"]
    grants = iam_matrix(config).get("pipeline", set())
    if not any(place == f"bucket:{key}" and role in OBJECT_WRITERS for key in keys for place, role in grants):
        return [f"locals.tf: the pipeline account needs storage.objectAdmin on bucket:{bucket.group(1)} (the pipeline "
                "root's bucket), without a condition: Vertex AI checks storage.objects.get/create at bucket level"]
    return []


def alerts_racing_their_metrics(config: Config) -> list[str]:
    """An alert policy reading a log-based metric of the same apply gets 404 until the metric propagates."""
    found = []
    for (type_, name), (file, body) in config.labelled("resource").items():
        if type_ != "google_monitoring_alert_policy":
            continue
        metrics = set(re.findall(r"google_logging_metric\.([\w-]+)", str(body)))
        waits = " ".join(map(str, body.get("depends_on", [])))
        for metric in sorted(metrics):
            if f"google_logging_metric.{metric}" not in waits or "time_sleep." not in waits:
                found.append(f"{file}: {type_}.{name} reads google_logging_metric.{metric}, created in the same apply: "
                             "the API answers 404 until the metric propagates; use a log-match condition "
                             "(condition_matched_log) or depends_on the metric and a time_sleep")
    return found


def build_identity(config: Config, config_dir: Path) -> list[str]:
    """New projects no longer give the Compute Engine default account Cloud Build's role: the build runs
    as an account of ours, which may push to the image repository."""
    found = []
    deploy = Path(config_dir) / "deploy.sh"
    script = deploy.read_text() if deploy.exists() else ""
    for command in re.findall(r"gcloud builds submit(?:[^\n]*\\\n)*[^\n]*", script):
        if "--service-account" not in command:
            found.append("deploy.sh: `gcloud builds submit` runs without --service-account, so as the Compute Engine "
                         "default account, which new projects do not let build")
    if ("artifact_registry:images", "roles/artifactregistry.writer") not in iam_matrix(config).get("build", set()):
        found.append("locals.tf: the build account needs roles/artifactregistry.writer on artifact_registry:images")
    return found


def release_configs_without_remote(config: Config) -> list[str]:
    """A release config compiles a commitish of the repository's Git remote."""
    resources = config.labelled("resource")
    found = []
    for (type_, name), (file, body) in resources.items():
        if type_ != "google_dataform_repository_release_config":
            continue
        repo = re.search(r"google_dataform_repository\.([\w-]+)\.", str(body.get("repository", "")))
        _, repository = resources.get(("google_dataform_repository", repo.group(1) if repo else ""), ("", {}))
        if not nested_blocks(repository.get("git_remote_settings")):
            found.append(f"{file}: {type_}.{name} compiles a commitish of a repository with no git_remote_settings: "
                         "it can never compile (the workspace is pushed through the API)")
    return found


def identities_before_their_api(config: Config) -> list[str]:
    return [f"{file}: {type_}.{name} must depend on google_project_service.enabled: the service identity exists "
            "once its API is enabled"
            for (type_, name), (file, body) in config.labelled("resource").items()
            if type_ == "google_project_service_identity"
            and "google_project_service.enabled" not in " ".join(map(str, body.get("depends_on", [])))]


def _longest(variable: dict) -> int | None:
    """The longest value a variable's regex validation admits; None when no regex bounds it."""
    import warnings

    with warnings.catch_warnings():  # deprecated as a public name, still re's own parser
        warnings.simplefilter("ignore", DeprecationWarning)
        import sre_parse  # noqa: PLC0415 - the standard parser gives a pattern's longest match

    widths = [sre_parse.parse(p).getwidth()[1]
              for rule in nested_blocks(variable.get("validation"))
              for p in re.findall(r'regex\("(.*?)",', str(rule.get("condition", "")).replace("\\\\", "\\"))]
    return min(widths) if widths else None


def account_id_lengths(config: Config) -> list[str]:
    """Account ids are "<name_prefix>-<environment>-<key>": within 30 characters for every allowed value,
    or a validation bounds the whole id."""
    variables = config.named("variable")
    prefix, env = (variables.get(n, ("", {}))[1] for n in ("name_prefix", "environment"))
    keys = _local(config, "service_accounts") or {}
    if not keys:
        return []
    longest_key = max(keys, key=len)
    conditions = [str(rule.get("condition"))
                  for variable in (prefix, env) for rule in nested_blocks(variable.get("validation"))]
    bounded = any(f"-{longest_key}" in c and f"<= {ACCOUNT_ID_MAX}" in c for c in conditions)
    widths = (_longest(prefix), _longest(env))
    if bounded or None in widths:
        return [] if bounded else ["variables.tf: name_prefix and environment need regex validations bounding "
                                   "their length (they are part of service account ids)"]
    longest = widths[0] + 1 + widths[1] + 1 + len(longest_key)
    if longest > ACCOUNT_ID_MAX:
        return [f"variables.tf: the service account id <name_prefix>-<environment>-{longest_key} can reach {longest} "
                f"characters with allowed values; ids have at most {ACCOUNT_ID_MAX}: validate the whole id"]
    return []
