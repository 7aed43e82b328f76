"""OIDC ID-token verification, with tokens signed by a locally generated RSA key.

The verifier fetches its certificates over HTTP from a local server (WINTERDAYS_OIDC_CERTS_URL),
in Google's {key id: x509 PEM} format, so the real fetch-and-verify path runs with no network.
"""

import datetime as dt
import http.server
import json
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from orchestrator.app import create_app
from orchestrator.resources import Resources

pytestmark = pytest.mark.firestore
AUDIENCE = "https://winter-days-orchestrator-abc123-ew.a.run.app"
SCHEDULER = "scheduler@winter-days.iam.gserviceaccount.com"


def rsa_key_and_cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-google-signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def google_keys():
    """Two signing keys; the certs endpoint publishes only the first."""
    (key, cert), (rogue_key, _) = rsa_key_and_cert(), rsa_key_and_cert()
    body = json.dumps({"key-1": cert}).encode()

    class Certs(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"key": key, "rogue": rogue_key, "url": f"http://127.0.0.1:{server.server_port}/oauth2/v1/certs"}
    server.shutdown()


def token(google_keys, key="key", kid="key-1", **claims):
    now = int(time.time())
    payload = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "sub": "1234", "email": SCHEDULER,
               "email_verified": True, "iat": now, "exp": now + 3600, **claims}
    signer = crypt.RSASigner.from_string(google_keys[key], key_id=kid)
    return jwt.encode(signer, payload).decode()


@pytest.fixture
def client(settings, firestore, google_keys):
    settings = settings.with_overrides(service={"oidc_audience": AUDIENCE, "allowed_invokers": (SCHEDULER,),
                                                "oidc_certs_url": google_keys["url"]})
    return create_app(settings, Resources.from_settings(settings)).test_client()


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


def test_a_valid_token_of_an_allowed_invoker_passes(client, google_keys):
    response = client.get("/runs", headers=bearer(token(google_keys)))
    assert response.status_code == 200 and response.get_json() == {"runs": []}


def test_the_dashboard_needs_the_same_token_as_the_api(client, google_keys):
    assert client.get("/dashboard").status_code == 401
    assert client.get("/dashboard", headers=bearer(token(google_keys, email="intruder@example.com"))).status_code == 403
    assert client.get("/dashboard", headers=bearer(token(google_keys))).status_code == 200


def test_probes_need_no_token(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    "claims, status, message",
    [
        ({"aud": "https://someone-else.run.app"}, 401, "does not verify"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 3720}, 401, "does not verify"),
        ({"iss": "https://evil.example.com"}, 401, "not issued by Google"),
        ({"email_verified": False}, 403, "no verified email"),
        ({"email": "intruder@other-project.iam.gserviceaccount.com"}, 403, "not an allowed invoker"),
    ],
)
def test_bad_claims_are_refused_and_the_ledger_is_unchanged(client, settings, firestore, google_keys, claims,
                                                            status, message):
    response = client.post("/runs", json={"date": "2026-03-01"}, headers=bearer(token(google_keys, **claims)))
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert list(firestore.collection(settings.firestore.runs_collection).stream()) == []


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "Authorization: Bearer"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization: Bearer"),
        ({"Authorization": "Bearer not-a-jwt"}, "Authorization: Bearer"),
        ({"Authorization": "Bearer a.b.c"}, "not a JWT"),
    ],
)
def test_missing_or_malformed_tokens_get_401(client, headers, message):
    response = client.post("/runs", json={"date": "2026-03-01"}, headers=headers)
    assert response.status_code == 401 and message in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_signed_by_another_key_is_refused(client, google_keys):
    forged = token(google_keys, key="rogue")  # claims the published key id, signed by another key
    response = client.get("/runs", headers=bearer(forged))
    assert response.status_code == 401 and "does not verify" in response.get_json()["error"]
    unknown_kid = token(google_keys, key="rogue", kid="key-2")
    assert client.get("/runs", headers=bearer(unknown_kid)).status_code == 401


def test_an_unsigned_or_hmac_token_is_refused(client, google_keys):
    import base64

    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "email": SCHEDULER, "email_verified": True,
              "exp": int(time.time()) + 60}
    for alg in ("none", "HS256"):
        forged = f"{part({'alg': alg, 'kid': 'key-1'})}.{part(claims)}.c2ln"
        response = client.get("/runs", headers=bearer(forged))
        assert response.status_code == 401 and "RS256" in response.get_json()["error"]


# -- behind Cloud Run IAM (WINTERDAYS_OIDC_VERIFY=iam) -----------------------------------------
def through_cloud_run_iam(signed: str) -> str:
    """The token as the container receives it once Cloud Run IAM has verified it: signature removed."""
    return signed.rsplit(".", 1)[0] + ".SIGNATURE_REMOVED_BY_GOOGLE"


@pytest.fixture
def iam_client(settings, firestore):
    settings = settings.with_overrides(service={"oidc_audience": AUDIENCE, "allowed_invokers": (SCHEDULER,),
                                                "oidc_verify": "iam",
                                                "oidc_certs_url": "http://127.0.0.1:9/unreachable"})  # never fetched
    return create_app(settings, Resources.from_settings(settings)).test_client()


def test_the_scheduler_token_as_cloud_run_delivers_it_is_refused_by_signature_checks(client, google_keys):
    delivered = through_cloud_run_iam(token(google_keys))
    response = client.get("/runs", headers=bearer(delivered))
    assert response.status_code == 401 and "does not verify" in response.get_json()["error"]


def test_behind_iam_the_delivered_token_passes_on_its_claims(iam_client, google_keys):
    response = iam_client.get("/runs", headers=bearer(through_cloud_run_iam(token(google_keys))))
    assert response.status_code == 200 and response.get_json() == {"runs": []}


@pytest.mark.parametrize(
    "claims, status, message",
    [
        ({"aud": "https://someone-else.run.app"}, 401, "audience"),
        ({"exp": -120, "iat": -3720}, 401, "expired"),  # seconds from now, at the call (not at collection)
        ({"iat": 600}, 401, "in the future"),
        ({"iss": "https://evil.example.com"}, 401, "not issued by Google"),
        ({"email_verified": False}, 403, "no verified email"),
        ({"email": "intruder@other-project.iam.gserviceaccount.com"}, 403, "not an allowed invoker"),
    ],
)
def test_behind_iam_bad_claims_are_still_refused(iam_client, settings, firestore, google_keys, claims, status,
                                                 message):
    claims = {k: int(time.time()) + v if k in ("exp", "iat") else v for k, v in claims.items()}
    response = iam_client.post("/runs", json={"date": "2026-03-01"},
                               headers=bearer(through_cloud_run_iam(token(google_keys, **claims))))
    assert response.status_code == status and message in response.get_json()["error"]
    assert list(firestore.collection(settings.firestore.runs_collection).stream()) == []


def test_behind_iam_a_token_that_still_has_its_signature_did_not_pass_iam(iam_client, google_keys):
    response = iam_client.get("/runs", headers=bearer(token(google_keys)))
    assert response.status_code == 401 and "WINTERDAYS_OIDC_VERIFY=signature" in response.get_json()["error"]
