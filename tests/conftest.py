"""Shared fixtures: the simulated gateway and clients wired to it in process."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

from esploro_async import EsploroClient
from esploro_async.testing import Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.redis_server import RedisServer, RedisServerMissing

API_KEY = "l7xx-SECRET-test-key-0123456789"
OTHER_KEYS = (
    "a-different-institution",
    "another-key-for-a-fresh-client",
    "second-key-fresh-governance",
)
"""Keys of other institutions (each gets its own governance); the gateways accept them."""
BASE_URL = "http://esploro.localhost"

ClientFactory = Callable[..., EsploroClient]


async def fan_out(
    clients: EsploroClient | Sequence[EsploroClient],
    tasks: int,
    per_task: int,
    method: str = "GET",
    *,
    path: str = "researchers/test",
    **options: Any,
) -> None:
    """``tasks`` tasks, each sending ``per_task`` requests to ``path`` one after another.

    Task ``i`` sends through ``clients[i % len(clients)]`` when given several clients;
    ``options`` go to every `EsploroClient.request` (``params``, ``lane``).
    """
    pool = [clients] if isinstance(clients, EsploroClient) else list(clients)

    async def worker(client: EsploroClient) -> None:
        for _ in range(per_task):
            await client.request(method, path, **options)

    async with anyio.create_task_group() as tg:
        for i in range(tasks):
            tg.start_soon(worker, pool[i % len(pool)])


def make_gateway(**options: Any) -> SimulatedGateway:
    """A simulated gateway that accepts the tests' keys; ``options`` as for `SimulatedGateway`.

    By default: no latency, no foreign load, a quota far beyond any test.
    """
    options.setdefault("api_keys", dict.fromkeys((API_KEY, *OTHER_KEYS), "rw"))
    return SimulatedGateway(**options)


def jittered_gateway(
    seed: int, *, researchers: int, low: float, spread: float, jitter: float, **options: Any
) -> SimulatedGateway:
    """A seeded gateway whose send-to-arrival delay varies by ``jitter`` seconds.

    Round trips are uniform in ``[low, low + spread]``; the leg before arrival is the
    ``jitter / spread`` share of each (so it varies by ``jitter``), the rest is the API's
    work and the response. ``seed`` seeds both the synthetic institution (``researchers``
    records) and the gateway's draws; ``options`` as for `SimulatedGateway` (it accepts
    ``SIM_API_KEY``, not the tests' keys of `make_gateway`).
    """
    return SimulatedGateway(
        SyntheticInstitution(seed=seed, researchers=researchers),
        latency=Latency.uniform(low, low + spread),
        up_fraction=jitter / spread,
        seed=seed,
        **options,
    )


@pytest.fixture
def gateway() -> SimulatedGateway:
    """A simulated gateway with no latency and no foreign load (see `make_gateway`)."""
    return make_gateway()


@pytest.fixture
async def make_client(gateway: SimulatedGateway) -> AsyncIterator[ClientFactory]:
    """Build clients against ``gateway``; every client made is closed after the test."""
    clients: list[EsploroClient] = []

    def factory(**kwargs: Any) -> EsploroClient:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", BASE_URL)
        if "http_client" not in kwargs:
            kwargs.setdefault("transport", gateway.transport())
        client = EsploroClient(**kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture(autouse=True)
def _no_gateway_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clients read ``ESPLORO_REGION``/``ESPLORO_BASE_URL``: the shell's must not leak in."""
    monkeypatch.delenv("ESPLORO_REGION", raising=False)
    monkeypatch.delenv("ESPLORO_BASE_URL", raising=False)


# -- shifted wall clocks ---------------------------------------------------------------------

#: ``--wall-clock`` scenarios: (seconds from the gateway's next midnight GMT to its clock,
#: seconds the host's clock is ahead of the gateway's).
WALL_CLOCKS = {
    "before-midnight": (-5.0, 0.0),
    "host-ahead": (-60.0, 600.0),
    "host-behind": (-30.0, -3 * 3600.0),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--one-per-module",
        action="store_true",
        help="run the first runnable test of each module only (CI's pass on other Pythons)",
    )
    parser.addoption(
        "--wall-clock",
        choices=sorted(WALL_CLOCKS),
        default=None,
        help="run with the host's wall clock moved (time-machine) and the simulated gateway's "
        "clock apart from it: seconds before midnight GMT, the host ahead or behind",
    )


@pytest.fixture(autouse=True)
def shifted_wall_clock(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Move the host's clock (and the simulator's default start) as ``--wall-clock`` says."""
    scenario = request.config.getoption("--wall-clock")
    if scenario is None:
        yield
        return
    import time_machine

    from esploro_async.testing import gateway as simulated

    to_midnight, host_ahead = WALL_CLOCKS[scenario]
    now = datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    gateway_now = midnight + timedelta(seconds=to_midnight)
    lag = timedelta(seconds=host_ahead)
    monkeypatch.setattr(simulated, "_wall_now", lambda: datetime.now(timezone.utc) - lag)
    with time_machine.travel(gateway_now + lag, tick=True):
        yield


# -- other Python versions ------------------------------------------------------------------

VIRTUAL_TIME_NEEDS_311 = (
    "virtual time: looptime 0.9, the first to fast-forward anyio's cancel scopes, needs Python "
    "3.11+; under the last looptime for 3.10 these tests never end. CI runs them on 3.11 and 3.13"
)


def _runs_in_virtual_time(item: pytest.Item) -> bool:
    """Marked ``looptime``, or its module builds its own looptime loops (imports looptime,
    or says so with ``VIRTUAL_TIME = True``)."""
    module = getattr(item, "module", None)
    builds_its_own = module is not None and (
        "looptime" in vars(module) or vars(module).get("VIRTUAL_TIME") is True
    )
    return item.get_closest_marker("looptime") is not None or builds_its_own


def _first_runnable_of_each_module(items: list[pytest.Item]) -> set[int]:
    """The ``id`` of each module's first test not marked skip (its first test if all are)."""
    chosen: dict[str, pytest.Item] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        runnable = item.get_closest_marker("skip") is None
        if module not in chosen or (
            runnable and chosen[module].get_closest_marker("skip") is not None
        ):
            chosen[module] = item
    return set(map(id, chosen.values()))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.version_info < (3, 11):
        skip = pytest.mark.skip(reason=VIRTUAL_TIME_NEEDS_311)
        for item in items:
            if _runs_in_virtual_time(item):
                item.add_marker(skip)
    if config.getoption("--one-per-module"):
        keep = _first_runnable_of_each_module(items)
        config.hook.pytest_deselected(items=[i for i in items if id(i) not in keep])
        items[:] = [i for i in items if id(i) in keep]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the module (no fake Redis for the guarantees); missing fails."""
    try:
        server = RedisServer()
    except RedisServerMissing as exc:
        pytest.fail(f"{exc} (the Redis tests need a real redis-server)", pytrace=False)
    with server:
        yield server
