"""Per-call ``timeout`` and ``extra_headers`` reach the wire (as in openai-python)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from esploro_async import EsploroClient, EsploroError

SENT: list[httpx.Request] = []
_REPORT = b"<report><QueryResult><IsFinished>true</IsFinished></QueryResult></report>"


def _answer(request: httpx.Request) -> httpx.Response:
    SENT.append(request)
    if "xml" in request.headers.get("accept", ""):
        return httpx.Response(200, content=_REPORT, headers={"Content-Type": "application/xml"})
    return httpx.Response(200, json={"records": [{"originalRepository": {"assetId": "1"}}]})


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


Call = Callable[[EsploroClient, dict[str, Any]], Awaitable[Any]]
CALLS: list[tuple[str, Call]] = [
    ("researchers.get", lambda c, kw: c.researchers.get("jdoe", **kw)),
    ("researchers.delete", lambda c, kw: c.researchers.delete("jdoe", **kw)),
    ("assets.get", lambda c, kw: c.assets.get("1", **kw)),
    ("assets.patch", lambda c, kw: c.assets.patch("1", {"note": "x"}, **kw)),
    ("assets.get_many", lambda c, kw: c.assets.get_many(["1"], **kw)),
    ("organizations.get", lambda c, kw: c.organizations.get("O", **kw)),
    ("activities.create", lambda c, kw: c.activities.create({"a": 1}, **kw)),
    ("config.code_table", lambda c, kw: c.config.code_table("T", **kw)),
    ("config.sets.create", lambda c, kw: c.config.sets.create("S", **kw)),
    ("config.sets.members.add", lambda c, kw: c.config.sets.members("1").add(["2"], **kw)),
    ("config.jobs.run", lambda c, kw: c.config.jobs.run("M1", **kw)),
    ("analytics.paths", lambda c, kw: c.analytics.paths("/shared", **kw)),
    ("analytics.report", lambda c, kw: _drain(c.analytics.report("/shared/r", **kw))),
    ("researchers.test", lambda c, kw: c.researchers.test(**kw)),
]


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[c[0] for c in CALLS])
async def test_timeout_and_extra_headers_are_sent(name: str, call: Call) -> None:
    SENT.clear()
    transport = httpx.MockTransport(_answer)
    async with EsploroClient("key", base_url="http://esploro.localhost", transport=transport) as c:
        with contextlib.suppress(EsploroError):  # an answer the method disliked is fine here
            await call(c, {"timeout": 7.5, "extra_headers": {"X-Trace": "t1"}})
        await c.researchers.get("jdoe")  # and the next call is back to the defaults
    *with_options, plain = SENT
    assert with_options
    for request in with_options:
        assert request.headers["x-trace"] == "t1"
        assert request.extensions["timeout"] == {
            "connect": 7.5,
            "read": 7.5,
            "write": 7.5,
            "pool": 7.5,
        }
    assert "x-trace" not in plain.headers
    assert plain.extensions["timeout"]["read"] == 60.0


async def test_extra_headers_cannot_replace_the_key_or_accept() -> None:
    SENT.clear()
    transport = httpx.MockTransport(_answer)
    async with EsploroClient("key", base_url="http://esploro.localhost", transport=transport) as c:
        await c.assets.get(
            "1", extra_headers={"Authorization": "apikey other", "Accept": "text/html"}
        )
    assert SENT[0].headers["authorization"] == "apikey key"
    assert SENT[0].headers["accept"] == "application/json"
