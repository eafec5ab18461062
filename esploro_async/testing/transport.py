"""An in-process ``httpx`` transport that talks to a :class:`SimulatedGateway`.

No sockets: each request runs :meth:`SimulatedGateway.exchange` in the caller's task,
so ``looptime`` virtual time applies.  The read timeout of the request
(``request.extensions["timeout"]["read"]``) bounds the time from send to response, and
each chunk of a streamed body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx

from esploro_async.testing.wire import ConnectionReset, Exchanger, ResponseTimeout, SimRequest

__all__ = ["SimTransport"]


class SimTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncBaseTransport`` backed by a simulated gateway (see ``gw.transport()``)."""

    def __init__(self, gateway: Exchanger) -> None:
        self.gateway = gateway

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the simulation; map network faults to httpx errors."""
        body = await request.aread()
        timeout = request.extensions.get("timeout") or {}
        read_timeout = timeout.get("read") if isinstance(timeout, dict) else None
        url = request.url
        sim = SimRequest(
            method=request.method,
            raw_path=url.raw_path.decode("ascii").split("?", 1)[0],
            query_string=url.query.decode("ascii"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            base_url=f"{url.scheme}://{url.netloc.decode('ascii')}",
        )
        try:
            resp = await self.gateway.exchange(sim, read_timeout=read_timeout)
        except ConnectionReset as exc:
            if exc.processed:
                raise httpx.ReadError("connection reset by peer", request=request) from exc
            raise httpx.ConnectError("connection reset by peer", request=request) from exc
        except ResponseTimeout as exc:
            raise httpx.ReadTimeout("simulated read timeout", request=request) from exc
        if resp.stream is not None:  # generated as it is read: no Content-Length
            chunks = _each_within(resp.chunks(), read_timeout, request)
            return httpx.Response(
                resp.status, headers=resp.headers, content=chunks, request=request
            )
        headers = [*resp.headers, ("Content-Length", str(len(resp.body)))]
        return httpx.Response(resp.status, headers=headers, content=resp.body, request=request)


async def _each_within(
    chunks: AsyncIterator[bytes], read_timeout: float | None, request: httpx.Request
) -> AsyncIterator[bytes]:
    """``chunks``, each within the read timeout (as a socket read would be)."""
    while True:
        try:
            with anyio.fail_after(read_timeout):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise httpx.ReadTimeout("simulated read timeout", request=request) from None
        yield chunk
