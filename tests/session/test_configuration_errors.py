"""Impossible settings raise `ConfigurationError` when the client is built, before any request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from esploro_async import ConfigurationError, EsploroClient, Governance, RatePolicy, RetryPolicy


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: EsploroClient("k", safety_margin=float("nan")), "safety_margin"),
        (lambda: EsploroClient("k", safety_margin=-0.1), "safety_margin"),
        (lambda: EsploroClient("k", rate_limit=0), "rate_limit"),
        (lambda: EsploroClient("k", daily_reserve=-1), "daily_reserve"),
        (lambda: EsploroClient("k", max_in_flight=0), "max_in_flight"),
        (lambda: EsploroClient("k", daily_reserve=10, batch_reserve=5), "batch_reserve"),
        (lambda: EsploroClient("k", on_quota_exhausted="sleep"), "on_quota_exhausted"),  # type: ignore[arg-type]
        (lambda: Governance.local(rate_policy=RatePolicy(decrease=2.0)), "decrease"),
        (lambda: RetryPolicy(max_attempts=0), "max_attempts"),
        (lambda: RetryPolicy(backoff_initial=-1), "backoff_initial"),
    ],
)
def test_an_impossible_setting_is_a_configuration_error(
    build: Callable[[], object], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        build()
