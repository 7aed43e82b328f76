"""Cloud Run's OIDC behaviour: the token the container receives once IAM has verified it."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt


def token_through_cloud_run_iam(audience: str, email: str) -> str:
    """A Google-style ID token (RS256) with its signature replaced, as Cloud Run IAM hands it on."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    now = int(time.time())
    claims = {"iss": "https://accounts.google.com", "aud": audience, "sub": "1", "email": email,
              "email_verified": True, "iat": now, "exp": now + 3600}
    signed = jwt.encode(crypt.RSASigner.from_string(pem, key_id="google-key"), claims).decode()
    return signed.rsplit(".", 1)[0] + ".SIGNATURE_REMOVED_BY_GOOGLE"
