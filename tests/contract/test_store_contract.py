"""One contract, two stores: every rule of governance, held on the in-process store and on Redis.

Each test takes the ``store`` fixture, parametrized over ``local`` (`Governance.local`) and
``redis`` (`RedisGovernance` on a real redis-server), the way anyio's tests run over asyncio
and trio: a rule changed in one store only fails here. Both run on the real clock (Redis
schedules on its own ``TIME``), with settings chosen so that every bound leaves a wide
tolerance.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone

import anyio
import pytest
import redis.asyncio as aioredis

from esploro_async import DailyQuotaExhaustedError, EsploroClient
from esploro_async.governance import Governance, GovernanceSettings, ResponseInfo
from esploro_async.governance.lanes import priority
from esploro_async.governance.redis import RedisGovernance
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.redis_server import RedisServer

INST = "01CONTRACT_INST"
LOOPBACK = "http://127.0.0.1:8080"
MakeStore = Callable[..., Governance]
BATCH = priority("batch", retry=False)
INTERACTIVE = priority("interactive", retry=False)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["local", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MakeStore]:
    """Build a store of the parametrized kind from `GovernanceSettings`."""
    made: list[Governance] = []
    url = None
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        if not server.running:
            server.start()
        url = server.url
        admin = aioredis.Redis.from_url(url)
        await admin.flushall()
        await admin.aclose()

    def make(settings: GovernanceSettings | None = None) -> Governance:
        settings = settings or GovernanceSettings()
        governance: Governance
        if url is None:
            governance = Governance.local(settings)
        else:
            governance = RedisGovernance(url, settings, institution=INST)
        made.append(governance)
        return governance

    yield make
    for governance in made:
        await governance.aclose()


def _gateway(**kwargs: object) -> SimulatedGateway:
    kwargs.setdefault("latency", Latency.uniform(0.01, 0.03))
    return SimulatedGateway(SyntheticInstitution(seed=3, researchers=50, assets=2), **kwargs)  # type: ignore[arg-type]


def _client(governance: Governance, gw: SimulatedGateway) -> EsploroClient:
    return EsploroClient(
        SIM_API_KEY, base_url=LOOPBACK, transport=gw.transport(), governance=governance
    )


async def _learn_quota(governance: Governance, remaining: int) -> None:
    """One answered attempt that reports ``remaining`` (the quota becomes known)."""
    async with governance.attempt(lane="interactive") as attempt:
        await attempt.record(
            ResponseInfo(200, remaining=remaining, server_date=datetime.now(timezone.utc))
        )


async def _get(client: EsploroClient) -> None:
    await client.request("GET", "researchers", params={"limit": 1})


# -- the daily quota ---------------------------------------------------------------------------


async def test_the_reserve_is_exact_under_concurrency(store: MakeStore) -> None:
    gw = _gateway(quota_remaining=80)
    stopped: list[Exception] = []

    async def worker(client: EsploroClient) -> None:
        try:
            while True:
                await _get(client)
        except Exception as exc:
            stopped.append(exc)

    governance = store(GovernanceSettings(daily_reserve=50))
    async with _client(governance, gw) as client, anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(worker, client)
    assert len(stopped) == 8
    assert all(isinstance(exc, DailyQuotaExhaustedError) for exc in stopped)
    assert gw.quota_remaining == 50


async def test_an_unknown_quota_is_probed_by_one_request_alone(store: MakeStore) -> None:
    gw = _gateway(latency=Latency.fixed(0.2))
    governance = store(GovernanceSettings(daily_reserve=10))
    async with _client(governance, gw) as client, anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(_get, client)
    arrivals = sorted(record.arrival for record in gw.client_log())
    assert len(arrivals) == 5
    # The probe's answer came back before any other request was sent.
    assert arrivals[1] - arrivals[0] >= 0.2 - 0.01


async def test_at_the_reserve_nothing_is_sent(store: MakeStore) -> None:
    gw = _gateway(quota_remaining=12)
    async with _client(store(GovernanceSettings(daily_reserve=10)), gw) as client:
        await _get(client)
        await _get(client)
        sent = len(gw.log)
        for _ in range(3):
            with pytest.raises(DailyQuotaExhaustedError) as refused:
                await _get(client)
            assert refused.value.status_code is None  # refused here, not by the gateway
    assert len(gw.log) == sent
    assert gw.quota_remaining == 10


async def test_waiting_for_the_reset_sends_nothing_meanwhile(store: MakeStore) -> None:
    gw = _gateway(quota_remaining=11)
    settings = GovernanceSettings(daily_reserve=10, on_quota_exhausted="wait")
    async with _client(store(settings), gw) as client:
        await _get(client)
        with anyio.move_on_after(0.5) as waited:
            await _get(client)
    assert waited.cancelled_caught
    assert len(gw.log) == 1


async def test_a_new_quota_day_starts_afresh(store: MakeStore) -> None:
    before_midnight = datetime.now(timezone.utc).replace(
        hour=23, minute=59, second=58, microsecond=0
    )
    gw = _gateway(quota_remaining=12, daily_quota=1000, start=before_midnight)
    async with _client(store(GovernanceSettings(daily_reserve=10)), gw) as client:
        await _get(client)
        await _get(client)
        with pytest.raises(DailyQuotaExhaustedError):
            await _get(client)
        await anyio.sleep(4.5)  # the gateway's midnight, and the Date header's second
        await _get(client)
    assert gw.quota_remaining == 999


# -- the per-second threshold: the reaction to 429 ---------------------------------------------

REACTION = GovernanceSettings(
    first_pause=0.2,
    pause=0.6,
    decrease=0.8,
    decrease_cooldown=30.0,
    increase=1.0,
    increase_every=0.5,
)


def _pause_from(governance: Governance, since: float) -> float:
    paused = governance.rate.paused_until()
    assert paused is not None
    return paused - since


async def test_an_isolated_429_pauses_first_pause_and_a_repeated_one_pause(
    store: MakeStore,
) -> None:
    governance = store(REACTION)
    await governance.rate.acquire(BATCH)
    at = anyio.current_time()
    await governance.rate.throttled(None)
    assert 0.15 <= _pause_from(governance, at) <= 0.35  # first_pause, not pause
    await anyio.sleep(0.3)  # the pause is over; a 429 within a second of it is a repeat
    at = anyio.current_time()
    await governance.rate.throttled(None)
    assert 0.55 <= _pause_from(governance, at) <= 0.8  # pause


async def test_a_long_retry_after_wins_over_the_pause(store: MakeStore) -> None:
    governance = store(REACTION)
    await governance.rate.acquire(BATCH)
    at = anyio.current_time()
    await governance.rate.throttled(2.0)
    assert 1.95 <= _pause_from(governance, at) <= 2.3


async def test_nothing_starts_during_a_pause(store: MakeStore) -> None:
    governance = store(REACTION)
    await governance.rate.acquire(BATCH)
    await governance.rate.throttled(1.0)
    paused = governance.rate.paused_until()
    assert paused is not None
    await governance.rate.acquire(BATCH)
    assert anyio.current_time() >= paused - 0.01


async def test_a_429_cuts_the_rate_once_per_cooldown_and_it_climbs_back(
    store: MakeStore,
) -> None:
    governance = store(REACTION)
    await governance.rate.acquire(BATCH)
    await governance.rate.throttled(None)
    assert governance.rate.current_rate() == pytest.approx(20.0)  # 25 × 0.8
    await governance.rate.throttled(None)
    assert governance.rate.current_rate() == pytest.approx(20.0)  # within the cooldown
    await anyio.sleep(1.8)  # past the pauses, and increase_every three times over
    await governance.rate.acquire(BATCH)
    assert 21.0 <= governance.rate.current_rate() <= 25.0


async def test_a_fixed_rate_never_changes(store: MakeStore) -> None:
    governance = store(GovernanceSettings(adaptive=False, first_pause=0.05))
    await governance.rate.acquire(BATCH)
    await governance.rate.throttled(None)
    assert governance.rate.current_rate() == 25.0


# -- lanes -------------------------------------------------------------------------------------


async def test_batch_work_never_takes_the_held_back_slots(store: MakeStore) -> None:
    governance = store(GovernanceSettings(max_in_flight=3, interactive_slots=1))
    await _learn_quota(governance, 10_000)
    async with governance.attempt(lane="batch"), governance.attempt(lane="batch"):
        with anyio.move_on_after(0.5) as blocked:
            async with governance.attempt(lane="batch"):
                pass
        assert blocked.cancelled_caught
        with anyio.fail_after(2.0):
            async with governance.attempt(lane="interactive"):
                pass


async def test_batch_work_stops_at_its_floor_while_interactive_work_goes_on(
    store: MakeStore,
) -> None:
    governance = store(GovernanceSettings(daily_reserve=10, batch_reserve=100))
    await _learn_quota(governance, 100)
    with pytest.raises(DailyQuotaExhaustedError):
        async with governance.attempt(lane="batch"):
            pass
    async with governance.attempt(lane="interactive") as attempt:
        await attempt.record(ResponseInfo(200, remaining=99))


async def test_an_interactive_request_goes_before_waiting_batch_work(store: MakeStore) -> None:
    governance = store(GovernanceSettings(rate_limit=4))
    await governance.rate.acquire(BATCH)
    order: list[str] = []

    async def take(name: str, priority_: int) -> None:
        await governance.rate.acquire(priority_)
        order.append(name)

    async with anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(take, f"batch{n}", BATCH)
        await anyio.sleep(0.05)
        tg.start_soon(take, "interactive", INTERACTIVE)
    assert order.index("interactive") < 2, order


# -- the automatic margin ----------------------------------------------------------------------

AUTO = GovernanceSettings(safety_margin="auto", arrival_order=False, narrow_rate=2.0)


async def test_an_automatic_margin_starts_safe_and_narrows_on_a_steady_network(
    store: MakeStore,
) -> None:
    governance = store(AUTO)
    await governance.rate.acquire(BATCH)
    assert governance.rate.current_margin() == pytest.approx(0.10)
    for _ in range(64):
        governance.rate.observe(0.100, None)  # no spread at all
    await anyio.sleep(0.3)
    await governance.rate.acquire(BATCH)
    assert governance.rate.current_margin() < 0.08
    assert governance.snapshot().safety_margin == governance.rate.current_margin()


async def test_an_automatic_margin_reading_the_arrival_order_widens_on_a_429(
    store: MakeStore,
) -> None:
    governance = store(GovernanceSettings(safety_margin="auto", first_pause=0.05))
    for n in range(4):
        # Each response after its own permit (on Redis the order is the institution's,
        # read back with the next permit): counts taken at arrival, in order.
        await governance.rate.acquire(BATCH)
        governance.rate.observe(0.1, 1000 - n)
    await governance.rate.throttled(None)
    assert governance.rate.current_margin() >= 0.2 - 1e-9


async def test_without_the_arrival_order_a_429_cuts_the_rate_and_keeps_the_margin(
    store: MakeStore,
) -> None:
    # With no order to read "auto" is the fixed margin it starts from, 429 reaction included.
    governance = store(GovernanceSettings(safety_margin="auto", first_pause=0.05))
    await governance.rate.acquire(BATCH)
    await governance.rate.throttled(None)
    assert governance.rate.current_margin() == pytest.approx(0.10)
    assert governance.rate.current_rate() < 25


async def test_without_the_arrival_order_a_round_trip_spread_keeps_the_starting_margin(
    store: MakeStore,
) -> None:
    # Most of a round trip may be the API's work after arrival: a wide spread of round trips
    # says nothing about the jitter before arrival, so without the order it neither widens
    # the margin (slower than the fixed 0.10) nor lets it narrow.
    governance = store(AUTO)
    await governance.rate.acquire(BATCH)
    for n in range(64):
        governance.rate.observe(0.1 + (0.6 if n % 2 else 0.0), None)
    await anyio.sleep(0.3)
    await governance.rate.acquire(BATCH)
    assert governance.rate.current_margin() == pytest.approx(0.10)


async def test_a_fixed_margin_ignores_what_it_observes(store: MakeStore) -> None:
    governance = store(GovernanceSettings(safety_margin=0.25))
    await governance.rate.acquire(BATCH)
    for _ in range(64):
        governance.rate.observe(0.100, None)
    await anyio.sleep(0.2)
    await governance.rate.acquire(BATCH)
    assert governance.rate.current_margin() == 0.25


# -- cancellation and closing -------------------------------------------------------------------


async def test_cancelled_reservations_leave_nothing_behind(store: MakeStore) -> None:
    governance = store(GovernanceSettings(rate_limit=5, max_in_flight=4, interactive_slots=1))
    await _learn_quota(governance, 10_000)

    async def enter() -> None:
        async with governance.attempt(lane="batch"):
            await anyio.sleep(30)

    with anyio.move_on_after(0.8):
        async with anyio.create_task_group() as tg:
            for _ in range(6):  # some hold a permit, some wait for one, some for a slot
                tg.start_soon(enter)
    snapshot = governance.snapshot()
    assert (snapshot.in_flight, snapshot.waiting) == (0, 0)
    assert governance.quota.status().in_flight == 0
    assert dict(governance.rate.waiting) == {"interactive": 0, "batch": 0}
    # Every slot is free again: max_in_flight attempts can be held at once.
    with anyio.fail_after(10):
        async with (
            governance.attempt(lane="batch"),
            governance.attempt(lane="batch"),
            governance.attempt(lane="batch"),
            governance.attempt(lane="interactive"),
        ):
            assert governance.quota.status().in_flight == 4


async def test_a_cancelled_probe_lets_the_next_request_probe(store: MakeStore) -> None:
    governance = store(GovernanceSettings(daily_reserve=5))
    with anyio.move_on_after(0.3):
        async with governance.attempt(lane="batch"):
            await anyio.sleep(30)  # the probe, never answered
    with anyio.fail_after(5):
        async with governance.attempt(lane="batch") as attempt:
            await attempt.record(ResponseInfo(200, remaining=100))
    assert governance.quota.status().remaining == 100


async def test_closing_is_idempotent_and_leaves_no_task(store: MakeStore) -> None:
    governance = store()
    await governance.rate.acquire(BATCH)
    await governance.aclose()
    await governance.aclose()
    await asyncio.sleep(0)
    mine = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not mine and not t.done()]
    assert not [t for t in left if "esploro_async" in repr(t.get_coro())]


# -- the settings themselves -------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        GovernanceSettings(),
        GovernanceSettings(safety_margin="auto", daily_reserve=3, max_in_flight=7),
        GovernanceSettings(batch_reserve=9, interactive_slots=0, on_quota_exhausted="wait"),
    ],
)
async def test_a_store_keeps_the_settings_it_was_built_from(
    store: MakeStore, settings: GovernanceSettings
) -> None:
    governance = store(settings)
    assert governance.settings == settings
    snapshot = governance.snapshot()
    assert (snapshot.rate_limit, snapshot.daily_reserve) == (25.0, settings.daily_reserve)
    assert snapshot.batch_reserve == settings.floor_of_batch
    assert governance.max_in_flight == settings.max_in_flight
    assert governance.interactive_slots == settings.held_back_slots


def test_every_store_is_built_from_settings_only() -> None:
    """No default of its own: a store built without settings uses `GovernanceSettings()`."""
    local = Governance.local()
    redis = RedisGovernance("redis://127.0.0.1:1/0", institution=INST)
    assert local.settings == redis.settings == GovernanceSettings()
