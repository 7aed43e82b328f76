import pytest

from orchestrator.app import create_app
from orchestrator.resources import Resources

pytestmark = pytest.mark.firestore


@pytest.fixture
def client(settings, firestore):
    app = create_app(settings, Resources.from_settings(settings))
    return app.test_client()


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "kwargs, status, message",
    [
        ({"data": "date=2026-03-01"}, 400, "Content-Type: application/json"),
        ({"json": ["2026-03-01"]}, 400, "JSON object"),
        ({"json": {"date": "2026-13-01"}}, 400, "YYYY-MM-DD"),
        ({"json": {"date": "2026-03-01'; DROP TABLE x; --"}}, 400, "YYYY-MM-DD"),
        ({"json": {"date": 20260301}}, 400, "must be a string"),
        ({"json": {"date": "x" * 20000}}, 413, "request body over"),
    ],
)
def test_malformed_requests_get_a_clear_4xx_and_leave_the_ledger_alone(client, settings, firestore, kwargs, status,
                                                                        message):
    response = client.post("/runs", **kwargs)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert list(firestore.collection(settings.runs_collection).stream()) == []


def test_unknown_run_is_404(client):
    assert client.get("/runs/20260301-abcdef12").status_code == 404
    assert client.get("/runs/..%2F..%2Fetc").status_code in (400, 404)
