"""Hostile servers: pauses and deadlines stay bounded, every failure is typed and bounded.

Each server here is a scripted ``httpx.MockTransport`` (independent of the simulator):
the client under test sees exactly the bytes a broken or malicious server would send.
Time is virtual (looptime); memory bounds are asserted as bytes pulled from the server.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from conftest import API_KEY, BASE_URL
from esploro_async import EsploroClient
from esploro_async.errors import (
    ConfigurationError,
    EsploroError,
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    ServerError,
)
from esploro_async.governance import Governance
from esploro_async.governance.adaptive import MAX_PAUSE, AdaptiveRate, RatePolicy
from esploro_async.retry import RetryPolicy
from esploro_async.session.base import DEFAULT_MAX_RESPONSE_BYTES
from esploro_async.session.bodies import parse_body
from esploro_async.session.paths import has_dot_segment

pytestmark = pytest.mark.looptime

MiB = 1 << 20
THROTTLED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">'
    "<errorsExist>true</errorsExist><errorList><error><errorCode>PER_SECOND_THRESHOLD"
    "</errorCode><errorMessage>HTTP requests are more than allowed per second</errorMessage>"
    "</error></errorList></web_service_result>"
)

Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """Answers each request with the next scripted handler (then ``200 {"ok": true}``).

    ``arrivals`` holds the virtual time of every request; ``served`` counts the body
    bytes the client pulled from streamed answers.
    """

    def __init__(self, *script: Handler) -> None:
        self.script = list(script)
        self.arrivals: list[float] = []
        self.served = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.arrivals.append(anyio.current_time())
        if self.script:
            return self.script.pop(0)(request)
        return httpx.Response(200, json={"ok": True})

    async def count(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.served += len(chunk)
            yield chunk


def client(server: Server, **kwargs: Any) -> EsploroClient:
    return EsploroClient(API_KEY, base_url=BASE_URL, transport=server.transport(), **kwargs)


def throttled(retry_after: str) -> Handler:
    return lambda request: httpx.Response(
        429,
        content=THROTTLED_XML.encode(),
        headers={"Content-Type": "application/xml", "Retry-After": retry_after},
    )


# --- §4 pauses are bounded ------------------------------------------------------------


async def test_retry_after_beyond_the_cap_fails_that_request_and_pauses_no_one() -> None:
    server = Server(throttled("1e6"))
    async with client(server) as c:
        with pytest.raises(RateLimitError):
            await c.request("GET", "researchers")
        failed_at = anyio.current_time()
        with anyio.fail_after(10):  # today: every later request waits 1e6 s
            response = await c.request("GET", "researchers")
    assert response.json() == {"ok": True}
    assert server.arrivals[1] - failed_at <= RatePolicy().pause + 0.01
    assert c.governance.snapshot().paused_until_in <= RatePolicy().pause


@pytest.mark.parametrize(
    "value", ["inf", "1e400", "nan", "-1", "-1e400", "soon", "Fri, 31 Dec 9999 23:59:59 GMT"]
)
async def test_broken_retry_after_pauses_only_for_the_default_pause(value: str) -> None:
    server = Server(throttled(value))
    async with client(server) as c:
        with anyio.fail_after(10):  # today: inf stalls forever; 1e400 raises OverflowError
            response = await c.request("GET", "researchers")
    assert response.attempts == 2
    waited = server.arrivals[1] - server.arrivals[0]
    pause = RatePolicy().first_pause  # an isolated 429
    assert pause - 0.01 <= waited <= pause + 0.1


async def test_retry_after_within_the_cap_pauses_every_sender() -> None:
    server = Server(throttled("30"))
    async with client(server) as c:
        response = await c.request("GET", "researchers")
    assert response.attempts == 2
    assert server.arrivals[1] - server.arrivals[0] == pytest.approx(30.0, abs=0.1)


async def test_a_retry_after_date_counts_from_the_gateways_date_not_the_hosts() -> None:
    def throttled_at_gateway_time(request: httpx.Request) -> httpx.Response:
        response = throttled("Wed, 01 Jan 2031 00:00:30 GMT")(request)
        response.headers["Date"] = "Wed, 01 Jan 2031 00:00:00 GMT"  # the host is years away
        return response

    server = Server(throttled_at_gateway_time)
    async with client(server) as c:
        response = await c.request("GET", "researchers")
    assert response.attempts == 2
    assert server.arrivals[1] - server.arrivals[0] == pytest.approx(30.0, abs=0.1)


@pytest.mark.parametrize("retry_after", [math.inf, 1e12, -5.0, math.nan])
async def test_governance_pause_is_bounded_whoever_reports_the_429(retry_after: float) -> None:
    governance = Governance.local()
    await governance.rate.throttled(retry_after)
    paused_until = governance.rate.paused_until()
    assert paused_until is not None
    assert paused_until - anyio.current_time() <= MAX_PAUSE
    deadline = AdaptiveRate(RatePolicy()).throttled(100.0, retry_after)
    assert 100.0 + RatePolicy().first_pause <= deadline <= 100.0 + MAX_PAUSE  # isolated


# --- §4 every attempt has an overall deadline ------------------------------------------


def trickling(server: Server, body: bytes, interval: float) -> Handler:
    async def one_byte_at_a_time() -> AsyncIterator[bytes]:
        for i in range(len(body)):
            await anyio.sleep(interval)
            yield body[i : i + 1]

    return lambda request: httpx.Response(
        200,
        headers={"Content-Type": "application/json"},
        content=server.count(one_byte_at_a_time()),
    )


async def test_a_trickling_server_times_out_within_the_timeout() -> None:
    server = Server()
    server.script.append(trickling(server, json.dumps({"pad": "x" * 10_000}).encode(), 0.5))
    async with client(server, timeout=5.0, retry=RetryPolicy.none()) as c:
        started = anyio.current_time()
        with pytest.raises(RequestTimeoutError, match="deadline"):
            await c.request("GET", "researchers")
    assert anyio.current_time() - started <= 5.0 + 0.01
    assert server.served <= 11  # a byte every 0.5 s for 5 s


async def test_the_default_deadline_is_the_read_timeout() -> None:
    server = Server()
    server.script.append(trickling(server, b'{"a": "' + b"x" * 1000 + b'"}', 0.5))
    async with client(server, retry=RetryPolicy.none()) as c:
        started = anyio.current_time()
        with pytest.raises(RequestTimeoutError):
            await c.request("GET", "researchers")
    assert anyio.current_time() - started == pytest.approx(60.0, abs=0.01)


async def test_a_per_request_timeout_sets_that_requests_deadline() -> None:
    server = Server()
    server.script.append(trickling(server, b'{"a": "' + b"x" * 1000 + b'"}', 0.5))
    async with client(server, retry=RetryPolicy.none()) as c:
        started = anyio.current_time()
        with pytest.raises(RequestTimeoutError, match="within 3 s"):
            await c.request("GET", "researchers", timeout=3.0)
    assert anyio.current_time() - started == pytest.approx(3.0, abs=0.01)


async def test_a_trickled_get_is_retried_and_succeeds() -> None:
    server = Server()
    server.script.append(trickling(server, b'{"ok": true, "pad": "' + b"x" * 100 + b'"}', 0.5))
    async with client(server, timeout=5.0) as c:
        response = await c.request("GET", "researchers")
    assert response.json() == {"ok": True}
    assert response.attempts == 2


# --- §5 bodies are bounded ---------------------------------------------------------------


def streamed(server: Server, chunks: AsyncIterator[bytes], **headers: str) -> Handler:
    return lambda request: httpx.Response(200, headers=headers, content=server.count(chunks))


async def spaces(prefix: bytes, size: int) -> AsyncIterator[bytes]:
    block = b" " * MiB
    yield prefix
    left = size - len(prefix)
    while left > 0:
        yield block[: min(left, MiB)]
        left -= MiB


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def gzip_of(prefix: bytes, size: int) -> AsyncIterator[bytes]:
    gz = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    async for chunk in spaces(prefix, size):
        out = gz.compress(chunk)
        if out:
            yield out
    yield gz.flush()


async def test_a_100_mb_body_is_refused_after_the_limit() -> None:
    server = Server()
    server.script.append(
        streamed(server, spaces(b'{"a": "', 100_000_000), **{"Content-Type": "application/json"})
    )
    async with client(server, retry=RetryPolicy.none()) as c:
        with pytest.raises(ResponseFormatError, match="max_response_bytes"):
            await c.request("GET", "researchers")
    assert DEFAULT_MAX_RESPONSE_BYTES < server.served <= DEFAULT_MAX_RESPONSE_BYTES + MiB


@pytest.mark.parametrize("inflated", [128 * MiB, 1 << 30])
async def test_a_gzip_bomb_is_refused_without_inflating_it(inflated: int) -> None:
    server = Server()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    server.script.append(streamed(server, gzip_of(b'{"a": 1}', inflated), **headers))
    async with client(server, retry=RetryPolicy.none()) as c:
        with pytest.raises(ResponseFormatError, match="max_response_bytes"):
            await c.request("GET", "researchers")
    # deflate inflates at most ~1032:1; the body was read no further than the limit needs
    assert server.served <= DEFAULT_MAX_RESPONSE_BYTES // 1000 + MiB


async def test_a_body_within_the_limit_is_read_whole_gzip_or_not() -> None:
    server = Server()
    body = json.dumps({"records": ["x" * 100] * 1000}).encode()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}

    server.script.append(
        streamed(
            server,
            once(zlib.compress(body)),
            **{"Content-Type": "application/json", "Content-Encoding": "deflate"},
        )
    )
    server.script.append(streamed(server, gzip_of(body, len(body)), **headers))
    async with client(server, max_response_bytes=len(body)) as c:
        deflated = await c.request("GET", "researchers")
        gzipped = await c.request("GET", "researchers")
    assert deflated.json() == gzipped.json() == json.loads(body)


async def test_a_body_encoded_twice_in_two_headers_is_decoded_twice() -> None:
    body = json.dumps({"records": ["x" * 100] * 10}).encode()
    twice = gzip.compress(gzip.compress(body))
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
        ("Content-Encoding", "gzip"),
    ]
    server = Server()
    server.script.append(
        lambda request: httpx.Response(200, headers=headers, content=server.count(once(twice)))
    )
    async with client(server, retry=RetryPolicy.none()) as c:
        assert (await c.request("GET", "researchers")).json() == json.loads(body)


async def test_a_corrupt_gzip_body_is_a_format_error() -> None:
    server = Server()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    server.script.append(streamed(server, once(b"\x1f\x8b garbage"), **headers))
    async with client(server, retry=RetryPolicy.none()) as c:
        with pytest.raises(ResponseFormatError, match="corrupt"):
            await c.request("GET", "researchers")


async def test_a_declared_length_beyond_the_limit_is_refused_unread() -> None:
    server = Server(lambda request: httpx.Response(500, content=b"x" * (2 * MiB)))
    async with client(server, max_response_bytes=MiB, retry=RetryPolicy.none()) as c:
        with pytest.raises(ServerError, match="max_response_bytes"):
            await c.request("GET", "researchers")


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1"])
def test_max_response_bytes_must_be_a_positive_int(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        EsploroClient(API_KEY, base_url=BASE_URL, max_response_bytes=value)


# --- §5 every failure is typed -------------------------------------------------------------


def body(content: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    sent = {"Content-Type": "application/json", **(headers or {})}
    return lambda request: httpx.Response(status, content=content, headers=sent)


@pytest.mark.parametrize("depth", [100_000, 2_000, 600, 101])
async def test_deeply_nested_json_is_a_format_error(depth: int) -> None:
    server = Server(body(b"[" * depth + b"]" * depth))
    async with client(server, retry=RetryPolicy.none()) as c:
        with pytest.raises(ResponseFormatError, match=r"nested|RecursionError"):
            await c.request("GET", "researchers")


async def test_deeply_nested_xml_is_a_format_error() -> None:
    depth = 5_000
    xml = b"<a>" * depth + b"</a>" * depth
    server = Server(body(xml, headers={"Content-Type": "application/xml"}))
    async with client(server, format="xml", retry=RetryPolicy.none()) as c:
        with pytest.raises(ResponseFormatError, match="nested"):
            await c.request("GET", "researchers")


async def test_ordinary_nesting_and_brackets_in_strings_are_read() -> None:
    data = {"a": [[[[{"b": ']]]]}}}}\\\\"[[[['}]]]], "c": "[" * 500, "d": {"e": [1, [2, [3]]]}}
    text = json.dumps(data).encode()
    server = Server(body(text), body(b"[" * 100 + b"]" * 100))
    async with client(server) as c:
        assert (await c.request("GET", "researchers")).json() == data
        assert (await c.request("GET", "researchers")).json() is not None


ABSURD = {
    "X-Exl-Api-Remaining": ["1e400", "-1e400", "nan", "9" * 40, "-5", "many"],
    "Date": [
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 2026 99999999999999999999:00:00 GMT",
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",
    ],
}


@pytest.mark.parametrize(
    ("header", "value"), [(h, v) for h, values in ABSURD.items() for v in values]
)
async def test_absurd_gateway_headers_are_ignored(header: str, value: str) -> None:
    server = Server(body(b'{"ok": true}', headers={header: value}), body(b'{"ok": true}'))
    async with client(server) as c:
        first = await c.request("GET", "researchers")  # today: OverflowError
        second = await c.request("GET", "researchers")
        snapshot = c.governance.snapshot()
    assert first.json() == second.json() == {"ok": True}
    assert first.quota_remaining is None
    assert snapshot.quota_remaining is None  # an absurd count is not a quota
    assert snapshot.quota_resets_at.year < 9999


async def test_an_html_page_with_status_200_is_retried_for_a_get() -> None:
    page = b"<!DOCTYPE html><html><body>Please sign in</body></html>"
    server = Server(body(page, headers={"Content-Type": "text/html"}))
    async with client(server) as c:
        response = await c.request("GET", "researchers")
    assert response.json() == {"ok": True}
    assert response.attempts == 2


async def test_an_html_page_with_status_200_fails_a_post_without_replaying_it() -> None:
    page = b"<html><body>Maintenance</body></html>"
    server = Server(body(page, headers={"Content-Type": "text/html; charset=utf-8"}))
    async with client(server) as c:
        with pytest.raises(ResponseFormatError, match="HTML page") as caught:
            await c.request("POST", "assets", json={"records": []})
    assert caught.value.status_code == 200
    assert len(server.arrivals) == 1


@pytest.mark.parametrize(
    "key", ["l8xx-clé-0123", "l8xx\x00abc", "l8xx\tabc", "l8xx abc", "l8\u200bxx"]
)
def test_an_api_key_a_header_cannot_carry_is_refused_at_construction(key: str) -> None:
    with pytest.raises(ConfigurationError, match="API key contains") as caught:
        EsploroClient(key, base_url=BASE_URL)
    assert key.strip() not in str(caught.value)
    assert "l8xx" not in str(caught.value)


async def test_long_error_messages_are_truncated_in_exceptions_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    huge = "A" * 100_000
    error = {
        "errorsExist": True,
        "errorList": {"error": [{"errorCode": "X", "errorMessage": huge}] * 100},
    }
    server = Server(*[body(json.dumps(error).encode(), 500)] * 2)
    caplog.set_level(logging.INFO, logger="esploro_async")
    async with client(server, retry=RetryPolicy(max_attempts=2)) as c:
        with pytest.raises(ServerError) as caught:
            await c.request("GET", "researchers")
    assert len(str(caught.value)) < 2_000
    assert "more characters" in str(caught.value)
    kept = caught.value.errors
    assert 1 <= len(kept) <= 20
    assert all((e.message or "").startswith("AAAA") and len(e.message or "") < 1_000 for e in kept)
    assert caplog.records
    assert all(len(r.getMessage()) < 2_000 for r in caplog.records)


async def test_every_hostile_answer_raises_an_esploro_error() -> None:
    """One request per hostile answer, none retried: each failure is typed."""
    hostile: list[Handler] = [
        body(b"[" * 50_000 + b"]" * 50_000),
        body(b"<html><body>hi</body></html>", headers={"Content-Type": "text/html"}),
        body(b"{broken", headers={"X-Exl-Api-Remaining": "1e400", "Date": "31 Dec 9999"}),
        throttled("inf"),
    ]
    for handler in hostile:
        server = Server(handler)
        async with client(server, retry=RetryPolicy.none()) as c:
            with pytest.raises(EsploroError):
                await c.request("GET", "researchers")


@pytest.mark.parametrize(
    ("content", "content_type", "kind", "valid"),
    [
        (b'{"a": [1]}', "application/json;charset=UTF-8", "json", True),
        (b"[1, 2]", "Application/JSON", "json", True),
        (b'{"a": 1}', "text/html; charset=utf-8", "html", True),  # the type is trusted first
        (b'{"a": 1}', "text/json+html", "html", True),
        (b"{broken", "application/json", "json", False),
        (b'  {"a": 1}', "application/json", "json", True),
        (b'{"a": 1}', "", "json", True),
        (b'{"a": 1}', "application/xml", "xml", False),
        (b"", "application/json", "empty", True),
    ],
)
def test_a_body_is_read_as_its_type_says_then_as_it_looks(
    content: bytes, content_type: str, kind: str, valid: bool
) -> None:
    parsed = parse_body(content, content_type)
    assert (parsed.kind, parsed.valid) == (kind, valid)


@pytest.mark.parametrize(
    ("path", "dotted"),
    [
        ("/esploro/v1/researchers", False),
        ("/esploro/v1/researchers/a.b", False),
        ("/esploro/v1/researchers/a%20b", False),
        ("/esploro/v1/researchers/../conf", True),
        ("/esploro/v1/researchers/%2e%2E/conf", True),
        ("/esploro/v1/researchers/%252e", True),
        ("/esploro/v1/researchers/a%2F..%2Fb", True),
    ],
)
def test_dot_segments_are_found_raw_or_encoded(path: str, dotted: bool) -> None:
    assert has_dot_segment(path) is dotted
