"""Settings in sections, read from environment variables (Cloud Run style).

The section classes below are the one table of settings: each line is a field with its
variable, its parser and its default, written once (per mode where local and gcp differ). A
default may name settings resolved before it, as `{section.field}`. A row without a variable
is derived: configuration per mode that no variable sets. docs/configuration.md lists every
variable with its default (tests/unit/lakehouse/test_settings.py keeps it true).

Local mode needs no variable at all: every location is under WINTERDAYS_HOME. In gcp mode the
bucket, project and service accounts come from Terraform's outputs, set on the Cloud Run
service and jobs as environment variables.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, field, fields, is_dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple, get_type_hints
from zoneinfo import ZoneInfo

from lakehouse.errors import SettingsError as SettingsError  # raised here and by the parsers
from lakehouse.retry import Backoff
from lakehouse.setting_parsers import (
    Parser,
    as_count,
    as_date,
    as_emails,
    as_int,
    as_lookback,
    as_path,
    as_ratio,
    as_seconds,
    as_text,
    as_timezone,
    as_uri,
    one_of,
)

MODES = ("local", "gcp")
LOCAL_PROJECT = "winter-days-local"
DEV_PII_KEY = "local-dev-pseudonymisation-key"  # local mode only; public, so never in gcp
SOURCE_ROOT = Path(__file__).resolve().parent.parent  # the folder holding the packages and dataform/


REQUIRED = None  # as a mode's default: that mode needs the variable set


class PerMode(NamedTuple):
    local: str
    gcp: str | None  # REQUIRED: gcp mode needs the variable


@dataclass(frozen=True)
class Spec:
    variable: str | None  # None: derived, set by no variable
    parse: Parser
    default: str | PerMode  # text for the parser, formatted with the settings resolved before it


def setting(variable: str | None, parse: Parser, default: str = "", *, local: str | None = None,
            gcp: str | None = None) -> Any:
    """One row of the table: `local`/`gcp` give a default per mode instead of one `default`."""
    chosen = default if local is None else PerMode(local, gcp)
    return field(metadata={"spec": Spec(variable, parse, chosen)})


def derived(parse: Parser, default: str = "", *, local: str | None = None, gcp: str | None = None) -> Any:
    return setting(None, parse, default, local=local, gcp=gcp)


# -- the table ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GeneralSettings:
    """What several sections share."""

    seed: int = setting("WINTERDAYS_SEED", as_int, "42")  # the generators' and the churn model's
    timezone: str = setting("WINTERDAYS_TIMEZONE", as_timezone, "UTC")  # where "yesterday" is computed
    # gcp has no default: an unset key fails closed where hashing happens (lakehouse.pii,
    # includes/lake.js), so only the jobs that pseudonymise need the secret
    pii_key: str = setting("WINTERDAYS_PII_KEY", as_text, local=DEV_PII_KEY, gcp="")
    log_level: str = setting("WINTERDAYS_LOG_LEVEL", one_of("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO")


@dataclass(frozen=True)
class GcpSettings:
    project: str = setting("GOOGLE_CLOUD_PROJECT", as_text, local=LOCAL_PROJECT, gcp=REQUIRED)
    region: str = setting("WINTERDAYS_REGION", as_text, "europe-west1")


@dataclass(frozen=True)
class StorageSettings:
    home: Path = setting("WINTERDAYS_HOME", as_path, ".winterdays")
    bronze_uri: str = setting("WINTERDAYS_BRONZE_URI", as_uri, local="{storage.home}/bronze",
                              gcp="gs://{gcp.project}-bronze")
    quarantine_uri: str = setting("WINTERDAYS_QUARANTINE_URI", as_uri, local="{storage.home}/quarantine",
                                  gcp="{storage.bronze_uri}/_quarantine")
    retry_deadline_s: float = setting("WINTERDAYS_RETRY_DEADLINE_S", as_seconds, "120")  # Firestore's and GCS's
    oracle_uri: str = derived(as_uri, local="{storage.home}/oracle", gcp="{storage.bronze_uri}-oracle")

    @property
    def backoff(self) -> Backoff:
        return Backoff(deadline_s=self.retry_deadline_s)


@dataclass(frozen=True)
class FirestoreSettings:
    sales_collection: str = setting("WINTERDAYS_SALES_COLLECTION", as_text, "winter_sales")
    runs_collection: str = setting("WINTERDAYS_RUNS_COLLECTION", as_text, "winter_runs")
    leases_collection: str = setting("WINTERDAYS_LEASES_COLLECTION", as_text, "winter_leases")
    emulator: str = setting("WINTERDAYS_FIRESTORE_EMULATOR", as_text)  # empty: the Google Cloud CLI's


@dataclass(frozen=True)
class WarehouseSettings:
    staging_dataset: str = setting("WINTERDAYS_STAGING_DATASET", as_text, "winter_days_staging")
    dataset: str = setting("WINTERDAYS_WAREHOUSE_DATASET", as_text, "winter_days_warehouse")
    path: Path = derived(as_path, "{storage.home}/warehouse.duckdb")  # the local warehouse file
    # one URI names the warehouse for every component, including KFP's
    uri: str = derived(as_text, local="duckdb:///{warehouse.path}", gcp="bigquery://{gcp.project}/{warehouse.dataset}")


@dataclass(frozen=True)
class TransformSettings:
    dataform_dir: Path = setting("WINTERDAYS_DATAFORM_DIR", as_path, "{source_root}/dataform")
    workers: int = setting("WINTERDAYS_TRANSFORM_WORKERS", as_int, "0")  # local; 0: half the cores
    # late data: a daily run re-reads this many bronze days before its date (the Dataform var lookback_days)
    lookback_days: int = setting("WINTERDAYS_LOOKBACK_DAYS", as_lookback, "3")
    repository: str = setting("WINTERDAYS_DATAFORM_REPOSITORY", as_text)  # gcp from here on
    workspace: str = setting("WINTERDAYS_DATAFORM_WORKSPACE", as_text, "default")
    service_account: str = setting("WINTERDAYS_DATAFORM_SERVICE_ACCOUNT", as_text)
    git_commitish: str = setting("WINTERDAYS_DATAFORM_GIT_COMMITISH", as_text)  # compile this instead of the workspace
    release_config: str = setting("WINTERDAYS_DATAFORM_RELEASE_CONFIG", as_text)  # or this release config (its id)
    # the datasets' location, for Dataform's compilation (Terraform's bigquery_location); empty: workflow_settings'
    bigquery_location: str = setting("WINTERDAYS_BIGQUERY_LOCATION", as_text)


@dataclass(frozen=True)
class ExportSettings:
    page_size: int = setting("WINTERDAYS_EXPORT_PAGE_SIZE", as_count, "50000")  # documents per Firestore query
    row_group: int = setting("WINTERDAYS_EXPORT_ROW_GROUP", as_count, "50000")  # rows per Parquet row group
    reject_threshold: float = setting("WINTERDAYS_REJECT_THRESHOLD", as_ratio, "0.05")


@dataclass(frozen=True)
class GeneratorSettings:
    """The generator jobs' defaults; flags of `winterdays generate` override them."""

    date: dt.date | None = setting("WINTERDAYS_DATE", as_date)  # None: yesterday
    customers: int = setting("WINTERDAYS_CUSTOMERS", as_int, "300")
    events_per_day: int = setting("WINTERDAYS_EVENTS_PER_DAY", as_int, "1000")
    startups: int = setting("WINTERDAYS_STARTUPS", as_int, "100")
    bad_ratio: float = setting("WINTERDAYS_BAD_RATIO", as_ratio, "0")


@dataclass(frozen=True)
class StreamSettings:
    """The clickstream subscriber (`winterdays ingest`, POST /events/clickstream) and Pub/Sub."""

    batch_size: int = setting("WINTERDAYS_STREAM_BATCH_SIZE", as_count, "5000")  # a micro-batch closes at this
    batch_seconds: float = setting("WINTERDAYS_STREAM_BATCH_SECONDS", as_seconds, "2")  # or this after its first
    emulator: str = setting("WINTERDAYS_PUBSUB_EMULATOR", as_text)  # local; empty: the Google Cloud CLI's
    emulator_dir: Path = derived(as_path, "{storage.home}/pubsub")  # local: its log and address
    # local: where the emulator pushes bronze landing notifications (`winterdays serve`); gcp: Terraform's
    landing_push_endpoint: str = setting("WINTERDAYS_LANDING_PUSH_ENDPOINT", as_text,
                                         local="http://127.0.0.1:8080/events/gcs", gcp="")


@dataclass(frozen=True)
class ChurnSettings:
    # the gate: promote only above this ROC AUC, and not below the champion's by more
    min_auc: float = setting("WINTERDAYS_CHURN_MIN_AUC", as_ratio, "0.7")
    max_auc_drop: float = setting("WINTERDAYS_CHURN_MAX_AUC_DROP", as_ratio, "0.02")
    image: str = setting("WINTERDAYS_IMAGE", as_text, "winter-days:local")  # the components' base image
    # the pipeline spec, root and model files; in gcp a bucket of their own: Vertex AI checks the pipeline
    # identity's storage.objects.get/create on the root's whole bucket, which a prefix grant cannot give
    mlops_uri: str = setting("WINTERDAYS_MLOPS_URI", as_uri, local="{storage.bronze_uri}/mlops",
                             gcp="{storage.bronze_uri}-mlops")
    pipeline_root: str = setting("WINTERDAYS_PIPELINE_ROOT", as_uri, local="{storage.home}/pipeline_root",
                                 gcp="{churn.mlops_uri}/pipeline_root")
    service_account: str = setting("WINTERDAYS_PIPELINE_SERVICE_ACCOUNT", as_text)
    # the compiled pipeline, as `winterdays mlops compile` uploads it, and the model registry (mlops/registry/)
    spec_uri: str = derived(as_uri, "{churn.mlops_uri}/churn_pipeline.yaml")
    registry_uri: str = derived(as_text, local="{storage.home}/models", gcp="vertex://{gcp.project}/{gcp.region}/"
                                "winter-days-churn?artifacts={churn.mlops_uri}/models")


@dataclass(frozen=True)
class ServiceSettings:
    """The orchestrator service."""

    host: str = derived(as_text, local="127.0.0.1", gcp="0.0.0.0")  # noqa: S104 - Cloud Run needs it
    run_mode: str = setting("WINTERDAYS_RUN_MODE", one_of("sync", "async"), "sync")
    request_deadline_s: float = setting("WINTERDAYS_REQUEST_DEADLINE_S", as_seconds, "1500")  # < the scheduler's
    lease_ttl_s: float = setting("WINTERDAYS_LEASE_TTL_S", as_seconds, "60")  # a dead holder's lease is then taken
    oidc_audience: str = setting("WINTERDAYS_OIDC_AUDIENCE", as_text)  # set: API calls need an ID token for it
    allowed_invokers: tuple[str, ...] = setting("WINTERDAYS_ALLOWED_INVOKERS", as_emails)
    oidc_certs_url: str = setting("WINTERDAYS_OIDC_CERTS_URL", as_text, "https://www.googleapis.com/oauth2/v1/certs")
    # who checks the ID token's signature: we, or Cloud Run IAM, which verifies it and removes it (orchestrator/auth.py)
    oidc_verify: str = setting("WINTERDAYS_OIDC_VERIFY", one_of("signature", "iam"), "signature")

    def __post_init__(self) -> None:
        if self.allowed_invokers and not self.oidc_audience:
            raise SettingsError("WINTERDAYS_ALLOWED_INVOKERS needs WINTERDAYS_OIDC_AUDIENCE (the service's URL): "
                                "without an audience no token is verified")


@dataclass(frozen=True)
class LookerSettings:
    """`winterdays looker-url`: template reports to copy (empty: Looker Studio's blank report),
    and the project billed for the reports' BigQuery queries (empty: the project itself)."""

    pre_ml_report_id: str = setting("WINTERDAYS_LOOKER_PRE_ML_REPORT_ID", as_text)
    post_ml_report_id: str = setting("WINTERDAYS_LOOKER_POST_ML_REPORT_ID", as_text)
    billing_project: str = setting("WINTERDAYS_LOOKER_BILLING_PROJECT", as_text)


@dataclass(frozen=True)
class Settings:
    general: GeneralSettings = field()
    gcp: GcpSettings = field()
    storage: StorageSettings = field()
    firestore: FirestoreSettings = field()
    warehouse: WarehouseSettings = field()
    transform: TransformSettings = field()
    export: ExportSettings = field()
    generators: GeneratorSettings = field()
    stream: StreamSettings = field()
    churn: ChurnSettings = field()
    service: ServiceSettings = field()
    looker: LookerSettings = field()
    # read before every section (their defaults depend on it); declared after them, as type checkers
    # take setting() for a default, which may not precede the sections' required fields
    mode: str = setting("WINTERDAYS_MODE", one_of(*MODES), "local")
    # the variables and overrides it was made from: with_overrides re-derives the defaults
    origin: tuple[Mapping[str, str], Mapping[str, Any]] = field(default=({}, {}), compare=False, repr=False)

    def today(self) -> dt.date:
        """Today's date in WINTERDAYS_TIMEZONE (the default logical date is the day before)."""
        return dt.datetime.now(ZoneInfo(self.general.timezone)).date()

    def with_overrides(self, **changes: Any) -> Settings:
        """These settings with some values replaced, e.g. `with_overrides(transform={"workers": 2})`
        or `with_overrides(mode="gcp")`; defaults that name a replaced value follow it."""
        env, overrides = self.origin
        merged = {**overrides}
        for name, value in changes.items():
            merged[name] = {**merged.get(name, {}), **value} if isinstance(value, Mapping) else value
        return _build(env, merged)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return _build(os.environ if env is None else env, {})


class Row(NamedTuple):
    section: str  # "" for Settings' own fields (the mode)
    field: str
    variable: str | None
    parse: Parser
    default: str | PerMode


def table() -> list[Row]:
    """Every setting, in the order it is resolved."""
    return [Row(section, f.name, spec.variable, spec.parse, spec.default)
            for section, f, spec in _specs()]


def describe(section: str, name: str) -> str:
    """"WINTERDAYS_SEED, default 42": for help texts."""
    row = next(r for r in table() if (r.section, r.field) == (section, name))
    default = row.default if isinstance(row.default, str) else f"{row.default.local} locally"
    return f"{row.variable}, default {default or 'none'}"


@functools.cache
def _sections() -> list[tuple[str, type]]:
    """("", Settings) for the mode, then each section: a field of Settings that is a dataclass."""
    hints = get_type_hints(Settings)
    return [("", Settings)] + [(f.name, hints[f.name]) for f in fields(Settings) if is_dataclass(hints[f.name])]


def _specs() -> Iterator[tuple[str, Field[Any], Spec]]:
    for section, cls in _sections():
        for f in fields(cls):
            if "spec" in f.metadata:
                yield section, f, f.metadata["spec"]


def _build(env: Mapping[str, str], overrides: Mapping[str, Any]) -> Settings:
    known = {row.variable for row in table()}
    resolved: dict[str, Any] = {"source_root": SOURCE_ROOT}
    values: dict[str, dict[str, Any]] = {}
    for section, f, spec in _specs():
        given = overrides.get(section, {}) if section else overrides
        if f.name in given:
            value = given[f.name]
        else:
            value = _read(spec, env, resolved, f"{section}.{f.name}")
        values.setdefault(section, {})[f.name] = value
        if section:
            resolved.setdefault(section, SimpleNamespace())
            setattr(resolved[section], f.name, value)
        else:
            resolved[f.name] = value
    _check_names(overrides, values)
    sections = {name: cls(**values[name]) for name, cls in _sections() if name}
    origin = ({k: v for k, v in env.items() if k in known}, overrides)
    return Settings(**values[""], **sections, origin=origin)


def _read(spec: Spec, env: Mapping[str, str], resolved: Mapping[str, Any], name: str) -> Any:
    raw = env.get(spec.variable, "").strip() if spec.variable else ""
    if not raw:
        default = spec.default if isinstance(spec.default, str) else getattr(spec.default, resolved["mode"])
        if default is REQUIRED:
            raise SettingsError(f"{resolved['mode']} mode needs {spec.variable}")
        raw = default.format_map(resolved)
    return spec.parse(raw, spec.variable or name)


def _check_names(overrides: Mapping[str, Any], values: Mapping[str, Mapping[str, Any]]) -> None:
    for name, value in overrides.items():
        section, names = (name, set(value)) if isinstance(value, Mapping) else ("", {name})
        unknown = sorted(names - set(values.get(section, {})))
        if unknown:
            raise TypeError(f"no such setting in {section or 'Settings'}: {unknown}")
