"""Alma/Esploro webhooks: a small ASGI receiver that checks every message's signature.

Alma sends webhooks (``JOB_END`` when a job instance ends, and others) as ``POST`` requests
with a JSON body, signed in the ``X-Exl-Signature`` header: the base64 of the HMAC-SHA256
of the raw body, keyed with the secret set in the webhook integration profile. When the
profile is saved, Alma first checks the address with ``GET ?challenge=<text>`` and expects
``{"challenge": "<text>"}`` back.

`WebhookReceiver` is a plain ASGI application (no web framework needed): mount it in
FastAPI/Starlette (``app.mount("/alma-webhooks", receiver)``) or serve it with any ASGI
server, in the same event loop as the client, and pass it to ``wait_for``, for example:

```python
receiver = WebhookReceiver(secret=os.environ["ALMA_WEBHOOK_SECRET"])
run = await client.config.jobs.run("M50173", {"set_id": set_id})
done = await client.config.jobs.wait_for(run, events=receiver)
```

``wait_for`` then reads the instance once, sleeps until the ``JOB_END`` of that instance
arrives, and reads it once more: two requests for a job that ends within
``fallback_interval`` (an hour). In case a webhook is lost it also polls after
``fallback_interval`` seconds, then after twice that, and so on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import anyio

__all__ = ["JOB_END", "SIGNATURE_HEADER", "WebhookReceiver", "sign"]

JOB_END = "JOB_END"
"""The ``action`` of the webhook Alma sends when a job instance ends."""

SIGNATURE_HEADER = "x-exl-signature"
"""The header that carries the signature (HTTP header names are case-insensitive)."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``X-Exl-Signature`` of ``body``: base64 of HMAC-SHA256(secret, body)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.digest(key, body, hashlib.sha256)).decode("ascii")


class WebhookReceiver:
    """An ASGI application that receives Alma webhooks and remembers job ends.

    * ``GET ?challenge=X`` answers ``{"challenge": "X"}`` (Alma's address check);
    * ``POST`` with a valid ``X-Exl-Signature`` answers 204 and, for ``JOB_END``, wakes
      every ``wait_for`` of that job instance; a missing or wrong signature answers 401,
      a body that is not a JSON object 400, a body above ``max_body_bytes`` 413.

    Args:
        secret: the webhook secret of the integration profile (never logged or shown).
        max_body_bytes: the largest body read.
        remember: how many ended instances are kept, so a ``JOB_END`` that arrives before
            its ``wait_for`` starts is not missed.
        on_event: called with every verified message (any ``action``).
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        max_body_bytes: int = 1_000_000,
        remember: int = 1024,
        on_event: Callable[[dict[str, Any]], object] | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret is empty")
        self._secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        self.max_body_bytes = max_body_bytes
        self._remember = remember
        self._on_event = on_event
        self._ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._waiting: dict[str, anyio.Event] = {}
        self.rejected = 0
        """How many POSTs were refused (bad signature, body or size)."""

    def __repr__(self) -> str:
        return f"WebhookReceiver(ended={len(self._ended)}, waiting={len(self._waiting)})"

    def verify(self, body: bytes, signature: str | None) -> bool:
        """``True`` when ``signature`` is the signature of ``body`` with this secret."""
        if not signature:
            return False
        return hmac.compare_digest(sign(body, self._secret), signature.strip())

    def job_end(self, instance_id: str) -> dict[str, Any] | None:
        """The ``job_instance`` of the ``JOB_END`` received for ``instance_id``, if any."""
        return self._ended.get(instance_id)

    def signal(self, instance_id: str) -> anyio.Event:
        """An event set when the ``JOB_END`` of ``instance_id`` arrives (set at once if it
        already has)."""
        event = self._waiting.get(instance_id)
        if event is None:
            event = self._waiting[instance_id] = anyio.Event()
        if instance_id in self._ended:
            event.set()
        return event

    def forget(self, instance_id: str) -> None:
        """Stop tracking ``instance_id`` (``wait_for`` calls this when it returns)."""
        self._waiting.pop(instance_id, None)

    def record(self, message: Mapping[str, Any]) -> None:
        """Take in one verified message (what a valid ``POST`` does)."""
        if self._on_event is not None:
            self._on_event(dict(message))
        if str(message.get("action", "")).upper() != JOB_END:
            return
        instance = message.get("job_instance")
        if not isinstance(instance, Mapping) or not instance.get("id"):
            return
        instance_id = str(instance["id"])
        self._ended[instance_id] = dict(instance)
        self._ended.move_to_end(instance_id)
        while len(self._ended) > self._remember:
            self._ended.popitem(last=False)
        event = self._waiting.get(instance_id)
        if event is not None:
            event.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        if method == "GET":
            await self._challenge(scope, send)
        elif method == "POST":
            status = await self._post(scope, receive)
            await _respond(send, status, b"")
        else:
            await _respond(send, 405, b"")

    async def _challenge(self, scope: Scope, send: Send) -> None:
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        challenge = query.get("challenge")
        if not challenge:
            await _respond(send, 400, b'{"errorMessage": "no challenge"}')
            return
        body = json.dumps({"challenge": challenge[0]}).encode()
        await _respond(send, 200, body)

    async def _post(self, scope: Scope, receive: Receive) -> int:
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            self.rejected += 1
            return 413
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        signature = headers.get(SIGNATURE_HEADER.encode())
        if not self.verify(body, signature.decode("latin-1") if signature else None):
            self.rejected += 1
            return 401
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.rejected += 1
            return 400
        self.record(message)
        return 204


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")] if body else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
