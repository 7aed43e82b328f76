"""Check the caller's Google-signed OIDC ID token: defence in depth behind Cloud Run IAM.

On when WINTERDAYS_OIDC_AUDIENCE is set (the service's URL, the audience Cloud Scheduler
puts in its token). A request then needs `Authorization: Bearer <ID token>` whose audience,
issuer and expiry are right, whose email is verified and, when WINTERDAYS_ALLOWED_INVOKERS
is set, one of those service accounts. Who checks the signature (WINTERDAYS_OIDC_VERIFY):

  signature  we do, against Google's certificates (RS256): a service reachable without IAM
  iam        Cloud Run IAM did: a service that requires run.invoker receives the token with
             its signature replaced by SIGNATURE_REMOVED_BY_GOOGLE (Cloud Run's troubleshooting
             docs), which no certificate verifies. We then check the claims only, and refuse a
             token that still carries a signature: it did not come through IAM.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from google.auth import exceptions, jwt
from google.auth.transport.requests import Request

from orchestrator.errors import OrchestratorError

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
CLOCK_SKEW_S = 10
CERTS_MAX_AGE_S = 3600  # Google rotates its keys about daily and publishes new ones ahead
CERTS_MIN_AGE_S = 60  # tokens naming unknown keys must not make us fetch on every request
SIGNATURE_REMOVED = "SIGNATURE_REMOVED_BY_GOOGLE"
VERIFY_MODES = ("signature", "iam")


class Unauthorized(OrchestratorError):
    """401: no token, or one that does not verify."""


class Forbidden(OrchestratorError):
    """403: a valid token of a caller who is not allowed."""


class TokenVerifier:
    def __init__(self, audience: str, allowed_invokers: tuple[str, ...], certs_url: str, verify: str = "signature"):
        if verify not in VERIFY_MODES:
            raise ValueError(f"verify must be one of {VERIFY_MODES}, got {verify!r}")
        self.verify_signature = verify == "signature"
        self.audience = audience
        self.allowed_invokers = {e.lower() for e in allowed_invokers}
        self.certs_url = certs_url
        self._certs: dict[str, str] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, or Unauthorized/Forbidden naming what is wrong."""
        match = re.fullmatch(r"Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", authorization or "")
        if not match:
            raise Unauthorized("send a Google-signed ID token: Authorization: Bearer <token>")
        token = match.group(1)
        try:
            header = jwt.decode_header(token)
        except (ValueError, exceptions.GoogleAuthError):
            raise Unauthorized("the bearer token is not a JWT") from None
        if header.get("alg") != "RS256":
            raise Unauthorized("the ID token must be signed with RS256")
        claims = self._signed_claims(token, header) if self.verify_signature else self._iam_verified_claims(token)
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthorized(f"the ID token was not issued by Google (iss {str(claims.get('iss'))[:80]!r})")
        if claims.get("email_verified") is not True:
            raise Forbidden("the ID token carries no verified email")
        email = str(claims.get("email", "")).lower()
        if self.allowed_invokers and email not in self.allowed_invokers:
            raise Forbidden(f"{email or 'this caller'} is not an allowed invoker (WINTERDAYS_ALLOWED_INVOKERS)")
        return claims

    def _signed_claims(self, token: str, header: dict[str, Any]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(token, certs=self._certs_for(header.get("kid")), audience=self.audience,
                                                clock_skew_in_seconds=CLOCK_SKEW_S)
        except (ValueError, exceptions.GoogleAuthError) as error:
            raise Unauthorized(f"the ID token does not verify: {error}") from None
        return claims

    def _iam_verified_claims(self, token: str) -> dict[str, Any]:
        """Claims of a token whose signature Cloud Run IAM verified and removed: audience and times checked here."""
        if token.rsplit(".", 1)[1] != SIGNATURE_REMOVED:
            raise Unauthorized("the ID token still carries its signature, so it did not pass Cloud Run IAM; a service "
                               "reachable without IAM must set WINTERDAYS_OIDC_VERIFY=signature")
        try:
            claims: dict[str, Any] = jwt.decode(token, verify=False)
        except (ValueError, exceptions.GoogleAuthError) as error:
            raise Unauthorized(f"the ID token does not verify: {error}") from None
        now = time.time()
        if claims.get("aud") != self.audience:
            raise Unauthorized(f"the ID token does not verify: audience {str(claims.get('aud'))[:200]!r} is not "
                               f"{self.audience!r}")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - CLOCK_SKEW_S:
            raise Unauthorized("the ID token does not verify: it has expired")
        if not isinstance(claims.get("iat"), int | float) or claims["iat"] > now + CLOCK_SKEW_S:
            raise Unauthorized("the ID token does not verify: it was issued in the future")
        return claims

    def _certs_for(self, kid: str | None) -> dict[str, str]:
        """Cached certificates; fetched again when stale or when the token names an unknown key."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if not self._certs or age > CERTS_MAX_AGE_S or (kid not in self._certs and age > CERTS_MIN_AGE_S):
                self._certs = self._fetch()
                self._fetched_at = time.monotonic()
            return self._certs

    def _fetch(self) -> dict[str, str]:
        try:
            response = Request()(self.certs_url, method="GET", timeout=10)
        except exceptions.TransportError as error:
            raise Unauthorized(f"cannot fetch Google's certificates ({error}); try again") from None
        if response.status != 200:
            raise Unauthorized(f"cannot fetch Google's certificates (HTTP {response.status}); try again")
        certs: dict[str, str] = json.loads(response.data.decode())
        return certs
