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


async def test_reserve_floor_is_exact() -> None:
    ledger = LocalQuotaLedger(reserve=10, clock=fixed_clock(NOON))
    await ledger.reserve()
    await ledger.settle(seen(15))
    for _ in range(5):  # 15 -> 10: five may go, all at once
        await ledger.reserve()
    with pytest.raises(QuotaRefusal) as refused:
        await ledger.reserve()
    assert refused.value.status.estimate == 10
    assert not refused.value.from_gateway


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
    ledger = LocalQuotaLedger(clock=fixed_clock(before_midnight))
    await ledger.reserve()
    await ledger.settle(seen(0, when=before_midnight))
    with pytest.raises(QuotaRefusal) as refused:
        await ledger.reserve()
    assert refused.value.status.resets_in == pytest.approx(10, abs=0.01)
    await anyio.sleep(refused.value.status.resets_in + 0.5)
    await ledger.reserve()  # a new quota day: unknown until the next header
    assert ledger.status().remaining is None


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
