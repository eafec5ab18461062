"""The loopback HTTP/1.1 server (real sockets on 127.0.0.1, port 0)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    FaultKind,
    SimulatedGateway,
    SyntheticInstitution,
)


async def assert_two_reads_on_one_connection(c: httpx.AsyncClient) -> None:
    """A page of researchers with the quota header, then one researcher (keep-alive)."""
    r = await c.get("/esploro/v1/researchers", params={"limit": 3})
    assert r.status_code == 200
    assert r.json()["total_record_count"] == 10
    assert r.headers["x-exl-api-remaining"] == "999999"
    r = await c.get("/esploro/v1/researchers/R00000001")  # same keep-alive connection
    assert r.json()["primary_id"] == "R00000001"


async def test_loopback_round_trip() -> None:
    gw = SimulatedGateway(
        SyntheticInstitution(seed=4, researchers=10, assets=10),
        faults=[Fault(FaultKind.RESET, method="POST", processed=True, requests={2})],
    )
    headers = {"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"}
    async with gw.serve(host="127.0.0.1", port=0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port != 0
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=5) as c:
            await assert_two_reads_on_one_connection(c)
            first = await c.post("/esploro/v1/assets", json={"records": [{"title": "A"}]})
            assert first.status_code == 200
            with pytest.raises(httpx.TransportError):
                await c.post("/esploro/v1/assets", json={"records": [{"title": "B"}]})
            assert len(gw.institution.assets) == 12  # the reset POST was processed
            r = await c.get("/esploro/v1/assets/test", headers={"Accept": "application/xml"})
            assert r.text.endswith("<test>GET request successful</test>")
            r = await c.get("/esploro/v1/researchers", headers={"Authorization": "apikey x"})
            assert r.status_code == 400
            assert "UNAUTHORIZED" in r.text
    assert [rec.status for rec in gw.log] == [200, 200, 200, None, 200, 400]


async def test_refuses_non_loopback() -> None:
    gw = SimulatedGateway(SyntheticInstitution(researchers=1, assets=1))
    with pytest.raises(ValueError, match="non-loopback"):
        async with gw.serve(host="0.0.0.0", port=0):
            pass


def test_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "esploro_async.testing", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "--rate-limit" in out.stdout
    assert "--latency" in out.stdout
