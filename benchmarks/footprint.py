"""Peak RSS of a fresh process that imports a client and sends one request.

Each measurement is a fresh interpreter (``VmHWM`` from ``/proc/self/status``, imports
included) that sends one GET either through an in-process ``httpx.MockTransport``
(``mock``: no sockets) or to a small JSON server on loopback run by this process
(``loopback``: httpcore's connection pool and anyio's event-loop backend load, as in any
real use). Two clients are compared:

* ``esploro-async``: ``EsploroClient(...).request("GET", "researchers")``;
* ``httpx+aiolimiter``: a raw ``httpx.AsyncClient`` GET behind an ``AsyncLimiter(25, 1)``,
  what a hand-written client would import.

    python -m benchmarks.footprint [--runs 5]

Nothing is asserted; the medians over ``--runs`` processes are printed.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BODY = json.dumps({"researcher": [{"primary_id": "r1"}], "total_record_count": 1}).encode()

_PRELUDE = """
import asyncio
import httpx

def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"a": 1}, headers={"X-Exl-Api-Remaining": "1000"})

def transport():
    return httpx.MockTransport(handler) if URL == "mock" else None

def peak_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1])
"""

CLIENTS = {
    "esploro-async": """
from esploro_async import EsploroClient

async def main():
    base = "http://bench.localhost" if URL == "mock" else URL
    async with EsploroClient("key", base_url=base, transport=transport()) as client:
        (await client.request("GET", "researchers")).json()
""",
    "httpx+aiolimiter": """
from aiolimiter import AsyncLimiter

async def main():
    base = "http://bench.localhost" if URL == "mock" else URL
    limiter = AsyncLimiter(25, 1)
    async with httpx.AsyncClient(transport=transport()) as client, limiter:
        response = await client.get(
            base + "/esploro/v1/researchers", headers={"Authorization": "apikey key"}
        )
        response.raise_for_status()
        response.json()
""",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the same small JSON body."""

    def do_GET(self) -> None:
        """Send `BODY`."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("X-Exl-Api-Remaining", "1000")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def loopback_server() -> Iterator[str]:
    """A JSON server on 127.0.0.1 in a thread of this process; its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def peak_kb(client: str, url: str) -> int:
    """``VmHWM`` (kB) of a fresh interpreter that runs ``client`` once against ``url``."""
    code = (
        f"URL = {url!r}\n"
        + _PRELUDE
        + CLIENTS[client]
        + "\nasyncio.run(main())\nprint(peak_kb())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1])


def main(runs: int) -> None:
    """Measure every client both ways and print the medians."""
    print(f"{'':20}{'mock MB':>10}{'loopback MB':>14}")
    with loopback_server() as url:
        for client in CLIENTS:
            mock = statistics.median(peak_kb(client, "mock") for _ in range(runs))
            real = statistics.median(peak_kb(client, url) for _ in range(runs))
            print(f"{client:20}{mock / 1024:10.1f}{real / 1024:14.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
