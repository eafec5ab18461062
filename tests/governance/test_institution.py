"""One institution, several keys and spellings: one governance in the process.

The 25 requests per second and the daily quota belong to the institution. Clients that
name it share one governance whatever their keys; the gateway's URL is compared by what
it is, not how it is spelt; and mixing keys without naming the institution is warned of.
"""

from __future__ import annotations

import logging

import anyio
import pytest

from conftest import API_KEY, ClientFactory, fan_out, make_gateway
from esploro_async import EsploroClient
from esploro_async.errors import ConfigurationError
from esploro_async.governance.redis import RedisGovernance
from esploro_async.governance.registry import gateway_identity
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime

READ_ONLY = "l7xx-READ-ONLY-test-key-0123456789"
READ_WRITE = "l7xx-READ-WRITE-test-key-987654321"
THIRD = "l7xx-a-third-key-000000000000"


@pytest.fixture
def gateway() -> SimulatedGateway:
    """The simulated gateway, knowing the keys of these tests."""
    return make_gateway(api_keys={API_KEY: "rw", READ_ONLY: "ro", READ_WRITE: "rw", THIRD: "rw"})


async def test_two_keys_of_one_institution_share_the_threshold(
    gateway: SimulatedGateway, make_client: ClientFactory
) -> None:
    clients = [
        make_client(api_key=READ_ONLY, institution="01ABC_INST"),
        make_client(api_key=READ_WRITE, institution="01ABC_INST"),
    ]
    assert clients[0].governance is clients[1].governance
    await fan_out(clients, tasks=20, per_task=20)
    log = gateway.client_log()
    assert len(log) == 400
    assert all(r.status == 200 for r in log)
    assert len({r.key_fingerprint for r in log}) == 2
    assert gateway.max_in_window(1.0, accepted_only=False) <= 25  # two governances: ~48


async def test_unnamed_keys_on_one_gateway_warn_once(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "esploro_async.governance")
    url = "http://warn-once.localhost"
    first = make_client(api_key=READ_ONLY, base_url=url)
    assert "institution=" not in caplog.text
    second = make_client(api_key=READ_WRITE, base_url=url)
    make_client(api_key=THIRD, base_url=url)
    assert first.governance is not second.governance  # unnamed: one governance per key
    warnings = [r for r in caplog.records if "institution=" in r.getMessage()]
    assert len(warnings) == 1
    assert READ_ONLY not in caplog.text
    assert READ_WRITE not in caplog.text


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("http://localhost:8080", "http://127.0.0.1:8080/"),
        ("http://localhost:8080/", "http://[::1]:8080"),
        ("http://LOCALHOST:8080", "http://127.0.0.2:8080"),
        ("https://api-na.hosted.exlibrisgroup.com", "https://API-NA.hosted.exlibrisgroup.com:443/"),
    ],
)
async def test_spellings_of_one_gateway_share(
    make_client: ClientFactory, one: str, other: str
) -> None:
    assert make_client(base_url=one).governance is make_client(base_url=other).governance


async def test_different_gateways_do_not_share(make_client: ClientFactory) -> None:
    assert gateway_identity("http://localhost:8080") != gateway_identity("http://localhost:8081")
    first = make_client(base_url="http://localhost:8080")
    assert first.governance is not make_client(base_url="http://localhost:8081").governance
    eu = make_client(base_url="https://api-eu.hosted.exlibrisgroup.com")
    assert first.governance is not eu.governance


async def test_institution_is_checked(make_client: ClientFactory) -> None:
    with pytest.raises(ConfigurationError, match="institution code"):
        make_client(institution="01ABC {INST}")
    redis_governance = RedisGovernance("redis://127.0.0.1:1/0", institution="01ABC_INST")
    with pytest.raises(ConfigurationError, match="01OTHER_INST"):
        make_client(institution="01OTHER_INST", governance=redis_governance)
    client = make_client(institution="01ABC_INST", governance=redis_governance)
    assert client.institution == "01ABC_INST"
    await redis_governance.aclose()


@pytest.mark.looptime(False)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sharing_is_per_anyio_run(backend: str) -> None:
    """One governance within a run (asyncio or trio), separate ones in separate runs."""
    gateway = make_gateway(api_keys={READ_ONLY: "ro", READ_WRITE: "rw"})

    async def one_run() -> object:
        clients = [
            EsploroClient(
                api_key=key,
                base_url="http://per-run.localhost",
                institution="01RUN_INST",
                transport=gateway.transport(),
            )
            for key in (READ_ONLY, READ_WRITE)
        ]
        assert clients[0].governance is clients[1].governance
        for client in clients:
            await client.request("GET", "researchers/test")
        governance = clients[0].governance
        async with anyio.create_task_group() as tg:
            for client in clients:
                tg.start_soon(client.aclose)
        return governance

    first = anyio.run(one_run, backend=backend)
    second = anyio.run(one_run, backend=backend)
    assert first is not second
    assert [r.status for r in gateway.client_log()] == [200] * 4
