"""`GovernanceSettings`: one value, validated once, behind the client and both stores."""

from __future__ import annotations

from datetime import time
from typing import Any

import attrs
import pytest

from esploro_async import ConfigurationError, EsploroClient, Governance, RatePolicy
from esploro_async.governance import AdaptiveRate, GovernanceSettings

BASE_URL = "http://esploro.localhost"


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("rate_limit", 0, "(0, inf)"),
        ("rate_limit", "fast", "(0, inf)"),
        ("rate_limit", float("nan"), "(0, inf)"),
        ("rate_limit", 1000, "(0, 25]"),
        ("safety_margin", -0.1, "[0, 1] or 'auto'"),
        ("safety_margin", "fast", "[0, 1] or 'auto'"),
        ("max_in_flight", 2.5, "whole number >= 1"),
        ("max_in_flight", 0, "whole number >= 1"),
        ("max_in_flight", True, "whole number >= 1"),
        ("daily_reserve", -1, "whole number >= 0"),
        ("interactive_slots", 64, "[0, 63]"),
        ("on_quota_exhausted", "sleep", "'raise' or 'wait'"),
        ("quota_reset_time", time(0), "timezone-aware"),
        ("decrease", 2.0, "(0, 1]"),
        ("first_pause", -1, "[0, inf)"),
        ("jitter_share", 0, "(0, 1]"),
        ("adaptive", "yes", "True or False"),
    ],
)
def test_a_bad_setting_names_the_field_the_value_and_what_is_allowed(
    field: str, value: Any, allowed: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        GovernanceSettings(**{field: value})
    message = str(refused.value)
    assert field in message
    assert repr(value if value != 1000 else 1000.0) in message
    assert allowed in message


@pytest.mark.parametrize(
    ("option", "value"),
    [("max_in_flight", 2.5), ("rate_limit", 1000), ("safety_margin", "abc"), ("rate_limit", "1")],
)
def test_the_client_refuses_the_same_values_with_the_same_error(option: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=option):
        EsploroClient("k", base_url=BASE_URL, **{option: value})


def test_above_the_gateway_threshold_needs_an_explicit_opt_in() -> None:
    with pytest.raises(ConfigurationError, match="allow_above_threshold=True"):
        GovernanceSettings(rate_limit=200)
    assert GovernanceSettings(rate_limit=200, allow_above_threshold=True).rate_limit == 200.0


async def test_one_request_in_flight_is_a_valid_setting() -> None:
    settings = GovernanceSettings(max_in_flight=1)
    assert settings.held_back_slots == 0  # no slot to hold back: batch work may use it
    async with EsploroClient("k", base_url=BASE_URL, max_in_flight=1) as client:
        assert client.governance.max_in_flight == 1


def test_a_rate_below_the_floor_never_rises_after_a_429() -> None:
    aimd = AdaptiveRate(GovernanceSettings(rate_limit=0.5).rate_policy())
    for second in range(0, 100, 3):
        aimd.throttled(float(second), None)
        aimd.interval(second + 1.0)
        assert aimd.rate <= 0.5


def test_every_default_is_the_one_rate_policy_documents() -> None:
    assert GovernanceSettings().safety_margin == "auto"
    assert GovernanceSettings().rate_policy() == RatePolicy.auto()
    fixed = GovernanceSettings(safety_margin=0.10).rate_policy()
    assert fixed == RatePolicy()  # the margin "auto" starts from is RatePolicy's default


def test_rate_policy_beside_a_contradicting_setting_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"contradicts rate_policy\.rate_limit"):
        GovernanceSettings.build(RatePolicy(rate_limit=20), rate_limit=10)
    built = GovernanceSettings.build(RatePolicy(first_pause=0.3), daily_reserve=5)
    assert (built.first_pause, built.daily_reserve) == (0.3, 5)


async def test_the_client_options_map_onto_one_settings_value() -> None:
    async with EsploroClient(
        "k", base_url=BASE_URL, safety_margin="auto", daily_reserve=7, max_in_flight=8
    ) as client:
        governance = client.governance
        assert isinstance(governance, Governance)
        expected = GovernanceSettings(safety_margin="auto", daily_reserve=7, max_in_flight=8)
        assert governance.settings == expected
        assert governance.quota.status().reserve == 7
        assert governance.rate.current_margin() == pytest.approx(0.10)


def test_a_store_whose_ledger_disagrees_with_the_settings_is_refused() -> None:
    local = Governance.local(daily_reserve=3)
    with pytest.raises(ConfigurationError, match="daily_reserve=4"):
        Governance(rate=local.rate, quota=local.quota, settings=GovernanceSettings(daily_reserve=4))


def test_settings_are_frozen_and_compare_by_value() -> None:
    settings = GovernanceSettings(daily_reserve=5)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        settings.daily_reserve = 6  # type: ignore[misc]
    assert settings == GovernanceSettings(daily_reserve=5)
    assert hash(settings) == hash(GovernanceSettings(daily_reserve=5))
