"""Every way into and out of one request: what is raised, what is retried, what governance learns.

The transport here is scripted: each call takes the next step (an exception, a hang or a
response), so the exact number of attempts is known. Governance is the default one, watched
through a wrapper that keeps what each attempt recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from conftest import API_KEY, BASE_URL
from esploro_async import (
    APIError,
    ConfigurationError,
    ConnectionFailedError,
    ConnectionLostError,
    EsploroClient,
    Governance,
    GovernanceSnapshot,
    NotFoundError,
    RequestTimeoutError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
)
from esploro_async.governance import Attempt, Lane, OnQuotaExhausted, ResponseInfo

pytestmark = pytest.mark.looptime

OK = httpx.Response(200, json={"ok": True}, headers={"X-Exl-Api-Remaining": "900"})
HANG = "hang"


class _RecordingSlot:
    def __init__(self, inner: Attempt, records: list[ResponseInfo]) -> None:
        self._inner = inner
        self._records = records

    async def record(self, info: ResponseInfo) -> None:
        self._records.append(info)
        await self._inner.record(info)


class Watched:
    """The default governance, keeping each attempt's record and how each attempt ended."""

    def __init__(self) -> None:
        self._inner = Governance.local(max_in_flight=4)
        self.records: list[ResponseInfo] = []
        self.entered: list[tuple[bool, Lane]] = []
        self.left_by: list[str | None] = []

    @property
    def max_in_flight(self) -> int:
        return self._inner.max_in_flight

    @property
    def on_quota_exhausted(self) -> OnQuotaExhausted:
        return self._inner.on_quota_exhausted

    def attempt(
        self, *, retry: bool = False, lane: Lane = "batch"
    ) -> AbstractAsyncContextManager[Attempt]:
        return self._attempt(retry, lane)

    @asynccontextmanager
    async def _attempt(self, retry: bool, lane: Lane) -> AsyncIterator[Attempt]:
        self.entered.append((retry, lane))
        try:
            async with self._inner.attempt(retry=retry, lane=lane) as slot:
                yield _RecordingSlot(slot, self.records)
        except BaseException as exc:
            self.left_by.append(type(exc).__name__)
            raise
        self.left_by.append(None)

    def snapshot(self) -> GovernanceSnapshot:
        return self._inner.snapshot()

    async def aclose(self) -> None:
        await self._inner.aclose()


class Script:
    """A transport answering call ``n`` with ``steps[n]`` (the last step repeats)."""

    def __init__(self, *steps: Any) -> None:
        self.steps: Sequence[Any] = steps
        self.calls: list[httpx.Request] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        step = self.steps[min(len(self.calls), len(self.steps)) - 1]
        if step == HANG:
            await anyio.sleep(3600)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure")
        assert isinstance(step, httpx.Response)
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)


def client_for(script: Script, governance: Watched, **options: Any) -> EsploroClient:
    options.setdefault("retry", RetryPolicy(max_attempts=3))
    return EsploroClient(
        API_KEY,
        base_url=BASE_URL,
        transport=httpx.MockTransport(script.handle),
        governance=governance,
        **options,
    )


# exception raised by the transport -> error, retried after it for a POST, request sent
TRANSPORT_FAILURES = [
    pytest.param(httpx.ConnectError, ConnectionFailedError, True, False, id="connect-error"),
    pytest.param(httpx.ConnectTimeout, ConnectionFailedError, True, False, id="connect-timeout"),
    pytest.param(httpx.PoolTimeout, ConnectionFailedError, True, False, id="pool-timeout"),
    pytest.param(httpx.ReadTimeout, RequestTimeoutError, False, True, id="read-timeout"),
    pytest.param(httpx.WriteTimeout, RequestTimeoutError, False, True, id="write-timeout"),
    pytest.param(httpx.ReadError, ConnectionLostError, False, True, id="read-error"),
    pytest.param(httpx.WriteError, ConnectionLostError, False, True, id="write-error"),
    pytest.param(
        httpx.RemoteProtocolError, ConnectionLostError, False, True, id="remote-protocol-error"
    ),
]


@pytest.mark.parametrize(("failure", "error", "post_retried", "sent"), TRANSPORT_FAILURES)
async def test_a_transport_failure_is_one_typed_error_retried_as_its_kind_allows(
    failure: type[Exception], error: type[Exception], post_retried: bool, sent: bool
) -> None:
    for method, retried in (("GET", True), ("POST", post_retried)):
        script, governance = Script(failure, OK), Watched()
        async with client_for(script, governance) as client:
            if retried:
                response = await client.request(method, "researchers", json={"a": 1})
                assert response.attempts == 2
                assert governance.entered == [(False, "interactive"), (True, "interactive")]
            else:
                with pytest.raises(
                    error, match=f"{method} /esploro/v1/researchers: {failure.__name__}"
                ):
                    await client.request(method, "researchers", json={"a": 1})
                assert len(script.calls) == 1
        assert governance.records[0] == ResponseInfo(status_code=None, sent=sent)
        assert governance.left_by == [None] * len(script.calls)


@pytest.mark.parametrize("failure", [httpx.UnsupportedProtocol, httpx.ProxyError])
async def test_a_transport_that_cannot_reach_the_gateway_is_a_configuration_error(
    failure: type[Exception],
) -> None:
    script, governance = Script(failure, OK), Watched()
    async with client_for(script, governance) as client:
        with pytest.raises(ConfigurationError, match=failure.__name__):
            await client.request("GET", "researchers")
    assert len(script.calls) == 1
    assert governance.records == [ResponseInfo(status_code=None, sent=False)]
    assert governance.left_by == ["ConfigurationError"]


async def test_the_attempt_deadline_ends_an_attempt_the_transport_never_ends() -> None:
    script, governance = Script(HANG, OK), Watched()
    async with client_for(script, governance, timeout=5.0) as client:
        with pytest.raises(RequestTimeoutError, match="within 5 s"):
            await client.request("POST", "researchers", json={})
        began = anyio.current_time()
        assert (await client.request("GET", "researchers")).attempts == 1
        assert anyio.current_time() - began == pytest.approx(0.0, abs=1e-3)
    assert len(script.calls) == 2
    assert governance.records[0] == ResponseInfo(status_code=None)


async def test_a_get_past_its_deadline_is_retried() -> None:
    script, governance = Script(HANG, OK), Watched()
    async with client_for(script, governance) as client:
        response = await client.request("GET", "researchers", timeout=2.0)
    assert response.attempts == 2
    assert governance.records[0] == ResponseInfo(status_code=None)


@pytest.mark.parametrize(
    ("method", "idempotent", "retried"),
    [("POST", True, True), ("GET", False, False), ("DELETE", None, True), ("POST", None, False)],
)
async def test_idempotent_decides_a_retry_after_an_ambiguous_failure(
    method: str, idempotent: bool | None, retried: bool
) -> None:
    script, governance = Script(httpx.ReadError, OK), Watched()
    async with client_for(script, governance) as client:
        if retried:
            await client.request(method, "researchers", idempotent=idempotent)
        else:
            with pytest.raises(ConnectionLostError):
                await client.request(method, "researchers", idempotent=idempotent)
    assert len(script.calls) == (2 if retried else 1)


@pytest.mark.parametrize(("status", "retried"), [(503, True), (500, True), (501, False)])
async def test_only_the_policys_server_statuses_are_retried(status: int, retried: bool) -> None:
    script, governance = Script(httpx.Response(status, text=""), OK), Watched()
    async with client_for(script, governance) as client:
        if retried:
            await client.request("GET", "researchers")
        else:
            with pytest.raises(ServerError):
                await client.request("GET", "researchers")
    assert len(script.calls) == (2 if retried else 1)
    assert governance.records[0].status_code == status


@pytest.mark.parametrize(("deadline", "retried"), [(4.0, False), (6.0, True)])
async def test_no_retry_starts_past_the_policys_deadline(deadline: float, retried: bool) -> None:
    busy = httpx.Response(503, text="", headers={"Retry-After": "5"})
    script, governance = Script(busy, OK), Watched()
    policy = RetryPolicy(max_attempts=3, deadline=deadline)
    async with client_for(script, governance, retry=policy) as client:
        began = anyio.current_time()
        if retried:
            await client.request("GET", "researchers")
            assert anyio.current_time() - began == pytest.approx(5.0, abs=1e-3)
        else:
            with pytest.raises(APIError, match="HTTP 503"):
                await client.request("GET", "researchers")
            assert anyio.current_time() - began == pytest.approx(0.0, abs=1e-3)
    assert len(script.calls) == (2 if retried else 1)


async def test_a_server_error_that_says_not_found_is_not_retried() -> None:
    body = {
        "errorsExist": True,
        "errorList": {"error": [{"errorCode": "X", "errorMessage": "Report not found"}]},
    }
    script, governance = Script(httpx.Response(500, json=body), OK), Watched()
    async with client_for(script, governance) as client:
        with pytest.raises(NotFoundError):
            await client.request("GET", "researchers")
    assert len(script.calls) == 1


async def test_a_success_status_with_errors_in_its_body_is_an_api_error() -> None:
    body = {
        "errorsExist": True,
        "errorList": {"error": [{"errorCode": "60100", "errorMessage": "No."}]},
    }
    script, governance = Script(httpx.Response(200, json=body), OK), Watched()
    async with client_for(script, governance) as client:
        with pytest.raises(APIError, match=r"HTTP 200 60100: No\."):
            await client.request("GET", "researchers")
    assert len(script.calls) == 1
    assert governance.records[0].status_code == 200
    assert governance.records[0].error_code == "60100"


async def test_cancelling_a_request_on_the_wire_releases_its_slot_and_records_nothing() -> None:
    script, governance = Script(HANG, OK), Watched()
    async with client_for(script, governance, timeout=None) as client:
        with anyio.move_on_after(10):
            await client.request("GET", "researchers")
        assert governance.left_by == ["CancelledError"]
        assert governance.records == []
        assert governance.snapshot().in_flight == 0
        assert (await client.request("GET", "researchers")).attempts == 1


async def test_cancelling_a_request_between_attempts_sends_nothing_more() -> None:
    busy = httpx.Response(503, text="", headers={"Retry-After": "60"})
    script, governance = Script(busy, OK), Watched()
    async with client_for(script, governance) as client:
        with anyio.move_on_after(0.5):
            await client.request("GET", "researchers")
        await anyio.sleep(300)
    assert len(script.calls) == 1
    assert governance.left_by == [None]


async def test_a_successful_response_says_how_many_attempts_and_what_is_left() -> None:
    script, governance = Script(httpx.ConnectError, OK), Watched()
    async with client_for(script, governance) as client:
        response = await client.request("GET", "researchers", params={"limit": 5, "skip": None})
    assert (response.attempts, response.quota_remaining, response.data) == (2, 900, {"ok": True})
    assert [str(c.url.params) for c in script.calls] == ["limit=5", "limit=5"]
    assert governance.records[-1] == ResponseInfo(status_code=200, remaining=900)


async def test_a_body_that_must_be_an_object_names_the_request_when_it_is_not() -> None:
    script, governance = Script(httpx.Response(200, json=[1, 2]), OK), Watched()
    async with client_for(script, governance) as client:
        response = await client.request("GET", "researchers")
        expected = "GET /esploro/v1/researchers: expected a JSON object, got list"
        with pytest.raises(ResponseFormatError, match=expected):
            response.json_object()
        assert (await client.request("GET", "researchers")).json_object() == {"ok": True}
