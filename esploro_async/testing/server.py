"""A minimal asyncio HTTP/1.1 server exposing a :class:`SimulatedGateway` on loopback.

Enough HTTP for ``httpx`` and ``curl``: keep-alive, ``Content-Length`` and chunked
request bodies, ``Content-Length`` responses (chunked when the body is a stream).
Network faults map to socket behaviour: a reset aborts the TCP connection, a hang keeps
it silent until the client gives up.
Only loopback addresses are bound unless ``allow_non_loopback=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from http import HTTPStatus
from typing import TYPE_CHECKING

from esploro_async.testing.wire import ConnectionReset, Exchanger, ResponseTimeout, SimRequest

if TYPE_CHECKING:
    from esploro_async.testing.wire import SimResponse

__all__ = ["SimServer", "is_loopback"]

_MAX_HEADER = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


def is_loopback(host: str) -> bool:
    """Whether ``host`` names (only) loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(
            ipaddress.ip_address(str(info[4][0])).is_loopback for info in infos
        )


class _BadRequest(Exception):
    pass


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The request body: chunked, of ``Content-Length`` bytes, or none."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return b"".join(chunks)
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length > _MAX_BODY:
            raise _BadRequest
        return await reader.readexactly(length)
    return b""


class SimServer:
    """A running loopback server; use :meth:`SimulatedGateway.serve` to get one."""

    def __init__(
        self,
        gateway: Exchanger,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_non_loopback: bool = False,
    ) -> None:
        if not allow_non_loopback and not is_loopback(host):
            raise ValueError(
                f"refusing to bind non-loopback address {host!r} (pass allow_non_loopback=True)"
            )
        self.gateway = gateway
        self.host = host
        self.port: int = port
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])

    async def close(self) -> None:
        """Stop accepting, drop open connections and wait for their tasks."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._conns:
            _, pending = await asyncio.wait(set(self._conns), timeout=1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def serve_forever(self) -> None:
        """Block until cancelled."""
        await asyncio.Event().wait()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self._writers.add(writer)
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, _BadRequest, ValueError):
            pass
        except asyncio.CancelledError:  # close() gave up waiting; end this connection quietly
            pass
        finally:
            self._conns.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[SimRequest, bool] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                return None
            raise
        except asyncio.LimitOverrunError as exc:
            raise _BadRequest from exc
        if len(head) > _MAX_HEADER:
            raise _BadRequest
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError as exc:
            raise _BadRequest from exc
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await _read_body(reader, headers)
        path, _, query = target.partition("?")
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        host = headers.get("host", f"{self.host}:{self.port}")
        req = SimRequest(
            method=method.upper(),
            raw_path=path,
            query_string=query,
            headers={k: v.encode("latin-1").decode("utf-8", "replace") for k, v in headers.items()},
            body=body,
            base_url=f"http://{host}",
        )
        return req, keep_alive

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            parsed = await self._read_request(reader)
            if parsed is None:
                return
            req, keep_alive = parsed
            exchange = asyncio.ensure_future(self.gateway.exchange(req))
            eof = asyncio.ensure_future(reader.read(1))
            done, _ = await asyncio.wait({exchange, eof}, return_when=asyncio.FIRST_COMPLETED)
            if exchange not in done:  # client went away (e.g. its read timeout): stop waiting
                exchange.cancel()
                with contextlib.suppress(BaseException):
                    await exchange
                return
            eof.cancel()
            with contextlib.suppress(BaseException):
                await eof
            try:
                resp = exchange.result()
            except ConnectionReset:
                writer.transport.abort()
                return
            except ResponseTimeout:  # pragma: no cover - no read timeout server-side
                return
            reason = (
                HTTPStatus(resp.status).phrase
                if resp.status in HTTPStatus._value2member_map_
                else ""
            )
            out = [f"HTTP/1.1 {resp.status} {reason}"]
            out += [f"{k}: {v}" for k, v in resp.headers]
            if resp.stream is None:
                out.append(f"Content-Length: {len(resp.body)}")
            else:
                out.append("Transfer-Encoding: chunked")
            if not keep_alive:
                out.append("Connection: close")
            head = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
            if resp.stream is None:
                writer.write(head + resp.body)
            else:
                writer.write(head)
                await _write_chunked(writer, resp)
            await writer.drain()
            if not keep_alive:
                return


async def _write_chunked(writer: asyncio.StreamWriter, resp: SimResponse) -> None:
    """Send a streamed body with chunked transfer encoding, as it is generated."""
    async for chunk in resp.chunks():
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
