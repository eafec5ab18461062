"""Start-up time and memory of the simulated gateway serving a large institution on loopback.

Starts ``python -m esploro_async.testing serve`` in a child process, times how long it
takes until it answers its first request, and reads the child's resident memory after a
few pages of assets have been served.

    python -m benchmarks.simulator_startup [--assets 200000] [--researchers 50000]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from esploro_async.testing import SIM_API_KEY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(assets: int, researchers: int) -> None:
    port = free_port()
    command = [
        sys.executable, "-m", "esploro_async.testing", "serve", "--port", str(port),
        "--assets", str(assets), "--researchers", str(researchers), "--latency", "0",
        "--rate-limit", "1000",
    ]  # fmt: skip
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    headers = {"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            while True:
                try:
                    client.get("/esploro/v1/assets/test").raise_for_status()
                    break
                except httpx.TransportError:
                    if time.perf_counter() - started > 60:
                        raise
                    time.sleep(0.01)
            ready = time.perf_counter() - started
            idle_rss = rss_mb(server.pid)
            for offset in (0, 100_000, assets - 100):
                client.get(
                    "/esploro/v1/assets",
                    params={"update_date_from": "1900-01-01", "limit": 100, "offset": offset},
                )
            for offset in (0, researchers - 100):
                client.get("/esploro/v1/researchers", params={"limit": 100, "offset": offset})
            served_rss = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"simulated institution: {assets:,} assets, {researchers:,} researchers")
    print(f"ready to answer after   {ready:6.2f} s   (target < 2 s)")
    print(f"RSS when ready          {idle_rss:6.1f} MB")
    print(f"RSS after paging        {served_rss:6.1f} MB  (target < 150 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--assets", type=int, default=200_000)
    parser.add_argument("--researchers", type=int, default=50_000)
    args = parser.parse_args()
    main(args.assets, args.researchers)
