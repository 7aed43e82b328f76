"""Issue 19's probes of the HTTP API, each answered with a 4xx (never a 500, never a run) and safe headers."""

import io

import pytest
from test_app import DAY, make_client, stored

pytestmark = pytest.mark.firestore
CHUNKED = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}


@pytest.fixture
def client(settings, firestore):
    return make_client(settings)


def nothing_stored(firestore, settings) -> bool:
    return not any(stored(firestore, settings).values())


def chunked_post(client, body: bytes, terminated: bool = True, path: str = "/runs"):
    """As gunicorn hands a chunked request over: no Content-Length, the stream decoded and terminated."""
    environ = {"wsgi.input_terminated": True} if terminated else {}
    return client.post(path, input_stream=io.BytesIO(body), headers=CHUNKED, environ_overrides=environ)


@pytest.mark.parametrize("body, status, message", [
    (b'{"date": "1999-01-01", "force": true}', 400, "between 2000-01-01 and today"),
    (b'{"date": "' + DAY.encode() + b'", "dataset": "x"}', 400, "unknown field(s) ['dataset']"),
    (b'{"date": "' + b"x" * 2_000_000 + b'"}', 413, "request body over"),
    (b"not json", 400, "not valid JSON"),
])
def test_a_chunked_body_goes_through_the_same_bounded_reader_and_validation(client, settings, firestore, body,
                                                                            status, message):
    response = chunked_post(client, body)
    assert response.status_code == status, response.get_json()
    assert message in response.get_json()["error"]
    assert nothing_stored(firestore, settings)


def test_a_chunked_body_a_server_did_not_decode_is_refused_not_ignored(client, settings, firestore):
    response = chunked_post(client, b'{"date": "1999-01-01"}', terminated=False)
    assert response.status_code == 411
    assert nothing_stored(firestore, settings)


@pytest.mark.parametrize("method, path, kwargs, message", [
    ("post", "/runs", {"data": "[" * 6000 + "]" * 6000, "content_type": "application/json"}, "not valid JSON"),
    ("post", "/runs", {"data": b'{"date": "\xff"}', "content_type": "application/json"}, "not valid JSON"),
    ("get", "/runs?limit=%C2%B2", {}, '"limit" must be a whole number'),
    ("get", "/runs?date=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-03-01", {}, "YYYY-MM-DD"),  # full-width digits
    ("get", "/runs/%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96%EF%BC%90%EF%BC%93%EF%BC%90%EF%BC%91-abcdef12", {},
     "malformed run id"),
    ("get", "/runs/%D9%A2%D9%A0%D9%A2%D9%A6%D9%A0%D9%A3%D9%A0%D9%A1-abcdef12", {}, "malformed run id"),  # Arabic
    ("post", "/runs?mode=async", {"json": {"date": DAY}}, "unknown query parameter(s) ['mode']"),
    ("post", "/runs/20260301-abcdef12/retry?wait=false", {}, "unknown query parameter(s) ['wait']"),
    ("post", "/runs", {"json": {"date": DAY, "tags": ["glod"]}}, "unknown tag(s) ['glod']"),
])
def test_probes_that_were_500s_or_ignored_are_400s(client, settings, firestore, method, path, kwargs, message):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert message in response.get_json()["error"]
    assert nothing_stored(firestore, settings)


def test_an_unknown_tag_names_the_known_ones(client):
    error = client.post("/runs", json={"date": DAY, "tags": ["gold", "glod"]}).get_json()["error"]
    assert "['bronze', 'daily', 'gold', 'silver', 'weekly']" in error


@pytest.mark.parametrize("path", ["/healthz", "/runs", "/runs/20260301-abcdef12", "/nowhere", "/dashboard"])
def test_every_answer_forbids_sniffing_and_framing(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
