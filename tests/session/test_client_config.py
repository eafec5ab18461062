"""Configuration, headers and the secrecy of the API key."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import httpx
import pytest
import respx

from conftest import API_KEY, BASE_URL, ClientFactory, make_gateway
from esploro_async import (
    REGIONS,
    ConfigurationError,
    EsploroClient,
    EsploroError,
    Governance,
    NotFoundError,
    RetryPolicy,
)
from esploro_async.session.config import Format
from esploro_async.testing import Fault, FaultKind

pytestmark = pytest.mark.looptime


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESPLORO_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ESPLORO_API_KEY"):
        EsploroClient(base_url=BASE_URL)


async def test_key_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESPLORO_API_KEY", API_KEY)
    async with respx.mock(base_url=BASE_URL) as mock:
        route = mock.get("/esploro/v1/researchers/test").mock(return_value=httpx.Response(200))
        async with EsploroClient(base_url=BASE_URL) as client:
            await client.request("GET", "researchers/test")
    assert route.calls.last.request.headers["Authorization"] == f"apikey {API_KEY}"


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("na", "https://api-na.hosted.exlibrisgroup.com"),
        ("eu", "https://api-eu.hosted.exlibrisgroup.com"),
        ("aps", "https://api-aps.hosted.exlibrisgroup.com"),
        ("cn", "https://api-cn.hosted.exlibrisgroup.com.cn"),
    ],
)
async def test_regions(region: str, url: str) -> None:
    async with EsploroClient(API_KEY, region=region) as client:
        assert client.base_url == url
    assert set(REGIONS) == {"na", "eu", "ap", "aps", "ca", "cn"}


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api-na.hosted.exlibrisgroup.com",
        "http://10.0.0.5:8080",
        "ftp://x",
        "https://x/?apikey=1",
    ],
)
def test_unsafe_base_urls_are_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError):
        EsploroClient(API_KEY, base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "http://sim.localhost"],
)
async def test_plain_http_is_allowed_on_loopback(base_url: str) -> None:
    async with EsploroClient(API_KEY, base_url=base_url) as client:
        assert client.base_url == base_url


def test_unknown_region_and_conflicting_arguments() -> None:
    with pytest.raises(ConfigurationError, match="unknown region"):
        EsploroClient(API_KEY, region="mars")
    with pytest.raises(ConfigurationError, match="region or base_url"):
        EsploroClient(API_KEY, region="eu", base_url="https://x.example")
    with pytest.raises(ConfigurationError, match="governance"):
        EsploroClient(API_KEY, governance=Governance.local(), rate_limit=10)


async def test_headers_format_and_lang() -> None:
    async with respx.mock(base_url=BASE_URL) as mock:
        route = mock.route(path__startswith="/esploro/v1/").mock(return_value=httpx.Response(200))
        async with EsploroClient(API_KEY, base_url=BASE_URL, lang="fr") as client:
            await client.request("GET", "researchers", params={"limit": 10, "offset": None})
            await client.request("GET", "/esploro/v1/assets/1", format="xml")
            await client.request("POST", "assets/1", content="<records/>", format="xml")
            await client.request("PUT", "researchers/a%20b", json={"primary_id": "a b"})
    first, xml_get, xml_post, put = (call.request for call in route.calls)
    assert first.headers["Accept"] == "application/json"
    assert first.url.params == httpx.QueryParams({"limit": "10", "lang": "fr"})
    assert xml_get.headers["Accept"] == "application/xml"
    assert xml_post.headers["Content-Type"] == "application/xml"
    assert put.headers["Content-Type"] == "application/json"
    assert put.content == b'{"primary_id": "a b"}'
    for request in (first, xml_get, xml_post, put):
        assert API_KEY not in str(request.url)
        assert request.headers["Authorization"] == f"apikey {API_KEY}"


_FIXED_HEADERS = ("user-agent", "accept", "accept-encoding", "authorization", "content-type")


async def _sent(fmt: Format, *, owned: bool) -> list[httpx.Request]:
    """The requests a client in ``fmt`` sends, with an httpx client of its own or given one."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    if owned:
        client = EsploroClient(API_KEY, base_url=BASE_URL, format=fmt, transport=transport)
    else:
        http = httpx.AsyncClient(transport=transport)
        client = EsploroClient(API_KEY, base_url=BASE_URL, format=fmt, http_client=http)
    async with client:
        await client.request("GET", "researchers")
        await client.request("GET", "researchers", format="json")
        await client.request("GET", "researchers", format="xml")
        await client.request("GET", "researchers", headers={"User-Agent": "portal/1"})
        await client.request("GET", "researchers", headers={"Authorization": "apikey other"})
        await client.request("POST", "assets", content="<records/>")
        await client.request("POST", "assets", content=b"{}", headers={"Content-Type": "x/y"})
        await client.request("PUT", "researchers/a", json={}, format="json")
    return sent


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_headers_are_the_same_with_an_owned_or_an_injected_http_client(fmt: Format) -> None:
    """An owned httpx client sends the fixed headers itself; what goes out is unchanged."""
    owned, injected = await _sent(fmt, owned=True), await _sent(fmt, owned=False)
    assert len(owned) == len(injected) == 8
    for mine, given in zip(owned, injected, strict=True):
        assert [mine.headers.get_list(h) for h in _FIXED_HEADERS] == [
            given.headers.get_list(h) for h in _FIXED_HEADERS
        ]
        assert mine.headers["Authorization"] == f"apikey {API_KEY}"
    accepts = [r.headers["Accept"] for r in owned[:3]]
    assert accepts == [f"application/{fmt}", "application/json", "application/xml"]
    assert owned[3].headers["User-Agent"] == "portal/1"
    assert owned[5].headers["Content-Type"] == f"application/{fmt}"
    assert owned[6].headers["Content-Type"] == "x/y"
    assert owned[7].headers["Content-Type"] == "application/json"


async def test_an_injected_http_client_is_used_and_not_closed() -> None:
    gateway = make_gateway()
    http = httpx.AsyncClient(transport=gateway.transport())
    async with EsploroClient(API_KEY, base_url=BASE_URL, http_client=http) as client:
        await client.request("GET", "researchers/test")
    assert not http.is_closed
    assert len(gateway.client_log()) == 1
    await http.aclose()


async def test_clients_share_governance_until_closed(make_client: ClientFactory) -> None:
    first = make_client()
    second = make_client(rate_limit=25, safety_margin="auto")  # the defaults, spelled out
    assert first.governance is second.governance
    other_key = make_client(api_key="a-different-institution")
    assert other_key.governance is not first.governance
    with pytest.raises(ConfigurationError) as refused:
        make_client(rate_limit=10)
    message = str(refused.value)
    # The one setting that differs, both values, and the ways out; not every setting.
    assert "rate_limit=10.0 (the open one: 25.0)" in message
    assert "safety_margin" not in message
    assert "max_in_flight" not in message
    assert "close the first client" in message
    assert "governance=" in message
    await first.aclose()
    await second.aclose()
    assert make_client(rate_limit=10).governance is not first.governance


async def test_the_key_never_appears_in_logs_errors_or_reprs(
    caplog: pytest.LogCaptureFixture, make_client: ClientFactory
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = make_gateway(
        faults=[
            Fault(FaultKind.RESET, processed=True, requests={1}),
            Fault(FaultKind.HTTP_500, requests={2}),
        ]
    )
    client = make_client(transport=gateway.transport(), retry=RetryPolicy(backoff_initial=0))
    seen: list[str] = [repr(client), str(client), repr(client.governance.snapshot())]
    await client.request("GET", "researchers/test")
    for _ in range(3):
        response = await client.request("GET", "researchers/test")
    seen.append(repr(response))
    with pytest.raises(EsploroError) as raised:  # the gateway has no researcher "x"
        await client.request("GET", "researchers/x")
    assert isinstance(raised.value, NotFoundError)
    seen += [str(raised.value), repr(raised.value), repr(raised.value.__dict__)]
    seen += [record.getMessage() for record in caplog.records]
    assert any("retrying" in text for text in seen)
    assert any("-> 200" in text for text in seen)
    for text in seen:
        assert API_KEY not in text
        assert API_KEY[5:15] not in text


async def test_closed_client_refuses_requests(make_client: ClientFactory) -> None:
    client = make_client()
    await client.aclose()
    await client.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await client.request("GET", "researchers/test")


async def test_quota_callbacks_and_snapshot(make_client: ClientFactory) -> None:
    gateway = make_gateway(
        quota_remaining=12, start=datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
    )
    client = make_client(transport=gateway.transport())
    alerts: list[int] = []
    client.governance.on_quota_below(10, lambda event: alerts.append(event.remaining))  # type: ignore[attr-defined]
    for _ in range(5):
        await client.request("GET", "researchers/test")
    assert alerts == [9]  # once per quota day, not on every response below
    snapshot = client.governance.snapshot()
    assert snapshot.quota_remaining == 7
    assert snapshot.requests == 5
    assert snapshot.in_flight == 0
    assert snapshot.rate_limit == 25
    assert snapshot.effective_rate == pytest.approx(22.727, abs=1e-3)


async def test_an_unclosed_client_releases_its_governance_when_collected(
    make_client: ClientFactory,
) -> None:
    import gc

    lost = EsploroClient(API_KEY, base_url=BASE_URL, rate_limit=5)
    del lost
    gc.collect()
    assert make_client(rate_limit=10).governance.snapshot().rate_limit == 10


async def test_a_header_name_in_any_case_never_doubles_a_fixed_header() -> None:
    """``accept``/``authorization`` in lower case cannot add a second value to ours."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    async with EsploroClient(API_KEY, base_url=BASE_URL, transport=transport) as client:
        await client.request(
            "GET",
            "researchers",
            headers={"accept": "text/html", "authorization": "apikey other", "user-agent": "p/1"},
        )
        await client.request("POST", "assets", content=b"{}", headers={"content-type": "x/y"})
        await client.request("PUT", "assets/a", json={}, headers={"content-type": "x/y"})
    first, second, third = sent
    assert first.headers.get_list("Accept") == ["application/json"]
    assert first.headers.get_list("Authorization") == [f"apikey {API_KEY}"]
    assert first.headers.get_list("User-Agent") == ["p/1"]
    assert second.headers.get_list("Content-Type") == ["x/y"]
    assert third.headers.get_list("Content-Type") == ["application/json"]  # the body is JSON
