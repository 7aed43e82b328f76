"""The cloud warehouse: BigQuery through google-cloud-bigquery."""

from __future__ import annotations

import io
import os
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.warehouse import WarehouseError

if TYPE_CHECKING:  # the client library loads when a BigQuery warehouse is opened
    from google.cloud import bigquery


class BigQueryWarehouse:
    dialect = "bigquery"

    def __init__(self, project: str, dataset: str | None = None, client: bigquery.Client | None = None):
        from google.cloud import bigquery

        self.project = project
        self.dataset = dataset
        self.client = client or bigquery.Client(project=project, credentials=_emulator_credentials())
        self._bigquery = bigquery

    def __repr__(self) -> str:
        return f"BigQueryWarehouse({self.project!r})"

    def _run(self, sql: str) -> bigquery.QueryJob:
        try:
            job = self.client.query(sql)
            job.result()
            return job
        except Exception as error:  # google.api_core errors carry the reason
            raise WarehouseError(f"{error}\n-- statement:\n{sql}") from None

    def execute(self, sql: str) -> int:
        job = self._run(sql)
        affected = getattr(job, "num_dml_affected_rows", None)
        return int(affected) if affected is not None else -1

    def query(self, sql: str) -> list[dict[str, Any]]:
        return [dict(row.items()) for row in self._run(sql).result()]

    def query_arrow(self, sql: str) -> pa.Table:
        return self._run(sql).result().to_arrow(create_bqstorage_client=False)

    def table_exists(self, dataset: str, table: str) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.client.get_table(f"{self.project}.{dataset}.{table}")
            return True
        except NotFound:
            return False

    def tables(self, dataset: str) -> list[str]:
        return sorted(t.table_id for t in self.client.list_tables(f"{self.project}.{dataset}"))

    def columns(self, dataset: str, table: str) -> list[str]:
        from google.api_core.exceptions import NotFound

        try:
            return [f.name for f in self.client.get_table(f"{self.project}.{dataset}.{table}").schema]
        except NotFound:
            return []

    def write_arrow(self, data: pa.Table, dataset: str, table: str, *, replace_where: str | None = None) -> int:
        bq = self._bigquery
        target = f"{self.project}.{dataset}.{table}"
        buffer = io.BytesIO()
        pq.write_table(data, buffer)
        buffer.seek(0)
        if replace_where is None:
            self._load(buffer, target, bq.WriteDisposition.WRITE_TRUNCATE)
            return int(data.num_rows)
        # Load into a scratch table, then swap the snapshot's rows in one transaction.
        scratch = f"{self.project}.{dataset}._incoming_{table}_{uuid.uuid4().hex[:8]}"
        self._load(buffer, scratch, bq.WriteDisposition.WRITE_TRUNCATE)
        try:
            self._run(f"CREATE TABLE IF NOT EXISTS `{target}` LIKE `{scratch}`")
            self._run(
                "BEGIN TRANSACTION;\n"
                f"DELETE FROM `{target}` WHERE {replace_where};\n"
                f"INSERT INTO `{target}` SELECT * FROM `{scratch}`;\n"
                "COMMIT TRANSACTION;"
            )
        finally:
            self.client.delete_table(scratch, not_found_ok=True)
        return int(data.num_rows)

    def _load(self, buffer: io.BytesIO, target: str, disposition: str) -> None:
        bq = self._bigquery
        config = bq.LoadJobConfig(source_format=bq.SourceFormat.PARQUET, write_disposition=disposition)
        try:
            self.client.load_table_from_file(buffer, target, job_config=config).result()
        except Exception as error:
            raise WarehouseError(f"loading {target} failed: {error}") from None

    def close(self) -> None:
        self.client.close()


def _emulator_credentials() -> Any:
    """A local BigQuery endpoint (BIGQUERY_EMULATOR_HOST, which the client honours) takes no credentials,
    as google-cloud-storage does with STORAGE_EMULATOR_HOST; None: Application Default Credentials."""
    if not os.environ.get("BIGQUERY_EMULATOR_HOST"):
        return None
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()
