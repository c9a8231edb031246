"""moto's AWS emulator in server mode, in this process, on a free local port.

Used by `iamauth demo` and by the tests, so both reach "AWS" over real HTTP.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

REGION = "us-east-1"
# Credentials that cannot reach real AWS, set only while the emulator runs.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@contextmanager
def embedded_aws() -> Iterator[str]:
    """Yield the endpoint URL of a fresh moto server; stop it and restore the environment after."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:  # depends on how iamauth was installed
        raise SystemExit("The AWS emulator needs moto: pip install 'iamauth[demo]'") from error
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = {k: os.environ.get(k) for k in FAKE_AWS_ENV}
    os.environ.update(FAKE_AWS_ENV)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def reset(endpoint: str) -> None:
    """Empty every service of the emulator (its state is shared by the whole process)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - the local emulator
