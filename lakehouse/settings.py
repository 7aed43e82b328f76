"""One settings object, read from environment variables (Cloud Run style).

Local mode needs no variable at all: every default points under WINTERDAYS_HOME.
In gcp mode the bucket, project and service accounts come from Terraform's outputs,
set on the Cloud Run service and jobs as environment variables.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lakehouse.errors import LakehouseError
from lakehouse.retry import Backoff

MODES = ("local", "gcp")
RUN_MODES = ("sync", "async")
GOOGLE_OIDC_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
LOCAL_PROJECT = "winter-days-local"
DEV_PII_KEY = "local-dev-pseudonymisation-key"  # local mode only; public, so never in gcp


class SettingsError(LakehouseError, ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    mode: str = "local"
    home: Path = Path(".winterdays")
    project: str = LOCAL_PROJECT
    region: str = "europe-west1"
    timezone: str = "UTC"
    bronze_uri: str = ""
    quarantine_uri: str = ""
    sales_collection: str = "winter_sales"
    runs_collection: str = "winter_runs"
    staging_dataset: str = "winter_days_staging"
    warehouse_dataset: str = "winter_days_warehouse"
    assertions_dataset: str = "winter_days_assertions"
    pii_key: str = DEV_PII_KEY
    seed: int = 42
    reject_threshold: float = 0.05
    # the export: documents per Firestore query, rows per Parquet row group
    export_page_size: int = 50_000
    export_row_group: int = 50_000
    retry_deadline_s: float = 120.0  # transient errors of Firestore and GCS are retried this long
    # the generator jobs (flags of `winterdays generate` override them)
    customers: int = 300
    events_per_day: int = 1000
    startups: int = 100
    bad_ratio: float = 0.0
    # the clickstream subscriber (`winterdays ingest`): a micro-batch closes at this many messages or seconds
    stream_batch_size: int = 5000
    stream_batch_seconds: float = 2.0
    dataform_dir: Path = Path(__file__).resolve().parent.parent / "dataform"
    # gcp only
    dataform_repository: str = ""
    dataform_workspace: str = "default"
    dataform_service_account: str = ""
    dataform_git_commitish: str = ""  # compile this commitish instead of the workspace
    dataform_release_config: str = ""  # or this release config (its id)
    transform_workers: int = 0  # local: Dataform actions run side by side; 0 = half the cores
    pipeline_root: str = ""
    pipeline_service_account: str = ""
    # the orchestrator service
    leases_collection: str = "winter_leases"
    lease_ttl_s: float = 60.0  # a dead holder's lease is taken over after this long
    run_mode: str = "sync"  # sync: answer when the run ends or at the deadline; async: 202 at once
    request_deadline_s: float = 1500.0  # under Cloud Scheduler's 30-minute attempt deadline
    oidc_audience: str = ""  # set: every API call needs a Google-signed ID token for this audience
    allowed_invokers: tuple[str, ...] = ()  # service-account emails allowed to call the API
    oidc_certs_url: str = GOOGLE_OIDC_CERTS_URL
    # the churn model's gate: promote only above this ROC AUC, and not below the champion's by more
    churn_min_auc: float = 0.7
    churn_max_auc_drop: float = 0.02
    # `winterdays looker-url`: template reports to copy (empty: Looker Studio's blank report), and
    # the project billed for the reports' BigQuery queries (empty: the project itself)
    looker_pre_ml_report_id: str = ""
    looker_post_ml_report_id: str = ""
    looker_billing_project: str = ""
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    # -- derived locations -------------------------------------------------
    @property
    def is_local(self) -> bool:
        return self.mode == "local"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def warehouse_uri(self) -> str:
        """One URI names the warehouse for every component, including KFP's."""
        if self.is_local:
            return f"duckdb:///{self.warehouse_path.resolve()}"
        return f"bigquery://{self.project}/{self.warehouse_dataset}"

    @property
    def oracle_uri(self) -> str:
        """The generator's ground truth; deliberately outside bronze."""
        if self.is_local:
            return str((self.home / "oracle").resolve())
        return f"{self.bronze_uri.rstrip('/')}-oracle"

    @property
    def firestore_data_dir(self) -> Path:
        return self.home / "firestore"

    @property
    def pubsub_data_dir(self) -> Path:
        return self.home / "pubsub"

    @property
    def model_registry_dir(self) -> Path:
        return self.home / "models"

    @property
    def model_registry_uri(self) -> str:
        """Where the churn model's versions live (see mlops/registry/)."""
        if self.is_local:
            return str(self.model_registry_dir.resolve())
        artifacts = f"{self.bronze_uri.rstrip('/')}/mlops/models"
        return f"vertex://{self.project}/{self.region}/winter-days-churn?artifacts={artifacts}"

    @property
    def pipeline_spec_uri(self) -> str:
        """The compiled churn pipeline, as `winterdays mlops compile` uploads it."""
        return f"{self.bronze_uri.rstrip('/')}/mlops/churn_pipeline.yaml"

    @property
    def effective_pipeline_root(self) -> str:
        if self.pipeline_root:
            return self.pipeline_root
        if self.is_local:
            return str((self.home / "pipeline_root").resolve())
        return f"{self.bronze_uri.rstrip('/')}/mlops/pipeline_root"

    @property
    def backoff(self) -> Backoff:
        return Backoff(deadline_s=self.retry_deadline_s)

    def today(self) -> dt.date:
        """Today's date in WINTERDAYS_TIMEZONE (the default logical date is the day before)."""
        return dt.datetime.now(ZoneInfo(self.timezone)).date()

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)

    # -- construction --------------------------------------------------------
    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mode = env.get("WINTERDAYS_MODE", "local").strip().lower()
        if mode not in MODES:
            raise SettingsError(f"WINTERDAYS_MODE must be one of {MODES}, got {mode!r}")
        home = Path(env.get("WINTERDAYS_HOME", ".winterdays")).expanduser().resolve()
        project = env.get("GOOGLE_CLOUD_PROJECT") or env.get("WINTERDAYS_PROJECT") or ""
        if mode == "gcp" and not project:
            raise SettingsError("gcp mode needs GOOGLE_CLOUD_PROJECT (the project id)")
        project = project or LOCAL_PROJECT
        bronze = env.get("WINTERDAYS_BRONZE_URI") or (
            str(home / "bronze") if mode == "local" else f"gs://{project}-bronze"
        )
        quarantine = env.get("WINTERDAYS_QUARANTINE_URI") or (
            str(home / "quarantine") if mode == "local" else f"{bronze.rstrip('/')}/_quarantine"
        )
        settings = cls(
            mode=mode,
            home=home,
            project=project,
            region=env.get("WINTERDAYS_REGION", "europe-west1"),
            timezone=_timezone(env),
            bronze_uri=bronze,
            quarantine_uri=quarantine,
            sales_collection=env.get("WINTERDAYS_SALES_COLLECTION", "winter_sales"),
            runs_collection=env.get("WINTERDAYS_RUNS_COLLECTION", "winter_runs"),
            staging_dataset=env.get("WINTERDAYS_STAGING_DATASET", "winter_days_staging"),
            warehouse_dataset=env.get("WINTERDAYS_WAREHOUSE_DATASET", "winter_days_warehouse"),
            assertions_dataset=env.get("WINTERDAYS_ASSERTIONS_DATASET", "winter_days_assertions"),
            # gcp has no default: an unset key fails closed where hashing happens (lakehouse.pii,
            # includes/lake.js), so only the jobs that pseudonymise need the secret.
            pii_key=env.get("WINTERDAYS_PII_KEY", DEV_PII_KEY if mode == "local" else ""),
            seed=_int(env, "WINTERDAYS_SEED", 42),
            reject_threshold=_float(env, "WINTERDAYS_REJECT_THRESHOLD", 0.05),
            export_page_size=_count(env, "WINTERDAYS_EXPORT_PAGE_SIZE", 50_000),
            export_row_group=_count(env, "WINTERDAYS_EXPORT_ROW_GROUP", 50_000),
            retry_deadline_s=_seconds(env, "WINTERDAYS_RETRY_DEADLINE_S", 120.0),
            customers=_int(env, "WINTERDAYS_CUSTOMERS", 300),
            events_per_day=_int(env, "WINTERDAYS_EVENTS_PER_DAY", 1000),
            startups=_int(env, "WINTERDAYS_STARTUPS", 100),
            bad_ratio=_float(env, "WINTERDAYS_BAD_RATIO", 0.0),
            stream_batch_size=_count(env, "WINTERDAYS_STREAM_BATCH_SIZE", 5000),
            stream_batch_seconds=_seconds(env, "WINTERDAYS_STREAM_BATCH_SECONDS", 2.0),
            dataform_dir=Path(env.get("WINTERDAYS_DATAFORM_DIR", str(cls.dataform_dir))),
            dataform_repository=env.get("WINTERDAYS_DATAFORM_REPOSITORY", ""),
            dataform_workspace=env.get("WINTERDAYS_DATAFORM_WORKSPACE", "default"),
            dataform_service_account=env.get("WINTERDAYS_DATAFORM_SERVICE_ACCOUNT", ""),
            dataform_git_commitish=env.get("WINTERDAYS_DATAFORM_GIT_COMMITISH", ""),
            dataform_release_config=env.get("WINTERDAYS_DATAFORM_RELEASE_CONFIG", ""),
            transform_workers=_int(env, "WINTERDAYS_TRANSFORM_WORKERS", 0),
            pipeline_root=env.get("WINTERDAYS_PIPELINE_ROOT", ""),
            pipeline_service_account=env.get("WINTERDAYS_PIPELINE_SERVICE_ACCOUNT", ""),
            leases_collection=env.get("WINTERDAYS_LEASES_COLLECTION", "winter_leases"),
            lease_ttl_s=_seconds(env, "WINTERDAYS_LEASE_TTL_S", 60.0),
            run_mode=_choice(env, "WINTERDAYS_RUN_MODE", RUN_MODES),
            request_deadline_s=_seconds(env, "WINTERDAYS_REQUEST_DEADLINE_S", 1500.0),
            oidc_audience=env.get("WINTERDAYS_OIDC_AUDIENCE", "").strip(),
            allowed_invokers=tuple(e.strip().lower() for e in env.get("WINTERDAYS_ALLOWED_INVOKERS", "").split(",")
                                   if e.strip()),
            oidc_certs_url=env.get("WINTERDAYS_OIDC_CERTS_URL") or GOOGLE_OIDC_CERTS_URL,
            churn_min_auc=_float(env, "WINTERDAYS_CHURN_MIN_AUC", 0.7),
            churn_max_auc_drop=_float(env, "WINTERDAYS_CHURN_MAX_AUC_DROP", 0.02),
            looker_pre_ml_report_id=env.get("WINTERDAYS_LOOKER_PRE_ML_REPORT_ID", "").strip(),
            looker_post_ml_report_id=env.get("WINTERDAYS_LOOKER_POST_ML_REPORT_ID", "").strip(),
            looker_billing_project=env.get("WINTERDAYS_LOOKER_BILLING_PROJECT", "").strip(),
            extra={k: v for k, v in env.items() if k.startswith("WINTERDAYS_")},
        )
        if settings.allowed_invokers and not settings.oidc_audience:
            raise SettingsError("WINTERDAYS_ALLOWED_INVOKERS needs WINTERDAYS_OIDC_AUDIENCE (the service's URL): "
                                "without an audience no token is verified")
        return settings


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default)
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name} must be between 0 and 1, got {value}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default)
    if not value > 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise SettingsError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _timezone(env: Mapping[str, str]) -> str:
    name = env.get("WINTERDAYS_TIMEZONE", "UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"WINTERDAYS_TIMEZONE must be an IANA time zone like Europe/Paris, got {name!r}") from None
    return name
