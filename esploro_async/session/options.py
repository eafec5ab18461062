"""`ClientOptions`: the keyword arguments of both clients, declared once.

`esploro_async.EsploroClient` and `esploro_async.sync.EsploroClient` take ``api_key`` and
``**options: Unpack[ClientOptions]``, so the two constructors cannot drift apart: a type
checker checks every keyword against this one declaration, and at run time an unknown
keyword raises `TypeError` as it would for an ordinary signature.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

import httpx

from esploro_async.errors import ConfigurationError
from esploro_async.governance.core import OnQuotaExhausted
from esploro_async.governance.lanes import Lane
from esploro_async.governance.protocol import GovernanceProtocol
from esploro_async.retry import RetryPolicy
from esploro_async.session.config import Format

__all__ = [
    "ClientOptions",
    "check_byte_limit",
    "check_governance",
    "check_options",
    "check_timeout",
]


class ClientOptions(TypedDict, total=False):
    """The optional keywords of both clients, each with its default.

    ``EsploroClient(api_key=None, **options)``: every key may be left out, and an absent key
    takes the default given below; ``timeout=None`` means no timeout, unlike an absent
    ``timeout``. A type checker checks each keyword against this declaration.

    Attributes:
        region: ``na``, ``eu``, ``ap``, ``aps``, ``ca`` or ``cn``; default ``$ESPLORO_REGION``, else
            ``na``.
        base_url: an explicit gateway URL instead of ``region`` (``https://``; plain ``http://``
            only for loopback hosts, e.g. the simulated gateway); default ``$ESPLORO_BASE_URL``. The
            environment is read only when neither ``region`` nor ``base_url`` is passed, and
            ``ESPLORO_BASE_URL`` wins over ``ESPLORO_REGION``, as on the command line.
        format: ``"json"`` (default) or ``"xml"``: the ``Accept`` of every request.
        lang: sent as the ``lang`` query parameter when given.
        institution: the institution code (e.g. ``"01ABC_INST"``). The thresholds are the
            institution's, not the key's: clients naming one institution share one governance in the
            process whatever their keys (a read-only and a read/write key, say). Unnamed, clients
            share by gateway and key.
        governance: a governance object to use instead of the default in-process one (e.g.
            ``other_client.governance``, or an institution-wide backend).
        rate_limit: the gateway's per-second threshold (default 25).
        safety_margin: ``"auto"`` (default): start at 0.10 (22.7 req/s) and follow the order in
            which the gateway counted the requests (`RatePolicy`); or a fixed spacing margin for
            network jitter, e.g. 0.10.
        max_in_flight: requests on the wire at once (default 64).
        daily_reserve: requests of the daily quota never to spend (default 0).
        on_quota_exhausted: ``"raise"`` (default) `DailyQuotaExhaustedError`, or ``"wait"`` until
            the quota resets.
        batch_reserve: the daily-quota floor of batch work (streams, ``bulk``), at least
            ``daily_reserve``: a harvest stops there while interactive calls go on.
        lane: the default lane of single requests, ``"interactive"`` (default) or ``"batch"``;
            streams and ``bulk`` run in ``"batch"`` (see `use_lane`).
        retry: the `RetryPolicy` (default: 5 attempts, full-jitter backoff, 300 s deadline).
        timeout: httpx timeout for one attempt (default 60 s read, 10 s connect). The attempt as a
            whole, however slowly the server trickles, ends after the longest of its connect, write
            and read timeouts (`RequestTimeoutError`).
        http_client: an ``httpx.AsyncClient`` to send with (not closed by this client); give it a
            pool of at least ``max_in_flight`` connections.
        transport: an httpx transport for a client this object creates (tests, proxies).
        max_response_bytes: the largest response body read, counted after decompression (default 64
            MiB); a larger one raises `ResponseFormatError` having read no more than that.
        verify: how server certificates are checked (default: httpx's, the certifi roots).
            ``"system"`` uses the operating system's trust store through ``truststore`` (``pip
            install 'esploro-async[truststore]'``): a campus proxy's CA installed on the machine is
            then trusted, without patching ``ssl`` for the process. An ``ssl.SSLContext`` is used as
            given.
    """

    region: str | None
    base_url: str | None
    format: Format
    lang: str | None
    institution: str | None
    governance: GovernanceProtocol | None
    rate_limit: float | None
    allow_above_threshold: bool | None
    safety_margin: float | Literal["auto"] | None
    max_in_flight: int | None
    daily_reserve: int | None
    on_quota_exhausted: OnQuotaExhausted | None
    batch_reserve: int | None
    lane: Lane
    retry: RetryPolicy | None
    timeout: httpx.Timeout | float | None
    http_client: httpx.AsyncClient | None
    transport: httpx.AsyncBaseTransport | None
    max_response_bytes: int
    verify: ssl.SSLContext | Literal["system"]


def check_options(owner: str, options: Mapping[str, Any]) -> None:
    """Raise `TypeError` for a keyword that is not a `ClientOptions` key."""
    unknown = sorted(set(options) - ClientOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"{owner}() got an unexpected keyword argument {unknown[0]!r}")


def check_governance(governance: object, local_settings: Mapping[str, object]) -> None:
    """Refuse a governance object that lacks what the client reads, or settings beside it."""
    if not isinstance(governance, GovernanceProtocol):
        raise ConfigurationError(
            "governance must implement esploro_async.governance.GovernanceProtocol "
            "(attempt, snapshot, aclose, max_in_flight, on_quota_exhausted); "
            f"got {type(governance).__name__}"
        )
    given = [name for name, value in local_settings.items() if value is not None]
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} configure the default governance; with governance=... "
            "set them on that object instead"
        )


def check_timeout(value: object) -> httpx.Timeout | float | None:
    """``value`` if it is a usable timeout, else `ConfigurationError` (it would fail every
    request): a number of seconds > 0, an ``httpx.Timeout`` whose parts are, or ``None``."""
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        parts = {
            "connect": value.connect,
            "read": value.read,
            "write": value.write,
            "pool": value.pool,
        }
        for name, part in parts.items():
            if part is not None and not part > 0:
                raise ConfigurationError(
                    f"timeout.{name} must be a number of seconds > 0 or None, got {part!r}"
                )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(
            "timeout must be a number of seconds > 0, an httpx.Timeout, or None for no "
            f"timeout, got {value!r}"
        )
    return value


def check_byte_limit(value: object) -> int:
    """``value`` if it is a positive int (``max_response_bytes``), else `ConfigurationError`."""
    if isinstance(value, bool) or not (isinstance(value, int) and value > 0):
        raise ConfigurationError(f"max_response_bytes must be a positive int, not {value!r}")
    return value
