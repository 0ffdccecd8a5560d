"""A real S3 API for the tier tests: moto's ``moto_server`` (installed from
PyPI into the test virtualenv), started on a free port of 127.0.0.1 and
stopped at the end. (The TCP proxy that cuts the network in front of it is
tier_helpers.Proxy.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from tier_helpers import free_port, stop_process


class MotoServer:
    """``moto_server -H 127.0.0.1 -p PORT`` in a child process."""

    def __init__(self) -> None:
        exe = (
            os.environ.get("STRATALOG_MOTO_SERVER")
            or shutil.which("moto_server", path=str(Path(sys.executable).parent))
            or shutil.which("moto_server")
        )
        if exe is None:
            raise RuntimeError("moto_server is not installed (bindings/python/requirements-dev.txt lists moto[server])")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)

    def new_bucket(self) -> str:
        """A new, empty bucket (an unsigned PUT, which moto allows)."""
        name = f"b-{uuid.uuid4().hex[:16]}"
        req = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        urllib.request.urlopen(req, timeout=10).close()
        return name

    def stop(self) -> None:
        stop_process(self.process)


def aws_test_environment() -> dict[str, str]:
    """Dummy credentials (moto checks none, but requests must be signed) and
    a region, so no credential lookup ever leaves the machine."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def set_aws_test_environment() -> None:
    os.environ.update(aws_test_environment())
