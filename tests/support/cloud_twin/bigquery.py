"""A local BigQuery REST endpoint for google-cloud-bigquery (BIGQUERY_EMULATOR_HOST), over DuckDB.

Exactly the calls our adapter (lakehouse/warehouse/bigquery.py) makes through the official client:
jobs.insert (query; load through a resumable upload), jobs.get, jobs.getQueryResults, tables.get,
tables.list, tables.delete. Each request is checked against the shape the REST reference documents
(a query job is GoogleSQL, a load names its destination table and format) and refused with
BigQuery's error body otherwise. The SQL runs on a DuckDB file through the same BigQuery -> DuckDB
translation as local mode (lakehouse/warehouse/dialect.py), so what the twin checks is our code
and the client's protocol, not a second SQL engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import io
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.warehouse import UnsupportedSQL, WarehouseError
from lakehouse.warehouse.duckdb import DuckDBWarehouse

API = "/bigquery/v2/projects/"
PAGE_ROWS = 500  # the client pages through getQueryResults


class BadRequest(Exception):
    pass


class FakeBigQuery:
    """The service's state: one DuckDB warehouse (a schema per dataset), the jobs and the uploads."""

    def __init__(self, path: str):
        self.warehouse = DuckDBWarehouse(path)
        self.jobs: dict[str, dict] = {}
        self.results: dict[str, pa.Table] = {}
        self.uploads: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request
        self.lock = threading.Lock()  # one statement at a time, as one DuckDB connection needs

    # -- jobs ------------------------------------------------------------------------------------
    def insert_job(self, project: str, body: dict, data: bytes | None = None) -> dict:
        configuration = body.get("configuration") or {}
        reference = {"projectId": project, "jobId": (body.get("jobReference") or {}).get("jobId")
                     or uuid.uuid4().hex, "location": "EU"}
        job = {"kind": "bigquery#job", "id": f"{project}:EU.{reference['jobId']}", "jobReference": reference,
               "configuration": configuration, "status": {"state": "DONE"},
               "statistics": {"creationTime": _now_ms(), "startTime": _now_ms()}}
        try:
            if "query" in configuration:
                self._query(job, configuration["query"])
            elif "load" in configuration:
                self._load(configuration["load"], data)
            else:
                raise BadRequest("configuration needs query or load")
        except (WarehouseError, UnsupportedSQL, BadRequest) as error:
            job["status"]["errorResult"] = {"reason": "invalidQuery", "message": str(error)[:4000]}
            job["status"]["errors"] = [job["status"]["errorResult"]]
        job["statistics"]["endTime"] = _now_ms()
        self.jobs[reference["jobId"]] = job
        return job

    def _query(self, job: dict, query: dict) -> None:
        if query.get("useLegacySql", True) is not False:
            raise BadRequest("our adapter sends GoogleSQL: useLegacySql must be false")
        sql = query.get("query") or ""
        if not sql.strip():
            raise BadRequest("configuration.query.query is empty")
        with self.lock:
            if re.match(r"^\s*(\(|SELECT\b|WITH\b)", sql, re.IGNORECASE):
                table = self.warehouse.query_arrow(sql)
                affected = None
            else:
                table, affected = None, self.warehouse.execute(sql)
        statistics = job["statistics"].setdefault("query", {"statementType": "SELECT" if table is not None else
                                                           sql.split(None, 1)[0].upper()})
        if affected is not None and affected >= 0:
            statistics["numDmlAffectedRows"] = str(affected)
        self.results[job["jobReference"]["jobId"]] = table if table is not None else pa.table({})

    def _load(self, load: dict, data: bytes | None) -> None:
        destination = load.get("destinationTable") or {}
        if not all(destination.get(k) for k in ("projectId", "datasetId", "tableId")):
            raise BadRequest("a load job names its destinationTable: projectId, datasetId, tableId")
        if load.get("sourceFormat") != "PARQUET" or data is None:
            raise BadRequest("our adapter loads Parquet through a media upload")
        if load.get("writeDisposition", "WRITE_APPEND") != "WRITE_TRUNCATE":
            raise BadRequest("our adapter replaces the table it loads (WRITE_TRUNCATE)")
        table = pq.read_table(io.BytesIO(data))
        dataset, name = destination["datasetId"], destination["tableId"]
        with self.lock:
            self.warehouse.run_native(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
            self.warehouse.con.register("_incoming", table)
            try:
                self.warehouse.run_native(f'CREATE OR REPLACE TABLE "{dataset}"."{name}" AS SELECT * FROM _incoming')
            finally:
                self.warehouse.con.unregister("_incoming")

    def query_results(self, job_id: str, params: dict) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise LookupError(f"Not found: Job {job_id}")
        table = self.results.get(job_id, pa.table({}))
        start = int(params.get("pageToken") or params.get("startIndex") or 0)
        size = int(params.get("maxResults") or PAGE_ROWS)
        page = table.slice(start, size)
        answer = {"kind": "bigquery#getQueryResultsResponse", "jobReference": job["jobReference"],
                  "jobComplete": True, "schema": _schema(table.schema), "totalRows": str(table.num_rows),
                  "rows": _rows(page), "cacheHit": False}
        if start + size < table.num_rows:
            answer["pageToken"] = str(start + size)
        if "numDmlAffectedRows" in job["statistics"].get("query", {}):
            answer["numDmlAffectedRows"] = job["statistics"]["query"]["numDmlAffectedRows"]
        return answer

    # -- tables ------------------------------------------------------------------------------------
    def table(self, project: str, dataset: str, name: str) -> dict:
        with self.lock:
            rows = self.warehouse.run_native(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                "AND table_name = ? ORDER BY ordinal_position", [dataset, name]).fetchall()
        if not rows:
            raise LookupError(f"Not found: Table {project}:{dataset}.{name}")
        fields = [{"name": column, "type": _duckdb_type(kind), "mode": "NULLABLE"} for column, kind in rows]
        return {"kind": "bigquery#table", "id": f"{project}:{dataset}.{name}", "schema": {"fields": fields},
                "tableReference": {"projectId": project, "datasetId": dataset, "tableId": name}}

    def tables(self, project: str, dataset: str) -> dict:
        with self.lock:
            names = self.warehouse.tables(dataset)
        return {"kind": "bigquery#tableList", "totalItems": len(names), "tables": [
            {"tableReference": {"projectId": project, "datasetId": dataset, "tableId": n}} for n in names]}

    def delete_table(self, dataset: str, name: str) -> None:
        with self.lock:
            kind = self.warehouse.run_native(
                "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [dataset, name]).fetchall()
            if not kind:
                raise LookupError(f"Not found: Table {dataset}.{name}")
            what = "VIEW" if kind[0][0] == "VIEW" else "TABLE"
            self.warehouse.run_native(f'DROP {what} "{dataset}"."{name}"')

    def row_count(self, dataset: str, name: str) -> int:
        with self.lock:
            return self.warehouse.run_native(f'SELECT count(*) FROM "{dataset}"."{name}"').fetchall()[0][0]


class _Handler(BaseHTTPRequestHandler):
    service: FakeBigQuery

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self):  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.service.calls.append((method, url.path))
        try:
            status, answer, headers = self._route(method, url.path, params, body)
        except LookupError as missing:
            status, answer, headers = 404, _error(404, "notFound", str(missing)), {}
        except BadRequest as bad:
            status, answer, headers = 400, _error(400, "invalid", str(bad)), {}
        payload = json.dumps(answer, default=str).encode() if answer is not None else b""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _route(self, method: str, path: str, params: dict, body: bytes):
        service = self.service
        if path.startswith("/upload" + API):
            return self._upload(method, path, params, body)
        if not path.startswith(API):
            raise LookupError(f"no such API path {path}")
        project, _, rest = path[len(API):].partition("/")
        parts = rest.split("/")
        if method == "POST" and parts == ["jobs"]:
            return 200, service.insert_job(project, json.loads(body or b"{}")), {}
        if method == "GET" and parts[0] == "jobs" and len(parts) == 2:
            if parts[1] not in service.jobs:
                raise LookupError(f"Not found: Job {project}:{parts[1]}")
            return 200, service.jobs[parts[1]], {}
        if method == "GET" and parts[0] == "queries" and len(parts) == 2:
            return 200, service.query_results(parts[1], params), {}
        if parts[0] == "datasets" and len(parts) >= 3 and parts[2] == "tables":
            if len(parts) == 3 and method == "GET":
                return 200, service.tables(project, parts[1]), {}
            if len(parts) == 4 and method == "GET":
                return 200, service.table(project, parts[1], parts[3]), {}
            if len(parts) == 4 and method == "DELETE":
                service.delete_table(parts[1], parts[3])
                return 204, None, {}
        raise BadRequest(f"{method} {path} is not a call our adapter makes")

    def _upload(self, method: str, path: str, params: dict, body: bytes):
        """jobs.insert with media: the resumable protocol (initiate, then PUT the bytes)."""
        service = self.service
        project = path[len("/upload" + API):].split("/")[0]
        if method == "POST" and params.get("uploadType") == "resumable":
            upload_id = uuid.uuid4().hex
            service.uploads[upload_id] = {"job": json.loads(body), "data": bytearray()}
            location = f"http://{self.headers['Host']}{path}?uploadType=resumable&upload_id={upload_id}"
            return 200, None, {"Location": location}
        upload = service.uploads.get(params.get("upload_id", ""))
        if method != "PUT" or upload is None:
            raise BadRequest("uploads are resumable: POST ?uploadType=resumable, then PUT the bytes")
        first, last, total = _content_range(self.headers.get("Content-Range", ""))
        if first is not None:
            upload["data"].extend(body)
        if total is not None and len(upload["data"]) == total:
            service.uploads.pop(params["upload_id"])
            return 200, service.insert_job(project, upload["job"], bytes(upload["data"])), {}
        return 308, None, {"Range": f"bytes=0-{len(upload['data']) - 1}"} if upload["data"] else {}


def _content_range(header: str):
    match = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", header.strip())
    if not match:
        raise BadRequest(f"bad Content-Range {header!r}")
    first, last, total = match.groups()
    return (int(first) if first else None, int(last) if last else None, int(total) if total != "*" else None)


def _error(code: int, reason: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "errors": [{"reason": reason, "message": message}],
                      "status": "NOT_FOUND" if code == 404 else "INVALID_ARGUMENT"}}


def _now_ms() -> str:
    return str(int(dt.datetime.now(dt.UTC).timestamp() * 1000))


# -- values in the REST encoding ---------------------------------------------------------------
def _bq_type(kind: pa.DataType) -> tuple[str, str]:
    """(BigQuery type, mode) of an Arrow type."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _bq_type(kind.value_type)[0], "REPEATED"
    for test, name in ((pa.types.is_boolean, "BOOLEAN"), (pa.types.is_integer, "INTEGER"),
                       (pa.types.is_floating, "FLOAT"), (pa.types.is_decimal, "NUMERIC"),
                       (pa.types.is_date, "DATE"), (pa.types.is_timestamp, "TIMESTAMP"),
                       (pa.types.is_time, "TIME"), (pa.types.is_binary, "BYTES")):
        if test(kind):
            if name == "TIMESTAMP" and kind.tz is None:
                return "DATETIME", "NULLABLE"
            return name, "NULLABLE"
    return "STRING", "NULLABLE"


def _schema(schema: pa.Schema) -> dict:
    fields = []
    for field in schema:
        kind, mode = _bq_type(field.type)
        fields.append({"name": field.name, "type": kind, "mode": mode})
    return {"fields": fields}


def _cell(value) -> object:
    if value is None:
        return None
    if isinstance(value, list):
        return [{"v": _cell(v)} for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # TIMESTAMP: microseconds since the epoch (useInt64Timestamp)
            return str(int(value.timestamp() * 1_000_000))
        return value.isoformat()
    if isinstance(value, dt.date | dt.time | decimal.Decimal):
        return value.isoformat() if not isinstance(value, decimal.Decimal) else str(value)
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    return str(value)


def _rows(table: pa.Table) -> list[dict]:
    return [{"f": [{"v": _cell(row[name])} for name in table.column_names]} for row in table.to_pylist()]


def _duckdb_type(kind: str) -> str:
    kind = kind.upper()
    for prefix, name in (("BOOL", "BOOLEAN"), ("BIGINT", "INTEGER"), ("INTEGER", "INTEGER"), ("HUGEINT", "INTEGER"),
                         ("DOUBLE", "FLOAT"), ("FLOAT", "FLOAT"), ("DECIMAL", "NUMERIC"), ("DATE", "DATE"),
                         ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"), ("TIMESTAMP", "DATETIME")):
        if kind.startswith(prefix):
            return name
    return "STRING"


@contextlib.contextmanager
def bigquery_server(path: str):
    """Yields (endpoint, service); point google-cloud-bigquery at it with BIGQUERY_EMULATOR_HOST."""
    service = FakeBigQuery(path)
    handler = type("Handler", (_Handler,), {"service": service})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", service
    finally:
        server.shutdown()
        server.server_close()
        service.warehouse.close()
