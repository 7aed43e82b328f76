"""Policy checks on terraform/, offline: what `terraform validate` and a security review would
catch, without providers or credentials (python-hcl2 parses; nothing is evaluated).

`violations(config_dir, expected_matrix)` returns one clear message per broken rule:
every reference is declared, each service account holds exactly the roles of the expected
matrix and no IAM binding exists outside it, no primitive roles, images only from this
deployment's Artifact Registry, scheduler calls authenticated (OIDC for our own service),
the bronze bucket's access, versioning and lifecycle, and what a first `terraform apply` and
deployment need: the pipeline root's bucket-wide grant, alerts not racing the metrics they
read, Cloud Build's own identity, release configs only with a Git remote, service identities
after their API, service-account ids within 30 characters.

Run it by hand with: python tests/support/infra_policy.py terraform
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from hcl2.utils import SerializationOptions

PARSE = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True,
                             preserve_heredocs=False)
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
# Resource types of the providers we use; a reference TYPE.NAME to one must be declared.
RESOURCE_REF = re.compile(r"(?<![\w.\-])((?:google|random)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")
PREFIXED_REF = re.compile(r"(?<![\w.\-])(var|local|data|ephemeral|module)\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?")
IMAGE_SOURCE = re.compile(
    r"^\$\{var\.region\}-docker\.pkg\.dev/\$\{var\.project_id\}/"
    r"\$\{google_artifact_registry_repository\.[\w-]+\.repository_id\}/[\w.-]+[:@]")
MATRIX_MEMBER = "serviceAccount:${google_service_account.this[each.value.account].email}"
# IAM bindings that are not of our service accounts, so not in the matrix: resource -> role.
EXTRA_BINDINGS = {
    # Dataform's service agent must mint tokens for the custom account it runs workflows as.
    ("google_service_account_iam_member", "dataform_agent_token_creator"): "roles/iam.serviceAccountTokenCreator",
}


@dataclass
class Config:
    """The blocks of every *.tf file in a directory, with the file each came from."""

    blocks: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)

    def labelled(self, kind: str) -> dict[tuple[str, str], tuple[str, dict]]:
        """resource/data/ephemeral blocks by (type, name)."""
        return {(type_, name): (file, body)
                for file, block in self.blocks.get(kind, [])
                for type_, named in block.items() for name, body in named.items()}

    def named(self, kind: str) -> dict[str, tuple[str, object]]:
        """variable/output/module blocks by name; locals by local name."""
        return {name: (file, body) for file, block in self.blocks.get(kind, []) for name, body in block.items()}


def load(config_dir: Path) -> Config:
    config = Config()
    for path in sorted(Path(config_dir).glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=PARSE)
        for kind, blocks in parsed.items():
            for block in blocks:
                config.blocks.setdefault(kind, []).append((path.name, block))
    return config


def violations(config_dir: Path, expected_matrix: dict[str, set[tuple[str, str]]]) -> list[str]:
    config = load(config_dir)
    return (undeclared_references(config) + primitive_roles(config) + iam_outside_matrix(config)
            + matrix_differences(config, expected_matrix) + foreign_images(config)
            + unauthenticated_schedules(config) + bronze_bucket_rules(config)
            + pipeline_root_access(config) + alerts_racing_their_metrics(config) + build_identity(config, config_dir)
            + release_configs_without_remote(config) + identities_before_their_api(config)
            + account_id_lengths(config) + unknown_settings(config_dir))


# -- references ----------------------------------------------------------------
def _strings(value, path: str = ""):
    """Every string in a parsed value, with a readable path to it."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, path)  # object keys can be expressions too
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _expressions(text: str):
    """The expression text inside each ${...} of a parsed value (braces balanced)."""
    start = text.find("${")
    while start != -1:
        depth, end = 0, start + 1
        while end < len(text):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
            end += 1
        yield text[start + 2:end]
        start = text.find("${", end)


def _every_string(config: Config):
    """(file, where, text) for every string in every block of the configuration."""
    for kind, blocks in config.blocks.items():
        for file, block in blocks:
            for where, text in _strings(block, kind):
                yield file, where, text


def undeclared_references(config: Config) -> list[str]:
    declared = {
        "var": set(config.named("variable")),
        "local": set(config.named("locals")),
        "module": set(config.named("module")),
        "resource": set(config.labelled("resource")),
        "data": set(config.labelled("data")),
        "ephemeral": set(config.labelled("ephemeral")),
    }
    found = []
    for file, where, text in _every_string(config):
        for expression in _expressions(text):
            for prefix, name, attribute in PREFIXED_REF.findall(expression):
                if prefix in ("data", "ephemeral"):
                    ok = (name, attribute) in declared[prefix]
                    shown = f"{prefix}.{name}.{attribute}"
                else:
                    ok = name in declared[prefix]
                    shown = f"{prefix}.{name}"
                if not ok:
                    found.append(f"{file}: {where} refers to {shown}, which is not declared")
            for type_, name in RESOURCE_REF.findall(expression):
                if (type_, name) not in declared["resource"]:
                    found.append(f"{file}: {where} refers to resource {type_}.{name}, which is not declared")
    return sorted(set(found))


# -- IAM -----------------------------------------------------------------------
def primitive_roles(config: Config) -> list[str]:
    return sorted({f"{file}: {where} grants {text}: primitive roles (owner, editor, viewer) are never granted"
                   for file, where, text in _every_string(config) if text in PRIMITIVE_ROLES})


def _iam_resources(config: Config):
    for (type_, name), (file, body) in config.labelled("resource").items():
        if re.search(r"_iam_(member|binding|policy)$", type_):
            yield type_, name, file, body


def iam_outside_matrix(config: Config) -> list[str]:
    """Every IAM binding comes from local.iam_grants, one resource per kind of place."""
    found, kinds_applied = [], {}
    for type_, name, file, body in _iam_resources(config):
        where = f"{file}: {type_}.{name}"
        if not type_.endswith("_iam_member"):
            found.append(f"{where} is authoritative (it replaces bindings made elsewhere): use *_iam_member")
            continue
        if (type_, name) in EXTRA_BINDINGS:
            if body.get("role") != EXTRA_BINDINGS[(type_, name)]:
                found.append(f"{where} grants {body.get('role')}, not {EXTRA_BINDINGS[(type_, name)]}")
            continue
        kind = re.search(r'g\.kind == \\?"(\w+)\\?"', str(body.get("for_each", "")))
        if not ("local.iam_grants" in str(body.get("for_each", "")) and kind
                and body.get("role") == "${each.value.role}" and body.get("member") == MATRIX_MEMBER):
            found.append(f"{where} grants {body.get('role')} outside the IAM matrix: add the grant to "
                         "local.iam_matrix (locals.tf) instead")
            continue
        if kind.group(1) in kinds_applied:
            found.append(f"{where} applies grants of kind {kind.group(1)!r}, as {kinds_applied[kind.group(1)]} does")
        kinds_applied[kind.group(1)] = f"{type_}.{name}"
    for account, places in _matrix(config).items():
        for place, role in places:
            if place.split(":")[0] not in kinds_applied:
                found.append(f"locals.tf: iam_matrix grants {role} to {account} on {place}, "
                             "but no IAM resource applies that kind of place")
    return found


def _matrix(config: Config) -> dict[str, set[tuple[str, str]]]:
    _, matrix = config.named("locals").get("iam_matrix", ("", {}))
    return {account: {(place, role) for place, roles in places.items() for role in roles}
            for account, places in matrix.items()}


def matrix_differences(config: Config, expected: dict[str, set[tuple[str, str]]]) -> list[str]:
    actual = _matrix(config)
    found = []
    accounts = set(config.named("locals").get("service_accounts", ("", {}))[1])
    if accounts != set(expected):
        found.append(f"locals.tf: service accounts {sorted(accounts)} differ from the expected {sorted(expected)}")
    for account in sorted(set(actual) | set(expected)):
        extra = actual.get(account, set()) - expected.get(account, set())
        missing = expected.get(account, set()) - actual.get(account, set())
        for place, role in sorted(extra):
            found.append(f"locals.tf: {account} is granted {role} on {place}, "
                         "which the least-privilege matrix does not allow")
        for place, role in sorted(missing):
            found.append(f"locals.tf: {account} lacks {role} on {place}, which the least-privilege matrix requires")
    return found


# -- images, schedules, the bucket -----------------------------------------------
def _resolve_locals(text: str, config: Config) -> str:
    """Substitute ${local.NAME} when that local is a plain string (one level is enough here)."""
    locals_ = config.named("locals")

    def value(match):
        local = locals_.get(match.group(1), ("", None))[1]
        return local if isinstance(local, str) else match.group(0)

    return re.sub(r"\$\{local\.(\w+)\}", value, text)


def foreign_images(config: Config) -> list[str]:
    found = []
    for (type_, name), (file, body) in config.labelled("resource").items():
        for where, text in _strings(body):
            if where.split(".")[-1].split("[")[0] != "image":
                continue
            image = _resolve_locals(text, config)
            if not IMAGE_SOURCE.match(image):
                found.append(f"{file}: {type_}.{name} runs image {image!r}: images come only from this "
                             "deployment's Artifact Registry (REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:TAG)")
    return found


def _blocks(value) -> list[dict]:
    """A nested block parses as a list of dicts (or one dict); normalise to a list."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]


def unauthenticated_schedules(config: Config) -> list[str]:
    found = []
    for (type_, name), (file, body) in config.labelled("resource").items():
        if type_ != "google_cloud_scheduler_job":
            continue
        where = f"{file}: {type_}.{name}"
        for target in _blocks(body.get("http_target")):
            uri = str(target.get("uri", ""))
            google_api = bool(re.match(r"^https://[\w.-]+\.googleapis\.com/", uri))
            oidc, oauth = _blocks(target.get("oidc_token")), _blocks(target.get("oauth_token"))
            if google_api and not (oauth or oidc):
                found.append(f"{where} calls {uri} without a token: Google APIs need oauth_token")
            elif not google_api and not oidc:
                found.append(f"{where} calls {uri} without an OIDC token: Cloud Run services take oidc_token")
            elif not google_api and not all(token.get("audience") for token in oidc):
                found.append(f"{where} sends an OIDC token without an audience (the service URL)")
        if "app_engine_http_target" in body or "pubsub_target" in body:
            found.append(f"{where}: schedules call Cloud Run over HTTP with a token, nothing else")
    return found


def bronze_bucket_rules(config: Config) -> list[str]:
    file, body = config.labelled("resource").get(("google_storage_bucket", "bronze"), ("", None))
    if body is None:
        return ["google_storage_bucket.bronze is not declared"]
    found = []
    where = f"{file}: google_storage_bucket.bronze"
    if body.get("uniform_bucket_level_access") is not True:
        found.append(f"{where} must set uniform_bucket_level_access = true")
    if not any(v.get("enabled") is True for v in _blocks(body.get("versioning"))):
        found.append(f"{where} must enable versioning")
    rules = {(a.get("type"), a.get("storage_class"), c.get("age"))
             for rule in _blocks(body.get("lifecycle_rule"))
             for a in _blocks(rule.get("action")) for c in _blocks(rule.get("condition"))}
    if ("SetStorageClass", "COLDLINE", 90) not in rules:
        found.append(f"{where} must move objects to COLDLINE after 90 days")
    if ("Delete", None, 365) not in rules:
        found.append(f"{where} must delete objects after 365 days")
    return found


# -- a first deployment ----------------------------------------------------------
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
    grants = _matrix(config).get("pipeline", set())
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
    if ("artifact_registry:images", "roles/artifactregistry.writer") not in _matrix(config).get("build", set()):
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
        if not _blocks(repository.get("git_remote_settings")):
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
              for rule in _blocks(variable.get("validation"))
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
                  for variable in (prefix, env) for rule in _blocks(variable.get("validation"))]
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


# -- settings ------------------------------------------------------------------
SETTING = re.compile(r"\bWINTERDAYS_[A-Z0-9_]*[A-Z0-9]\b")


def unknown_settings(config_dir: Path) -> list[str]:
    """A WINTERDAYS_* name Terraform sets (or mentions) that the settings table lacks is a typo or dead."""
    from lakehouse.settings import table

    read = {row.variable for row in table()}
    return [f"{path.name} sets {name}, which is not in the settings table (lakehouse/settings.py)"
            for path in sorted(Path(config_dir).glob("*.tf"))
            for name in sorted(set(SETTING.findall(path.read_text())) - read)]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
    from test_infra_policy import EXPECTED_MATRIX

    problems = violations(Path(sys.argv[1] if len(sys.argv) > 1 else "terraform"), EXPECTED_MATRIX)
    print("\n".join(problems) or "terraform/: every policy holds")
    sys.exit(1 if problems else 0)
