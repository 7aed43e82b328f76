"""The orchestrator service: a Flask app factory, served by gunicorn on Cloud Run.

Cloud Scheduler calls `POST /runs` once a day; engineers read `GET /runs` and `GET /runs/<id>`.
  POST /runs              claim the date, run (or resume) it; see the README for the answers
  GET  /runs              recent runs (?date=, ?state=, ?limit=)
  GET  /runs/<id>         one run: each step's state, timings, outputs (row counts, quality, job names)
  POST /runs/<id>/retry   resume a failed or interrupted run from its first unfinished step,
                          or {"from": "export"} from a named step on
  POST /events/gcs        a bronze object landed (Cloud Storage notification, Pub/Sub push): run its date once complete
  POST /events/clickstream  one clickstream event (Pub/Sub push): landed in bronze exactly once
  GET  /healthz           the process is up
  GET  /readyz            Firestore, the transform runner and the bronze store answer
  GET  /dashboard         local mode: the gold layer, churn risk and pipeline health (orchestrator/dashboard/)
  GET  /docs              local mode: the Dataform lineage, each table's description, columns, assertions,
                          row count and last run (orchestrator/docs/)
A run executes in a background thread; in sync mode the request waits for it up to
WINTERDAYS_REQUEST_DEADLINE_S, then answers 202 while the run goes on.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, LengthRequired, RequestEntityTooLarge, UnsupportedMediaType

from generators.errors import GeneratorError
from lakehouse import logs
from lakehouse.errors import LakehouseError
from lakehouse.messaging import BadEnvelope, from_push
from lakehouse.settings import Settings
from lakehouse.stream.landing import ClickLanding
from lakehouse.stream.notifications import finalized_object
from lakehouse.warehouse import WarehouseBusy
from mlops.errors import MlopsError
from orchestrator import api_input, engine, events
from orchestrator.auth import Forbidden, TokenVerifier, Unauthorized
from orchestrator.dashboard import dashboard
from orchestrator.docs import docs
from orchestrator.errors import OrchestratorError
from orchestrator.health import health
from orchestrator.ledger import Contended, LedgerUnavailable, public, within
from orchestrator.records import UNFINISHED, RunRecord, RunState
from orchestrator.resources import Resources

log = logging.getLogger(__name__)
runs = Blueprint("runs", __name__)
MAX_BODY = 16 * 1024
READERS_WAIT_S = 10
# A request waits this long for the ledger, then answers 503 (Retry-After): Firestore's own retries
# could hold every request thread for minutes, /healthz's included.
LEDGER_DEADLINE_S = 5
TRY_AGAIN = {"Retry-After": "5"}
# The one place an error a request raises becomes its answer: {"error": message} with this status and
# these headers. Flask picks the nearest class in the error's MRO; the packages' roots answer 500 with
# the message (the traceback goes to the log, never to the caller).
HTTP_STATUS: dict[type[Exception], tuple[int, dict[str, str]]] = {
    api_input.BadRequest: (400, {}),
    BadEnvelope: (400, {}),
    Unauthorized: (401, {"WWW-Authenticate": "Bearer"}),
    Forbidden: (403, {}),
    engine.RunNotFound: (404, {}),
    engine.NotRetryable: (409, {}),
    engine.RunInProgress: (409, {}),  # with the run's id and a Location to poll
    Contended: (503, TRY_AGAIN),
    LedgerUnavailable: (503, TRY_AGAIN),
    WarehouseBusy: (503, TRY_AGAIN),
    OrchestratorError: (500, {}),
    LakehouseError: (500, {}),
    MlopsError: (500, {}),
    GeneratorError: (500, {}),
}


class Service:
    """What the app holds: settings, ports, the token verifier, and the runs executing in this process."""

    def __init__(self, settings: Settings, resources: Resources):
        self.settings = settings
        self.resources = resources
        auth = settings.service
        self.verifier = (TokenVerifier(auth.oidc_audience, auth.allowed_invokers, auth.oidc_certs_url,
                                       auth.oidc_verify) if auth.oidc_audience else None)
        self.known_tags = api_input.known_tags(settings.transform.dataform_dir)
        self.active: dict[str, concurrent.futures.Future[RunRecord]] = {}
        self._lock = threading.Lock()
        self._readers = 0  # dashboard requests reading the warehouse now
        self._idle = threading.Condition(self._lock)
        self._landing: ClickLanding | None = None  # the clickstream subscriber's (its dedupe record), on first push

    @contextlib.contextmanager
    def reading_warehouse(self) -> Iterator[None]:
        """Read the local warehouse between this process's runs: DuckDB lets one process write, and a
        run opens it read-write (its churn components from subprocesses), so readers keep out of its way."""
        with self._lock:
            if self.active:
                raise WarehouseBusy(f"run {', '.join(sorted(self.active))} is writing the warehouse")
            self._readers += 1
        try:
            yield
        finally:
            with self._lock:
                self._readers -= 1
                self._idle.notify_all()

    def click_landing(self) -> ClickLanding:
        if self._landing is None:
            from lakehouse.stream import DEAD_LETTER_TOPIC

            bus = self.resources.messages
            self._landing = ClickLanding(self.resources.bronze, self.resources.quarantine,
                                         dead_letter=lambda items: bus.publish(DEAD_LETTER_TOPIC, items),
                                         on_closed=self.resources.notify_landing)
        return self._landing

    def start_late(self, claimed: engine.Claim) -> None:
        """A claim that ended after its request answered 503: run what it took the lease for."""
        if claimed.lease is not None:
            log.info("late claim runs", extra={"event": "run_accepted", "run_id": claimed.run_id})
            self.start(claimed)

    def start(self, claimed: engine.Claim) -> concurrent.futures.Future[RunRecord]:
        """Run a claimed run in a thread; the future holds the final run record."""
        future: concurrent.futures.Future[RunRecord] = concurrent.futures.Future()
        with self._lock:
            # readers finish in well under a second; past the wait the run goes on (and a step that
            # cannot open the warehouse fails, to be resumed)
            self._idle.wait_for(lambda: not self._readers, timeout=READERS_WAIT_S)
            self.active[claimed.run_id] = future

        def work() -> None:
            outcome: RunRecord | BaseException
            try:
                outcome = engine.run_claimed(self.resources, claimed)
            except engine.RunFailed as failure:
                outcome = failure.run
            except BaseException as error:  # e.g. LeaseLost; logged, and the waiting request answers 500
                log.exception("run stopped", extra={"event": "run_stopped", "error": str(error)[:2000]})
                outcome = error
            with self._lock:  # no longer active by the time a waiter hears that it ended
                self.active.pop(claimed.run_id, None)
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        # daemon: on shutdown the lease expires and the next trigger resumes the run
        threading.Thread(target=contextvars.copy_context().run, args=(work,), name=f"run-{claimed.run_id}",
                         daemon=True).start()
        return future


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(settings.general.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["winterdays"] = Service(settings, resources or Resources.from_settings(settings))
    app.register_blueprint(runs)
    app.register_blueprint(health)
    app.register_blueprint(dashboard)
    app.register_blueprint(docs)
    app.before_request(_bind_trace)
    app.teardown_request(_unbind_trace)
    app.after_request(_secure_headers)
    for kind, (status, headers) in HTTP_STATUS.items():
        app.register_error_handler(kind, functools.partial(_error_answer, status=status, headers=headers))
    app.register_error_handler(413, lambda e: _error(413, f"request body over {MAX_BODY} bytes"))
    app.register_error_handler(HTTPException, lambda e: _error(e.code, e.description))
    return app


def _secure_headers(response: Response) -> Response:
    """Every answer: no MIME sniffing, never framed (the dashboard sets its own stricter policy)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    return response


def _service() -> Service:
    service: Service = current_app.extensions["winterdays"]
    return service


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def _error_answer(error: Exception, status: int, headers: dict[str, str]) -> ResponseReturnValue:
    if status >= 500:
        log.error("request failed", exc_info=error, extra={"event": "request_failed", "error": str(error)[:2000]})
    body = {"error": str(error)}
    if isinstance(error, engine.RunInProgress):
        body |= {"run_id": error.run_id, "logical_date": error.logical_date}
        headers = {**headers, "Location": f"/runs/{error.run_id}"}
    return jsonify(body), status, headers


def _bind_trace() -> None:
    """Every line logged for this request (and the run it starts) carries the request's trace."""
    g.log_token = logs.bind(**logs.cloud_trace(request.headers.get("X-Cloud-Trace-Context"),
                                               _service().settings.gcp.project))


def _unbind_trace(_error: BaseException | None = None) -> None:
    if "log_token" in g:
        logs.unbind(g.log_token)


# -- the runs API (authenticated when WINTERDAYS_OIDC_AUDIENCE is set) ----------------------------
@runs.before_request
def _authenticate() -> None:
    verifier = _service().verifier
    if verifier is not None:
        claims = verifier.verify(request.headers.get("Authorization"))
        log.info("caller verified", extra={"invoker": claims.get("email")})


@runs.post("/runs")
def create_run() -> ResponseReturnValue:
    service = _service()
    api_input.no_query(request.args.to_dict())
    wanted = api_input.run_request(_json_body(), service.settings.today(), service.known_tags)
    claimed = within(LEDGER_DEADLINE_S, lambda: engine.claim(service.resources, wanted.options, trigger="http",
                                                             force=wanted.force), on_late=service.start_late)
    if claimed.lease is None:
        log.info("run exists", extra={"event": "run_existing", "run_id": claimed.run_id})
        return _answer(claimed.run, "existing")
    return _dispatch(claimed, wanted.wait)


@runs.post("/runs/<run_id>/retry")
def retry_run(run_id: str) -> ResponseReturnValue:
    run_id = api_input.run_id(run_id)
    api_input.no_query(request.args.to_dict())
    wait, from_step = api_input.retry_request(_json_body())
    service = _service()
    claimed = within(LEDGER_DEADLINE_S, lambda: engine.claim_retry(service.resources, run_id, "http-retry",
                                                                   from_step=from_step),
                     on_late=service.start_late)
    return _dispatch(claimed, wait)


@runs.post("/events/gcs")
def object_landed() -> ResponseReturnValue:
    """Any 2xx acknowledges the push; only a failure to decide makes Pub/Sub deliver it again."""
    name = finalized_object(from_push(_json_body()))
    landing = events.on_object_finalized(_service().resources, name) if name else events.Landing(None)
    body = {"object": name, "logical_date": landing.logical_date and landing.logical_date.isoformat(),
            "waiting_for": landing.missing}
    if landing.in_progress:
        return jsonify({**body, "run_id": landing.in_progress, "outcome": "in_progress"}), 200
    if landing.claim is None:
        return jsonify({**body, "outcome": "no_run"}), 200
    if landing.claim.lease is None:
        return jsonify({**body, "run_id": landing.claim.run_id, "outcome": "existing"}), 200
    return _dispatch(landing.claim, wait=False)


@runs.post("/events/clickstream")
def click_pushed() -> ResponseReturnValue:
    """The push subscription's subscriber: one message, landed (or dead-lettered) before the 2xx acks it."""
    landed = _service().click_landing().land([from_push(_json_body())])
    return jsonify(events=landed.events, duplicates=landed.duplicates, dead_letters=landed.dead_letters), 200


@runs.get("/runs")
def list_runs() -> ResponseReturnValue:
    day, state, limit = api_input.list_query(request.args.to_dict(), _service().settings.today())
    ledger = _service().resources.ledger
    found = within(LEDGER_DEADLINE_S, lambda: ledger.recent(limit, logical_date=day, state=state))
    return jsonify(runs=[_summary(r) for r in found])


@runs.get("/runs/<run_id>")
def get_run(run_id: str) -> ResponseReturnValue:
    run_id = api_input.run_id(run_id)
    run = within(LEDGER_DEADLINE_S, lambda: _read_run(_service().resources, run_id))
    if run is None:
        return _error(404, f"no run {run_id}")
    return jsonify(public(run))


def _read_run(resources: Resources, run_id: str) -> RunRecord | None:
    run = resources.ledger.get(run_id)
    if run is not None and run["state"] in UNFINISHED:  # still held, or did its process die?
        live, _ = resources.leases.read(None, resources.lease_key(run["logical_date"]))
        run["interrupted"] = not (live and live["run_id"] == run_id)
    return run


def _json_body() -> object:
    """The request's JSON, read through one bounded reader whatever its framing (Content-Length or
    chunked: MAX_CONTENT_LENGTH applies to both, 413 past it); {} for an empty body (POST /runs alone
    means: yesterday, all steps)."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if chunked and not request.environ.get("wsgi.input_terminated"):
        # a server that does not decode chunked bodies would hand us an empty stream: refuse, never ignore
        raise LengthRequired("send the body with a Content-Length")
    raw = request.get_data(cache=False)  # a Content-Length over MAX_BODY is a 413 before any read
    if request.content_length is None and len(raw) >= MAX_BODY:  # the stream stopped at the limit
        raise RequestEntityTooLarge()
    if not raw:
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("send a JSON body with Content-Type: application/json")
    return api_input.json_document(raw)


def _dispatch(claimed: engine.Claim, wait: bool | None) -> ResponseReturnValue:
    service = _service()
    future = service.start(claimed)
    if wait is None:
        wait = service.settings.service.run_mode == "sync"
    if not wait:
        return _accepted(claimed)
    try:
        run = future.result(timeout=service.settings.service.request_deadline_s)
    except concurrent.futures.TimeoutError:
        log.info("run continues past the request deadline", extra={"event": "run_accepted", "run_id": claimed.run_id})
        return _accepted(claimed)
    except Exception as error:
        return _error(500, f"run {claimed.run_id} stopped: {error}")
    return _answer(run, claimed.outcome)


def _answer(run: RunRecord, outcome: str) -> ResponseReturnValue:
    status = 200 if run["state"] == RunState.SUCCEEDED else 500
    return jsonify({**public(run), "outcome": outcome}), status


def _accepted(claimed: engine.Claim) -> ResponseReturnValue:
    body = {"run_id": claimed.run_id, "logical_date": claimed.run["logical_date"], "state": RunState.RUNNING,
            "outcome": claimed.outcome, "poll": f"/runs/{claimed.run_id}"}
    return jsonify(body), 202, {"Location": f"/runs/{claimed.run_id}"}


def _summary(run: RunRecord) -> dict[str, Any]:
    keep = ("run_id", "logical_date", "state", "trigger", "attempt", "created_at", "ended_at", "failed_step", "error")
    record: Mapping[str, object] = run
    summary = {k: record[k] for k in keep if k in record}
    summary["steps"] = {name: step["state"] for name, step in run.get("steps", {}).items()}
    return public(summary)
