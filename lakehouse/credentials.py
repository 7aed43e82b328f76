"""Application Default Credentials, found up front for the operator's commands.

`winterdays dataform push` and `winterdays mlops compile` run on an operator's machine and call
Google APIs with Application Default Credentials. Without them google-auth probes the Compute
Engine metadata server with retries and the first API call ends in a long traceback; here the
probe gets a one-second transport and the absence is one line saying what to run.
"""

from __future__ import annotations

from typing import Any

from google.auth.transport import Request, Response

from lakehouse.errors import LakehouseError

METADATA_TIMEOUT_S = 1.0
HOW_TO = ("no Google Cloud credentials found (Application Default Credentials): run "
          "`gcloud auth application-default login`, then "
          "`gcloud auth application-default set-quota-project PROJECT` (the Dataform and Vertex AI APIs bill "
          "a user's calls to a quota project); on Google Cloud, the runtime's service account is used")


class MissingCredentials(LakehouseError, RuntimeError):
    """No Application Default Credentials; the message says what to run."""


def require_application_default_credentials() -> None:
    import google.auth
    from google.auth import exceptions

    try:
        google.auth.default(request=_QuickRequest())
    except exceptions.DefaultCredentialsError:
        raise MissingCredentials(HOW_TO) from None


class _QuickRequest(Request):
    """google-auth's HTTP transport with a short timeout, failing at once after one unreachable call
    (the metadata probe retries three times with backoff)."""

    def __init__(self) -> None:
        from google.auth.transport import requests

        self._request = requests.Request()
        self._unreachable = False

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: Any = None,
                 **kwargs: Any) -> Response:
        from google.auth import exceptions

        if self._unreachable:
            raise exceptions.TransportError(f"{url} was unreachable a moment ago")
        try:
            response: Response = self._request(url, method=method, body=body, headers=headers,
                                               timeout=METADATA_TIMEOUT_S, **kwargs)
        except exceptions.TransportError:
            self._unreachable = True
            raise
        return response
