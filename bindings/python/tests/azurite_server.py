"""A real Azure Blob Storage API for the tier tests: Azurite's blob service
(``azurite-blob``, the emulator Microsoft publishes on the npm registry,
pinned in tests/azurite/package-lock.json and installed by the Makefile
into build/azurite), started on a free port of 127.0.0.1 with a fresh
storage directory and stopped at the end.

The tests reach it as a client would: requests signed with Shared Key
(the emulator's well-known account ``devstoreaccount1``), written here
from the REST API's specification with the standard library alone, so
nothing of stratalog or object_store is used to set up or to tamper."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from tier_helpers import free_port, stop_process

REPO = Path(__file__).resolve().parents[3]

# Azurite's (and the old Storage Emulator's) documented development
# account: public, and accepted by nothing but an emulator.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
API_VERSION = "2021-12-02"


def azurite_command() -> list[str]:
    """``node <azurite-blob>``: STRATALOG_AZURITE names the script (make
    test and make test-dist set it), else the Makefile's install under
    build/azurite; node is STRATALOG_NODE or the one on PATH."""
    script = os.environ.get("STRATALOG_AZURITE") or str(REPO / "build" / "azurite" / "node_modules" / ".bin" / "azurite-blob")
    if not Path(script).is_file():
        raise RuntimeError(
            f"azurite-blob is not installed at {script} "
            "(`make test-python` installs tests/azurite/package-lock.json into build/azurite; or set STRATALOG_AZURITE)"
        )
    node = os.environ.get("STRATALOG_NODE") or shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH (set STRATALOG_NODE): Azurite runs on Node.js")
    return [node, script]


class AzuriteServer:
    """``azurite-blob --blobHost 127.0.0.1 --blobPort PORT`` in a child
    process, its data in a temporary directory removed by ``stop``."""

    def __init__(self) -> None:
        command = azurite_command()
        self.location = tempfile.mkdtemp(prefix="stratalog-azurite-")
        self.port = free_port()
        # The account's URL: Azurite serves accounts path-style.
        self.endpoint = f"http://127.0.0.1:{self.port}/{ACCOUNT}"
        self.process = subprocess.Popen(
            [
                *command,
                "--blobHost", "127.0.0.1",
                "--blobPort", str(self.port),
                "--location", self.location,
                "--silent",
                # object_store speaks a newer REST version than this
                # Azurite knows; the requests it makes are old ones.
                "--skipApiVersionCheck",
                "--disableProductStyleUrl",
                # Azurite reports usage to Microsoft unless told not to.
                "--disableTelemetry",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                # Any answer (an unsigned request gets 403) means it serves.
                self.request("GET", "", query={"comp": "list"})
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("azurite-blob did not start") from None
                time.sleep(0.1)

    def options(self) -> dict[str, str]:
        """The tier options that reach this server: its account, the
        account's key, its URL, and plain HTTP allowed."""
        return {
            "account_name": ACCOUNT,
            "access_key": ACCOUNT_KEY,
            "endpoint": self.endpoint,
            "allow_http": "true",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """A Shared Key signed request to ``<endpoint>/<path>``; returns the
        status, the headers (lower-case names) and the body, error
        statuses included."""
        query = query or {}
        headers = {
            "x-ms-date": email.utils.formatdate(usegmt=True),
            "x-ms-version": API_VERSION,
            **(headers or {}),
        }
        if method in ("PUT", "POST"):
            # Signed as sent: urllib would add a form Content-Type.
            headers.setdefault("Content-Type", "application/octet-stream")
        url_path = f"/{ACCOUNT}/{urllib.parse.quote(path)}" if path else f"/{ACCOUNT}"
        headers["Authorization"] = f"SharedKey {ACCOUNT}:{sign(method, url_path, query, headers, len(body))}"
        url = f"http://127.0.0.1:{self.port}{url_path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def new_container(self) -> str:
        """A new, empty container."""
        name = f"c-{uuid.uuid4().hex[:16]}"
        status, _, body = self.request("PUT", name, query={"restype": "container"})
        if status != 201:
            raise RuntimeError(f"creating container {name}: HTTP {status} {body[:300]!r}")
        return name

    def list_blobs(self, container: str) -> list[str]:
        """Every blob name in ``container`` (one page: the tests make few)."""
        status, _, body = self.request("GET", container, query={"restype": "container", "comp": "list"})
        if status != 200:
            raise RuntimeError(f"listing {container}: HTTP {status} {body[:300]!r}")
        return [e.text or "" for e in ET.fromstring(body).iter("Name")]

    def get_blob(self, container: str, name: str) -> bytes:
        status, _, body = self.request("GET", f"{container}/{name}")
        if status != 200:
            raise RuntimeError(f"reading {container}/{name}: HTTP {status} {body[:300]!r}")
        return body

    def put_blob(self, container: str, name: str, data: bytes, headers: dict[str, str] | None = None) -> int:
        """An unconditional Put Blob (or a conditional one with
        ``headers``); returns the status."""
        status, _, _ = self.request(
            "PUT", f"{container}/{name}", body=data, headers={"x-ms-blob-type": "BlockBlob", **(headers or {})}
        )
        return status

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.location, ignore_errors=True)


def sign(method: str, url_path: str, query: dict[str, str], headers: dict[str, str], length: int) -> str:
    """The Shared Key signature of a request (Authorize with Shared Key,
    version 2009-09-19 and later)."""
    h = {k.lower(): v for k, v in headers.items()}
    standard = [
        "content-encoding",
        "content-language",
        "content-length",
        "content-md5",
        "content-type",
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ]
    values = [str(length) if name == "content-length" and length else h.get(name, "") for name in standard]
    canonical_headers = "".join(f"{k}:{h[k].strip()}\n" for k in sorted(h) if k.startswith("x-ms-"))
    resource = f"/{ACCOUNT}{url_path}" + "".join(f"\n{k.lower()}:{query[k]}" for k in sorted(query, key=str.lower))
    to_sign = "\n".join([method, *values]) + "\n" + canonical_headers + resource
    digest = hmac.new(base64.b64decode(ACCOUNT_KEY), to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
