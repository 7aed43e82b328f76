"""Policy checks on terraform/, offline: what `terraform validate` and a security review would
catch, without providers or credentials (python-hcl2 parses; nothing is evaluated).

`violations(config_dir, expected_matrix)` returns one clear message per broken rule:
every reference is declared, each service account holds exactly the roles of the expected
matrix and no IAM binding exists outside it, no primitive roles, images only from this
deployment's Artifact Registry, scheduler calls authenticated (OIDC for our own service),
the bronze bucket's access, versioning and lifecycle, and what a first `terraform apply` and
deployment need: the pipeline root's bucket-wide grant, alerts not racing the metrics they
read, Cloud Build's own identity, release configs only with a Git remote, service identities
after their API, service-account ids within 30 characters, push subscriptions (OIDC with an
audience, a dead-letter policy, a retry policy).

Run it by hand with: python tests/support/infra_policy.py terraform
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from infra_config import Config, iam_matrix, load, nested_blocks
from infra_first_deploy import (
    account_id_lengths,
    alerts_racing_their_metrics,
    build_identity,
    identities_before_their_api,
    pipeline_root_access,
    release_configs_without_remote,
)

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
    # Cloud Storage's service agent publishes the bronze bucket's notifications.
    ("google_pubsub_topic_iam_member", "gcs_notifications"): "roles/pubsub.publisher",
    # Pub/Sub's service agent moves undeliverable messages to the dead-letter topics.
    ("google_pubsub_topic_iam_member", "pubsub_agent_dead_letters"): "roles/pubsub.publisher",
    ("google_pubsub_subscription_iam_member", "pubsub_agent_subscriber"): "roles/pubsub.subscriber",
}


def violations(config_dir: Path, expected_matrix: dict[str, set[tuple[str, str]]]) -> list[str]:
    config = load(config_dir)
    return (undeclared_references(config) + primitive_roles(config) + iam_outsideiam_matrix(config)
            + matrix_differences(config, expected_matrix) + foreign_images(config)
            + unauthenticated_schedules(config) + bronze_bucket_rules(config)
            + pipeline_root_access(config) + alerts_racing_their_metrics(config) + build_identity(config, config_dir)
            + release_configs_without_remote(config) + identities_before_their_api(config)
            + account_id_lengths(config) + push_subscription_rules(config) + unknown_settings(config_dir))


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


def iam_outsideiam_matrix(config: Config) -> list[str]:
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
    for account, places in iam_matrix(config).items():
        for place, role in places:
            if place.split(":")[0] not in kinds_applied:
                found.append(f"locals.tf: iam_matrix grants {role} to {account} on {place}, "
                             "but no IAM resource applies that kind of place")
    return found


def matrix_differences(config: Config, expected: dict[str, set[tuple[str, str]]]) -> list[str]:
    actual = iam_matrix(config)
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


def unauthenticated_schedules(config: Config) -> list[str]:
    found = []
    for (type_, name), (file, body) in config.labelled("resource").items():
        if type_ != "google_cloud_scheduler_job":
            continue
        where = f"{file}: {type_}.{name}"
        for target in nested_blocks(body.get("http_target")):
            uri = str(target.get("uri", ""))
            google_api = bool(re.match(r"^https://[\w.-]+\.googleapis\.com/", uri))
            oidc, oauth = nested_blocks(target.get("oidc_token")), nested_blocks(target.get("oauth_token"))
            if google_api and not (oauth or oidc):
                found.append(f"{where} calls {uri} without a token: Google APIs need oauth_token")
            elif not google_api and not oidc:
                found.append(f"{where} calls {uri} without an OIDC token: Cloud Run services take oidc_token")
            elif not google_api and not all(token.get("audience") for token in oidc):
                found.append(f"{where} sends an OIDC token without an audience (the service URL)")
        if "app_engine_http_target" in body or "pubsub_target" in body:
            found.append(f"{where}: schedules call Cloud Run over HTTP with a token, nothing else")
    return found


def push_subscription_rules(config: Config) -> list[str]:
    """A push subscription authenticates to our service, retries with backoff, and dead-letters."""
    found = []
    for (type_, name), (file, body) in config.labelled("resource").items():
        if type_ != "google_pubsub_subscription" or "push_config" not in body:
            continue
        where = f"{file}: {type_}.{name}"
        for push in nested_blocks(body.get("push_config")):
            tokens = nested_blocks(push.get("oidc_token"))
            if not tokens:
                found.append(f"{where} pushes without an OIDC token: the service refuses unauthenticated calls")
            elif not all(t.get("audience") and t.get("service_account_email") for t in tokens):
                found.append(f"{where} sends an OIDC token without an audience or a service account")
        if not any(d.get("dead_letter_topic") and d.get("max_delivery_attempts")
                   for d in nested_blocks(body.get("dead_letter_policy"))):
            found.append(f"{where} has no dead_letter_policy: a message that always fails would be retried for days")
        if not any(r.get("minimum_backoff") for r in nested_blocks(body.get("retry_policy"))):
            found.append(f"{where} has no retry_policy: failed pushes would be retried at once, without backoff")
    return found


def bronze_bucket_rules(config: Config) -> list[str]:
    file, body = config.labelled("resource").get(("google_storage_bucket", "bronze"), ("", None))
    if body is None:
        return ["google_storage_bucket.bronze is not declared"]
    found = []
    where = f"{file}: google_storage_bucket.bronze"
    if body.get("uniform_bucket_level_access") is not True:
        found.append(f"{where} must set uniform_bucket_level_access = true")
    if not any(v.get("enabled") is True for v in nested_blocks(body.get("versioning"))):
        found.append(f"{where} must enable versioning")
    rules = {(a.get("type"), a.get("storage_class"), c.get("age"))
             for rule in nested_blocks(body.get("lifecycle_rule"))
             for a in nested_blocks(rule.get("action")) for c in nested_blocks(rule.get("condition"))}
    if ("SetStorageClass", "COLDLINE", 90) not in rules:
        found.append(f"{where} must move objects to COLDLINE after 90 days")
    if ("Delete", None, 365) not in rules:
        found.append(f"{where} must delete objects after 365 days")
    return found


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
