"""The library's guarantees, checked over randomized, seeded schedules in virtual time.

A `Schedule` is drawn from a seed: the institution's size, the daily quota and reserve
(also unknown, and a reset mid-run), foreign load, latency (spikes, and how much of it
comes before the request arrives), faults (503, ``ROUTING_ERROR``, resets, timeouts,
truncated and malformed bodies, short and list-less pages, ...), records inserted and
deleted mid-harvest, the consumer cancelling, the gateway's clock near its midnight and the
host's clock off from it. `run_schedule` drives a stream, `bulk`, raw requests and POSTs
against the simulated gateway under that schedule; `violations` lists every guarantee the
run broke:

- every record exactly once, or a typed error with a checkpoint whose resume completes
  exactly (records that existed throughout, when the data changed);
- never more than 25 of our arrivals in any sliding second;
- the daily reserve never crossed (± 1), and at most one ``429 DAILY_THRESHOLD`` a day
  besides, without a reserve, those of requests sent before the day's quota could be known
  (nothing waits for a probe then);
- every exception an `EsploroError`;
- no task left, no request sent after the consumer was cancelled, and no stall (an absurd
  ``Retry-After`` must not hold the senders for an hour);
- no POST sent again after an ambiguous failure.

``python -m benchmarks.soak --seeds N`` runs many seeds and prints how to reproduce a
failing one; the test suite runs a few hundred.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import attrs

from esploro_async.client import EsploroClient
from esploro_async.errors import EsploroError
from esploro_async.governance import (
    Governance,
    GovernanceSettings,
    LocalQuotaLedger,
    RatePolicy,
    ServerClock,
)
from esploro_async.governance.core import LocalRateGate
from esploro_async.pagination import Checkpoint, OffsetStream
from esploro_async.retry import RetryPolicy
from esploro_async.testing.faults import Fault, FaultKind, Latency
from esploro_async.testing.gateway import RequestRecord, SimulatedGateway
from esploro_async.testing.institution import SyntheticInstitution

__all__ = ["Outcome", "Schedule", "run_schedule", "run_seed", "violations"]

BASE_URL = "http://esploro.localhost"
API_KEY = "l7xx-soak-key"
RATE_LIMIT = 25
#: Virtual seconds past which a workload counts as stalled (it needs minutes at most).
STALL = 3600.0
SAFETY_MARGIN = 0.10
#: The clients' read timeout: the longest a response can keep the client waiting.
CLIENT_TIMEOUT = 5.0

#: Fault kinds a schedule may draw, with the ``processed`` values that make sense for each.
FAULT_KINDS: dict[str, tuple[bool | None, ...]] = {
    "routing_error": (None,),
    "http_500": (None,),
    "http_502": (None,),
    "reset": (False, True),
    "hang": (True, False),
    "truncated": (None,),
    "malformed": (None,),
    "short_page": (None,),
    "no_list": (None,),
    "html_200": (None,),
    "huge_body": (None,),
    "gzip_bomb": (None,),
    "deep_json": (None,),
    "absurd_headers": (None,),
    "trickle": (None,),
}

#: Bodies of hostile faults, and the client's cap, small enough for many seeds a second.
HOSTILE_BODY = 3_000_000
MAX_RESPONSE_BYTES = 1_000_000
#: ``Retry-After`` values a 5xx may carry: ordinary, absurd, non-finite, negative.
RETRY_AFTERS = (None, None, 2.0, 1e6, float("inf"), -5.0)


@attrs.frozen
class Schedule:
    """Everything a run draws from its seed."""

    seed: int
    researchers: int
    quota: int | None  # requests left at the start (None: plenty)
    daily_quota: int
    reserve: int
    foreign_rate: float
    latency: Latency
    up_fraction: float
    faults: tuple[Fault, ...]
    drift: bool
    cancel_after: float | None
    to_midnight: float  # seconds from the gateway's start to its midnight
    host_offset: float  # seconds the host's clock is ahead of the gateway's
    ordered: bool
    prefetch: int | None
    use_async_with: bool
    bulk_items: int
    raw_requests: int
    posts: int
    auto_margin: bool = False  # safety_margin="auto" instead of SAFETY_MARGIN

    @classmethod
    def draw(cls, seed: int) -> Schedule:
        """The schedule of ``seed`` (the same on every machine and every day)."""
        rng = random.Random(f"esploro-soak:{seed}")
        quota_mode = rng.random() < 0.5
        return cls(
            seed=seed,
            researchers=rng.choice([1, 99, 100, 101, 350, 1200, 2500]),
            quota=rng.randint(3, 60) if quota_mode else None,
            daily_quota=rng.choice([40, 1_000_000]),
            reserve=rng.choice([0, 0, 1, 5, 20]) if quota_mode else 0,
            foreign_rate=0.0 if quota_mode else rng.choice([0.0, 3.0, 8.0, 15.0]),
            latency=_draw_latency(rng),
            up_fraction=rng.choice([0.1, 0.5, 0.9]),
            faults=_draw_faults(rng),
            drift=rng.random() < 0.2,
            cancel_after=rng.uniform(0.5, 20.0) if rng.random() < 0.15 else None,
            to_midnight=rng.choice([5.0, 30.0, 600.0, 43_200.0]),
            host_offset=rng.choice([0.0, 0.0, 600.0, -600.0, 3 * 3600.0, -3 * 3600.0]),
            ordered=rng.random() < 0.6,
            prefetch=rng.choice([None, None, 1, 2, 7]),
            use_async_with=rng.random() < 0.5,
            bulk_items=rng.choice([0, 0, 12, 40]),
            raw_requests=rng.choice([0, 0, 20, 60]),
            posts=rng.choice([0, 0, 5]),
            auto_margin=rng.random() < 0.3,
        )


def _draw_latency(rng: random.Random) -> Latency:
    shape = rng.choice(["fixed", "uniform", "spiky"])
    if shape == "fixed":
        return Latency.fixed(rng.choice([0.0, 0.2, 0.8]))
    if shape == "uniform":
        low = rng.uniform(0.0, 0.3)
        return Latency.uniform(low, low + rng.uniform(0.0, 2.0))
    return Latency.lognormal(rng.uniform(0.1, 0.5), rng.uniform(0.5, 1.2))


def _draw_faults(rng: random.Random) -> tuple[Fault, ...]:
    faults = []
    for kind in rng.sample(sorted(FAULT_KINDS), k=rng.choice([0, 0, 1, 2, 4])):
        faults.append(
            Fault(
                FaultKind(kind),
                probability=rng.choice([0.02, 0.05, 0.15]),
                processed=rng.choice(FAULT_KINDS[kind]),
                retry_after=rng.choice(RETRY_AFTERS),
                body_size=HOSTILE_BODY,
                depth=rng.choice([200, 5_000]),
                trickle_interval=rng.choice([0.2, 2.0]),
            )
        )
    return tuple(faults)


@attrs.define
class Outcome:
    """What one run observed."""

    schedule: Schedule
    gateway: SimulatedGateway
    handed_out: list[str] = attrs.Factory(list)
    stream_error: BaseException | None = None
    checkpoint: Checkpoint | None = None
    completed: bool = False
    resumed: list[str] | None = None
    present_throughout: set[str] = attrs.Factory(set)
    untyped: list[str] = attrs.Factory(list)
    cancelled_at_log: int | None = None
    in_flight_at_cancel: int = 0
    leftover_tasks: int = 0
    start_remaining: int = 0
    duration: float = 0.0


async def run_schedule(schedule: Schedule) -> Outcome:
    """Drive the workload of ``schedule`` against a simulated gateway; see the module."""
    start = _gateway_start(schedule)
    gw = SimulatedGateway(
        SyntheticInstitution(seed=schedule.seed, researchers=schedule.researchers),
        start=start,
        daily_quota=schedule.daily_quota,
        quota_remaining=schedule.quota,
        latency=schedule.latency,
        up_fraction=schedule.up_fraction,
        faults=schedule.faults,
        foreign_rate=schedule.foreign_rate,
        api_keys={API_KEY: "rw"},
        seed=schedule.seed,
    )
    outcome = Outcome(schedule, gw, start_remaining=gw.quota_remaining)
    outcome.present_throughout = set(gw.institution.researchers.ids())
    client = _client(schedule, gw, start)
    began = anyio.current_time()
    try:
        await _workload(schedule, client, outcome)
    finally:
        await client.aclose()
    outcome.duration = anyio.current_time() - began
    await anyio.sleep(60)  # anything still on its way arrives now
    outcome.leftover_tasks = _leftover_tasks()
    if not outcome.completed and outcome.checkpoint is not None and not schedule.drift:
        outcome.resumed = await _resume(schedule, gw, outcome.checkpoint)
    return outcome


def _gateway_start(schedule: Schedule) -> datetime:
    now = datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(seconds=schedule.to_midnight)


def _policy(schedule: Schedule) -> RatePolicy:
    if schedule.auto_margin:
        return RatePolicy.auto(RATE_LIMIT, safety_margin=SAFETY_MARGIN)
    return RatePolicy(rate_limit=RATE_LIMIT, safety_margin=SAFETY_MARGIN)


def _client(schedule: Schedule, gw: SimulatedGateway, start: datetime) -> EsploroClient:
    offset = timedelta(seconds=schedule.host_offset)
    clock = ServerClock(wall=lambda: start + offset)
    governance = Governance(
        rate=LocalRateGate(_policy(schedule)),
        quota=LocalQuotaLedger(schedule.reserve, clock=clock),
        settings=GovernanceSettings(max_in_flight=50, daily_reserve=schedule.reserve),
    )
    return EsploroClient(
        API_KEY,
        base_url=BASE_URL,
        transport=gw.transport(),
        governance=governance,
        timeout=CLIENT_TIMEOUT,
        retry=RetryPolicy(max_attempts=4, deadline=60.0),
        max_response_bytes=MAX_RESPONSE_BYTES,
    )


async def _workload(schedule: Schedule, client: EsploroClient, outcome: Outcome) -> None:
    log_size = len(outcome.gateway.log)
    with anyio.move_on_after(schedule.cancel_after or 86_400.0) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_harvest, schedule, client, outcome)
            tg.start_soon(_side_work, schedule, client, outcome)
            if schedule.drift:
                tg.start_soon(_mutate, schedule, outcome)
    if scope.cancelled_caught:
        log_size = len(outcome.gateway.log)
        outcome.cancelled_at_log = log_size
        outcome.in_flight_at_cancel = client.governance.snapshot().in_flight


async def _harvest(schedule: Schedule, client: EsploroClient, outcome: Outcome) -> None:
    options: dict[str, Any] = {"ordered": schedule.ordered, "on_insufficient_quota": "run"}
    if schedule.prefetch is not None:
        options["prefetch"] = schedule.prefetch
    stream = client.researchers.list(**options)
    try:
        await _consume(stream, schedule.use_async_with, outcome.handed_out)
        outcome.completed = True
    except EsploroError as exc:
        outcome.stream_error = exc
    except Exception as exc:
        outcome.untyped.append(f"stream: {exc!r}")
    finally:
        outcome.checkpoint = stream.checkpoint


async def _consume(stream: OffsetStream[Any], use_async_with: bool, into: list[str]) -> None:
    if use_async_with:
        async with stream:
            async for record in stream:
                into.append(record.record_id or "")
    else:
        try:
            async for record in stream:
                into.append(record.record_id or "")
        finally:
            await stream.aclose()


async def _side_work(schedule: Schedule, client: EsploroClient, outcome: Outcome) -> None:
    async def guarded(what: str, call: Callable[[], Any]) -> None:
        try:
            await call()
        except EsploroError:
            pass
        except Exception as exc:
            outcome.untyped.append(f"{what}: {exc!r}")

    ids = [*outcome.gateway.institution.researchers.ids()[: schedule.bulk_items], "NO-SUCH-ID"]
    async with anyio.create_task_group() as tg:
        if schedule.bulk_items:
            tg.start_soon(guarded, "bulk", lambda: _bulk(client, ids, outcome))
        for n in range(schedule.raw_requests):
            params = {"limit": 1, "offset": n}
            tg.start_soon(
                guarded, "request", lambda p=params: client.request("GET", "researchers", params=p)
            )
        for n in range(schedule.posts):
            tg.start_soon(
                guarded,
                "post",
                lambda m=n: client.request("POST", "researchers/test", params={"marker": m}),
            )


async def _bulk(client: EsploroClient, ids: list[str], outcome: Outcome) -> None:
    async with client.bulk(ids, client.researchers.get, concurrency=6) as results:
        async for result in results:
            if result.error is not None and not isinstance(result.error, EsploroError):
                outcome.untyped.append(f"bulk item: {result.error!r}")


async def _mutate(schedule: Schedule, outcome: Outcome) -> None:
    rng = random.Random(f"esploro-soak-drift:{schedule.seed}")
    store = outcome.gateway.institution.researchers
    for _ in range(rng.randint(1, 6)):
        await anyio.sleep(rng.uniform(0.1, 4.0))
        ids = store.ids()
        if ids and rng.random() < 0.5:
            victim = rng.choice(ids)
            store.delete(victim)
            outcome.present_throughout.discard(victim)
        else:
            store.insert(rng.randint(0, len(ids)))


async def _resume(schedule: Schedule, gw: SimulatedGateway, checkpoint: Checkpoint) -> list[str]:
    """The rest of the harvest, next day, from a healthy gateway over the same data."""
    healthy = SimulatedGateway(gw.institution, api_keys={API_KEY: "rw"}, seed=schedule.seed)
    async with EsploroClient(API_KEY, base_url=BASE_URL, transport=healthy.transport()) as client:
        stream = client.researchers.list(resume_from=checkpoint)
        return [record.record_id or "" async for record in stream]


def _leftover_tasks() -> int:
    try:
        current = asyncio.current_task()
        return sum(1 for task in asyncio.all_tasks() if task is not current)
    except RuntimeError:  # not asyncio
        return 0


def violations(outcome: Outcome) -> list[str]:
    """Every guarantee ``outcome`` broke, in words (empty: none)."""
    found = list(outcome.untyped)
    found += _record_violations(outcome)
    found += _rate_violations(outcome)
    found += _quota_violations(outcome)
    found += _stopping_violations(outcome)
    found += _post_violations(outcome)
    return found


def _record_violations(outcome: Outcome) -> list[str]:
    got = outcome.handed_out
    found = []
    repeated = [key for key, n in Counter(got).items() if n > 1]
    if repeated:
        found.append(f"records handed out twice: {repeated[:5]}")
    if outcome.completed:
        missing = outcome.present_throughout - set(got)
        if missing:
            found.append(f"harvest completed without {len(missing)} records: {sorted(missing)[:5]}")
    elif outcome.resumed is not None:
        everything = Counter(got + outcome.resumed)
        expected = Counter(outcome.gateway.institution.researchers.ids())
        if everything != expected:
            lost = sorted((expected - everything).elements())[:5]
            twice = sorted((everything - expected).elements())[:5]
            found.append(f"resumed harvest not exact: lost {lost}, repeated {twice}")
    return found


def request_leg_jitter(schedule: Schedule) -> float:
    """How much the time from sending to arriving varies, at most, in ``schedule``."""
    latency = schedule.latency
    if latency.kind == "fixed":
        return 0.0
    if latency.kind == "uniform":
        return schedule.up_fraction * (latency.b - latency.a)
    return float("inf")  # log-normal: unbounded


def _rate_violations(outcome: Outcome) -> list[str]:
    found = []
    sent = outcome.gateway.max_sent_in_window()
    if sent > RATE_LIMIT:
        found.append(f"{sent} of our requests were sent within one second")
    # Requests sent 1 / effective rate apart arrive at most 25 in a second while the
    # request leg varies by less than the safety margin (in seconds); beyond that only the
    # sending side is ours to keep, and a 429 pauses every sender. An automatic margin
    # promises that only for the jitter its floor covers.
    margin = _policy(outcome.schedule).min_margin if outcome.schedule.auto_margin else SAFETY_MARGIN
    if request_leg_jitter(outcome.schedule) < margin:
        arrived = outcome.gateway.max_in_window(accepted_only=False, lane="client")
        if arrived > RATE_LIMIT:
            found.append(f"{arrived} of our requests arrived within one second")
    return found


def _quota_violations(outcome: Outcome) -> list[str]:
    if outcome.schedule.quota is None:
        return []
    days = _DaySpending.of(outcome.gateway.log)
    return _reserve_crossings(outcome, days) + _repeated_refusals(outcome, days)


@attrs.define
class _DaySpending:
    """What our requests spent of each day's quota, and when an answer first told it."""

    spent: Counter[Any] = attrs.Factory(Counter)
    blind: Counter[Any] = attrs.Factory(Counter)  # spent before any answer could tell the quota
    first_told: dict[Any, float] = attrs.Factory(dict)  # arrival of the day's first telling one
    first_day: Any = None

    @classmethod
    def of(cls, log: Iterable[RequestRecord]) -> _DaySpending:
        days = cls()
        for record in log:
            if record.lane == "client":
                days.add(record)
        return days

    def add(self, record: RequestRecord) -> None:
        day = record.wall_time.date()
        self.first_day = self.first_day or day
        if record.accepted:
            self.spent[day] += 1
            if day not in self.first_told:
                self.blind[day] += 1
        if _tells_the_quota(record.status):
            self.first_told.setdefault(day, record.arrival)


def _reserve_crossings(outcome: Outcome, days: _DaySpending) -> list[str]:
    schedule = outcome.schedule
    found = []
    for day, used in days.spent.items():
        budget = outcome.start_remaining if day == days.first_day else schedule.daily_quota
        # Requests sent while the quota was unknown (the probe, and probes after one that
        # told nothing) may spend it below the reserve.
        floor = min(budget - days.blind[day], schedule.reserve) - 1
        if budget - used < floor:
            found.append(f"reserve {schedule.reserve} crossed on {day}: {budget - used} left")
    return found


def _repeated_refusals(outcome: Outcome, days: _DaySpending) -> list[str]:
    refusals = Counter(
        r.wall_time.date()
        for r in outcome.gateway.log
        if r.lane == "client"
        and r.error_code == "DAILY_THRESHOLD"
        and not _blind(r, outcome.schedule, days.first_told)
    )
    return [f"{n} × 429 DAILY_THRESHOLD on {day}" for day, n in refusals.items() if n > 1]


def _blind(record: RequestRecord, schedule: Schedule, first_told: dict[Any, float]) -> bool:
    """Whether ``record`` was sent before the client could know the day's quota.

    Without a reserve nothing waits for the day's first answer, so every request sent before
    it could be back (the client's timeout, at most) may be refused once the quota is out.
    """
    if schedule.reserve > 0 or record.sent is None:
        return False
    told = first_told.get(record.wall_time.date())
    return told is None or record.sent < told + CLIENT_TIMEOUT


def _tells_the_quota(status: int | None) -> bool:
    """Whether a response with ``status`` carries the gateway's quota header."""
    return status is not None and status != 502  # 502: a proxy's page, not the gateway's


def _stopping_violations(outcome: Outcome) -> list[str]:
    found = []
    if outcome.duration > STALL:
        found.append(f"the workload took {outcome.duration:.0f} s of virtual time (a stall)")
    if outcome.leftover_tasks:
        found.append(f"{outcome.leftover_tasks} tasks left running")
    if outcome.cancelled_at_log is not None:
        # Requests already on their way at the cancellation may still arrive; no other.
        later = outcome.gateway.log[outcome.cancelled_at_log :]
        arrived = sum(1 for r in later if r.lane == "client")
        if arrived > outcome.in_flight_at_cancel:
            found.append(
                f"{arrived} requests arrived after the cancellation, "
                f"{outcome.in_flight_at_cancel} were in flight"
            )
    return found


def _post_violations(outcome: Outcome) -> list[str]:
    processed: Counter[str] = Counter(
        r.query
        for r in outcome.gateway.log
        if r.lane == "client" and r.method == "POST" and r.processed
    )
    return [f"POST {query} processed {n} times" for query, n in processed.items() if n > 1]


def run_seed(seed: int, backend: str = "asyncio") -> tuple[Schedule, list[str]]:
    """Draw, run and check the schedule of ``seed`` in virtual time."""
    schedule = Schedule.draw(seed)

    async def main() -> list[str]:
        return violations(await run_schedule(schedule))

    if backend == "trio":
        import trio
        import trio.testing

        found = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    else:
        import looptime

        options = {"loop_factory": lambda: looptime.new_event_loop(start=0)}
        found = anyio.run(main, backend="asyncio", backend_options=options)
    return schedule, found
