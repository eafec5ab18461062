"""The daily-quota ledger: lowest value per quota day, in flight, reserve, reset."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import anyio
import pytest

from esploro_async.governance import (
    LocalQuotaLedger,
    QuotaDay,
    QuotaRefusal,
    ResponseInfo,
    ServerClock,
)

pytestmark = pytest.mark.looptime

NOON = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def seen(remaining: int | None, when: datetime = NOON, code: str | None = None) -> ResponseInfo:
    return ResponseInfo(status_code=200, remaining=remaining, server_date=when, error_code=code)


def fixed_clock(when: datetime) -> ServerClock:
    return ServerClock(wall=lambda: when)


async def test_keeps_the_lowest_value_of_the_day() -> None:
    ledger = LocalQuotaLedger(clock=fixed_clock(NOON))
    for remaining in (500, 498, 499):  # responses arrive out of order
        await ledger.reserve()
        await ledger.settle(seen(remaining))
    assert ledger.status().remaining == 498


async def test_requests_in_flight_count_against_the_estimate() -> None:
    ledger = LocalQuotaLedger(clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(100))
    for _ in range(3):
        await ledger.reserve()
    status = ledger.status()
    assert (status.remaining, status.in_flight, status.estimate) == (100, 3, 97)


async def waits(ledger: LocalQuotaLedger, floor: int | None = None) -> bool:
    """True if ``reserve`` waits (for requests in flight) rather than deciding now."""
    with anyio.move_on_after(1.0) as scope:
        await ledger.reserve(floor)
    return scope.cancelled_caught


async def test_reserve_floor_is_exact() -> None:
    ledger = LocalQuotaLedger(reserve=10, clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(15))
    for _ in range(5):  # 15 -> 10: five may go, all at once
        await ledger.reserve()
    # The sixth waits: the five responses may show that fewer were charged.
    assert await waits(ledger)
    for remaining in (14, 13, 12, 11, 10):
        await ledger.settle(seen(remaining))
    with pytest.raises(QuotaRefusal) as refused:
        await ledger.reserve()
    assert refused.value.status.estimate == 10
    assert not refused.value.from_gateway


async def test_at_the_reserve_requests_in_flight_settle_before_a_refusal() -> None:
    # The header of a response already counts the requests that reached the gateway
    # before it: subtracting every request in flight again would stop short.
    ledger = LocalQuotaLedger(reserve=10, clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(14))
    for _ in range(4):
        await ledger.reserve()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ledger.reserve)  # waits: 14 - 4 in flight is the reserve
        await anyio.sleep(0.1)
        assert ledger.status().in_flight == 4
        for _ in range(4):  # all four were counted by the gateway before one response
            await ledger.settle(seen(10 + 1))
    assert ledger.status().in_flight == 1  # the waiter went: 11 left, reserve 10


async def test_while_the_quota_is_unknown_one_probe_is_in_flight() -> None:
    ledger = LocalQuotaLedger(reserve=1, clock=fixed_clock(NOON))
    await ledger.reserve()  # the probe
    assert await waits(ledger)  # a second request waits for the probe's answer
    await ledger.settle(seen(4))
    for _ in range(3):
        await ledger.reserve()
    assert await waits(ledger)
    for remaining in (3, 2, 1):
        await ledger.settle(seen(remaining))
    with pytest.raises(QuotaRefusal):
        await ledger.reserve()


async def test_without_a_reserve_an_unknown_quota_is_not_probed() -> None:
    ledger = LocalQuotaLedger(clock=fixed_clock(NOON))
    for _ in range(10):  # nothing to protect: the first round trip is not spent alone
        await ledger.reserve()
    assert ledger.status().in_flight == 10
    await ledger.settle(seen(2))
    for remaining in (1, 0):
        await ledger.settle(seen(remaining))
    await ledger.settle(seen(None, code="DAILY_THRESHOLD"))
    for _ in range(6):
        await ledger.settle(seen(None, code="DAILY_THRESHOLD"))
    with pytest.raises(QuotaRefusal):
        await ledger.reserve()


async def test_a_probe_without_an_answer_hands_over_to_the_next() -> None:
    ledger = LocalQuotaLedger(reserve=1, clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(ResponseInfo(status_code=None, sent=False))  # never sent
    await ledger.reserve()  # the next probe goes
    assert await waits(ledger)


async def test_a_gateway_that_never_reports_the_quota_is_not_probed_forever() -> None:
    ledger = LocalQuotaLedger(reserve=1, clock=fixed_clock(NOON))
    for _ in range(3):
        await ledger.reserve()
        await ledger.settle(ResponseInfo(status_code=200, sent=True, server_date=NOON))
    for _ in range(10):  # no header three times in a row: requests go concurrently
        await ledger.reserve()
    assert ledger.status().in_flight == 10


async def test_confirm_sees_what_was_learnt_while_waiting_for_a_permit() -> None:
    ledger = LocalQuotaLedger(reserve=5, clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(100))
    await ledger.reserve()
    assert await ledger.confirm()
    await ledger.reserve()  # meanwhile another integration spent the quota:
    await ledger.settle(seen(None, code="DAILY_THRESHOLD"))
    with pytest.raises(QuotaRefusal):
        await ledger.confirm()


async def test_daily_threshold_sets_the_quota_to_zero() -> None:
    ledger = LocalQuotaLedger(clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(None, code="DAILY_THRESHOLD"))
    with pytest.raises(QuotaRefusal) as refused:
        await ledger.reserve()
    assert refused.value.from_gateway
    assert refused.value.status.resets_at == datetime(2026, 11, 29, tzinfo=timezone.utc)


async def test_a_new_day_starts_afresh_and_late_responses_of_yesterday_are_ignored() -> None:
    ledger = LocalQuotaLedger(clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(3))
    tomorrow = NOON + timedelta(days=1)
    await ledger.reserve()
    await ledger.settle(seen(10_000, when=tomorrow))
    await ledger.reserve()
    await ledger.settle(seen(2, when=NOON))  # delayed response from the previous day
    assert ledger.status().remaining == 10_000


async def test_quota_rolls_over_at_the_reset_while_waiting() -> None:
    before_midnight = datetime(2026, 11, 28, 23, 59, 50, tzinfo=timezone.utc)
    ledger = LocalQuotaLedger(reserve=1, clock=fixed_clock(before_midnight))
    await ledger.reserve()
    await ledger.settle(seen(1, when=before_midnight))
    with pytest.raises(QuotaRefusal) as refused:
        await ledger.reserve()
    assert refused.value.status.resets_in == pytest.approx(10, abs=0.01)
    await anyio.sleep(refused.value.status.resets_in + 0.5)
    await ledger.reserve()  # a new quota day: unknown until the next header
    assert ledger.status().remaining is None
    assert await waits(ledger)  # ... and probed by one request at a time (a reserve is kept)


@pytest.mark.parametrize("host_offset", [-3 * 3600.0, -600.0, 600.0, 3 * 3600.0])
async def test_the_gateway_clock_wins_whichever_way_the_host_is_off(host_offset: float) -> None:
    gateway_now = datetime(2026, 11, 28, 23, 55, tzinfo=timezone.utc)  # 5 min to its midnight
    clock = ServerClock(wall=lambda: gateway_now + timedelta(seconds=host_offset))
    ledger = LocalQuotaLedger(reserve=50, clock=clock)
    await ledger.reserve()
    await ledger.settle(seen(60, when=gateway_now))
    await anyio.sleep(10)
    for _ in range(10):  # the ledger stays on the gateway's day: 60 -> 50
        await ledger.reserve()
    assert ledger.status().remaining == 60
    assert ledger.status().resets_at == datetime(2026, 11, 29, tzinfo=timezone.utc)
    assert await waits(ledger)


async def test_an_undated_response_after_the_clock_moved_counts_for_the_day_it_came_in() -> None:
    ten_to_midnight = datetime(2026, 11, 28, 23, 50, tzinfo=timezone.utc)
    ledger = LocalQuotaLedger(clock=fixed_clock(ten_to_midnight))
    await ledger.reserve()
    await ledger.settle(seen(500, when=ten_to_midnight))
    await ledger.reserve()  # the day looked safe for the next nine minutes
    # a header 9.5 minutes ahead moves the gateway's clock: 30 s to its midnight
    await ledger.settle(seen(400, when=ten_to_midnight + timedelta(minutes=9, seconds=30)))
    await anyio.sleep(40)  # now 10 s into the gateway's next day
    await ledger.reserve()
    await ledger.settle(ResponseInfo(status_code=200, remaining=9_000))  # no Date header
    assert ledger.status().remaining == 9_000
    assert ledger.status().resets_at == datetime(2026, 11, 30, tzinfo=timezone.utc)


def test_server_clock_tolerates_the_date_header_resolution() -> None:
    noon = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
    clock = ServerClock(wall=lambda: noon + timedelta(hours=5))
    clock.observe(noon, at=0.0)
    assert clock.now(0.0) == noon  # the first header replaces the host's guess
    clock.observe(noon, at=0.9)  # truncated to the second: no step back
    assert clock.now(0.9) == noon + timedelta(seconds=0.9)
    clock.observe(noon + timedelta(seconds=2), at=1.0)  # ahead: forward
    assert clock.now(1.0) == noon + timedelta(seconds=2)
    clock.observe(noon - timedelta(minutes=5), at=1.0)  # far behind: the gateway wins
    assert clock.now(1.0) == noon - timedelta(minutes=5)


async def test_missing_header_is_counted_conservatively() -> None:
    ledger = LocalQuotaLedger(clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(50))
    await ledger.reserve()
    await ledger.settle(ResponseInfo(status_code=None, sent=True))  # timed out: maybe charged
    await ledger.reserve()
    await ledger.settle(ResponseInfo(status_code=None, sent=False))  # never sent: not charged
    assert ledger.status().remaining == 49


def test_reset_time_is_configurable() -> None:
    days = QuotaDay(time(0, tzinfo=timezone(timedelta(hours=-5))))  # midnight US Eastern
    assert days.of(datetime(2026, 11, 28, 4, 59, tzinfo=timezone.utc)) == date(2026, 11, 27)
    assert days.of(datetime(2026, 11, 28, 5, 0, tzinfo=timezone.utc)) == date(2026, 11, 28)
    assert days.resets_at(date(2026, 11, 28)) == datetime(2026, 11, 29, 5, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="timezone-aware"):
        QuotaDay(time(0))


def test_negative_reserve_is_refused() -> None:
    with pytest.raises(ValueError, match="daily_reserve"):
        LocalQuotaLedger(reserve=-1)
