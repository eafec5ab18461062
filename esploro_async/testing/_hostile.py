"""Hostile responses for the simulated gateway: huge, inflating, deep, absurd or trickling.

Large bodies are generated while they are read, so the simulator never holds them: a
client that stops reading at its limit costs the simulation no more than that.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
import attrs

from esploro_async.testing.faults import ABSURD_HEADERS, Fault, FaultKind, fault_body_size

if TYPE_CHECKING:
    from esploro_async.testing.wire import SimResponse

__all__ = [
    "HTML_200",
    "KINDS",
    "absurd_headers",
    "apply",
    "deep_json",
    "gzip_bomb",
    "padded",
    "trickle",
]

HTML_200 = (
    "<!DOCTYPE html><html><head><title>Service notice</title></head><body>"
    "<h1>Please sign in</h1><p>This page is served by a proxy in front of the service."
    "</p></body></html>"
)

_CHUNK = 1 << 20
_SPACES = b" " * _CHUNK


async def padded(body: bytes, size: int) -> AsyncIterator[bytes]:
    """``body``, then spaces up to ``size`` bytes (still valid JSON or XML if read whole)."""
    yield body
    left = size - len(body)
    while left > 0:
        n = min(left, _CHUNK)
        yield _SPACES[:n]
        left -= n


async def gzip_bomb(body: bytes, size: int) -> AsyncIterator[bytes]:
    """The gzip encoding of ``padded(body, size)``, about 1 KB per MB inflated.

    One megabyte of spaces is compressed once; after a full flush the compressor's state
    is reset, so that block repeats verbatim. The CRC is computed only if the whole
    stream is read.
    """
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip header: deflate, no name, mtime 0
    yield deflate.compress(body) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(body)
    left = max(0, size - len(body))
    block = deflate.compress(_SPACES) + deflate.flush(zlib.Z_FULL_FLUSH)
    while left >= _CHUNK:
        yield block
        crc = zlib.crc32(_SPACES, crc)
        left -= _CHUNK
    tail = _SPACES[:left]
    yield deflate.compress(tail) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(tail, crc)
    yield struct.pack("<II", crc, max(size, len(body)) & 0xFFFFFFFF)


def deep_json(depth: int) -> bytes:
    """JSON arrays nested ``depth`` deep."""
    return b"[" * depth + b"]" * depth


async def trickle(body: bytes, interval: float) -> AsyncIterator[bytes]:
    """``body`` one byte at a time, each after ``interval`` seconds."""
    for i in range(len(body)):
        await anyio.sleep(round(interval, 6))
        yield body[i : i + 1]


def absurd_headers(
    headers: list[tuple[str, str]], fault: Fault, rng: random.Random
) -> list[tuple[str, str]]:
    """``headers`` with ``Date``, ``X-Exl-Api-Remaining`` and ``Retry-After`` made absurd."""
    chosen = dict(fault.headers) or {
        name: rng.choice(values) for name, values in ABSURD_HEADERS.items()
    }
    replaced = {name.lower() for name in chosen}
    kept = [(k, v) for k, v in headers if k.lower() not in replaced]
    return kept + list(chosen.items())


KINDS = frozenset(
    {
        FaultKind.HUGE_BODY,
        FaultKind.GZIP_BOMB,
        FaultKind.DEEP_JSON,
        FaultKind.ABSURD_HEADERS,
        FaultKind.TRICKLE,
    }
)
"""The kinds `apply` handles (``HTML_200`` replaces the gateway's answer instead)."""


def apply(response: SimResponse, fault: Fault, rng: random.Random) -> SimResponse:
    """``response`` as a hostile server sends it under ``fault`` (one of `KINDS`)."""
    kind = fault.kind
    if kind is FaultKind.ABSURD_HEADERS:
        return attrs.evolve(response, headers=absurd_headers(response.headers, fault, rng))
    if kind is FaultKind.DEEP_JSON:
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-type"]
        headers.append(("Content-Type", "application/json"))
        return attrs.evolve(response, headers=headers, body=deep_json(fault.depth))
    if kind is FaultKind.TRICKLE:
        stream = trickle(response.body, fault.trickle_interval)
    elif kind is FaultKind.GZIP_BOMB:
        stream = gzip_bomb(response.body, fault_body_size(fault))
    else:
        stream = padded(response.body, fault_body_size(fault))
    headers = list(response.headers)
    if kind is FaultKind.GZIP_BOMB:
        headers.append(("Content-Encoding", "gzip"))
    return attrs.evolve(response, headers=headers, body=b"", stream=stream)
