"""Settings a new user gets wrong: refused when the client is created, naming what is wrong.

Each of these used to be accepted (and every request failed later), or failed with an
untyped error, or did something else than asked.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from esploro_async import ConfigurationError, EsploroClient, RetryPolicy
from esploro_async.pagination import Checkpoint
from esploro_async.testing import SIM_API_KEY, SimulatedGateway, SyntheticInstitution

LOOPBACK = "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": "abc"}, "timeout"),
        ({"timeout": httpx.Timeout(5.0, read=-1)}, "timeout.read"),
        ({"region": ""}, "region"),
        ({"region": "mars"}, "region"),
        ({"base_url": "http://127.0.0.1:99999"}, "port"),
        ({"base_url": "https://user:pw@api-na.hosted.exlibrisgroup.com"}, "password"),
        ({"max_in_flight": 2.5}, "max_in_flight"),
        ({"rate_limit": 1000}, "allow_above_threshold"),
    ],
)
def test_a_client_with_an_unusable_setting_is_not_created(
    options: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        EsploroClient("k", **options)


def test_a_retry_deadline_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="deadline"):
        RetryPolicy(deadline=-1)
    assert RetryPolicy(deadline=None).deadline is None


def test_the_password_of_a_refused_url_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as refused:
        EsploroClient("k", base_url="https://user:s3cret@api-na.hosted.exlibrisgroup.com")
    assert "s3cret" not in str(refused.value)


async def test_a_base_url_with_the_api_root_reaches_the_api_once() -> None:
    gw = SimulatedGateway(SyntheticInstitution(seed=1, researchers=3, assets=1))
    async with EsploroClient(
        SIM_API_KEY, base_url=LOOPBACK + "/esploro/v1/", transport=gw.transport()
    ) as client:
        assert client.base_url == LOOPBACK
        response = await client.request("GET", "researchers", params={"limit": 1})
    assert response.status_code == 200
    assert gw.log[-1].path.startswith("/esploro/v1/researchers")


async def test_report_limit_out_of_range_is_a_configuration_error() -> None:
    async with EsploroClient("k", base_url=LOOPBACK) as client:
        with pytest.raises(ConfigurationError, match=r"limit must be a whole number in \[25, "):
            client.analytics.report("/shared/x", limit=10)


def _checkpoint(**changes: object) -> str:
    good = Checkpoint("/esploro/v1/researchers", (), "researcher", 100, offset=200, delivered=200)
    data = {**good.to_dict(), **changes}
    return json.dumps(data)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"page_size": 0}, "page_size must be a whole number >= 1, got 0"),
        ({"offset": -100}, "offset must be a whole number >= 0, got -100"),
        ({"delivered": -1}, "delivered"),
        ({"ahead": [-5]}, "ahead"),
    ],
)
def test_an_impossible_checkpoint_is_refused_saying_what_is_wrong(
    changes: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        Checkpoint.from_json(_checkpoint(**changes))
    assert Checkpoint.from_json(_checkpoint()).offset == 200
