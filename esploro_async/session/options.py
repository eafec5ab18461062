"""`ClientOptions`: the keyword arguments of both clients, declared once.

`esploro_async.EsploroClient` and `esploro_async.sync.EsploroClient` take ``api_key`` and
``**options: Unpack[ClientOptions]``, so the two constructors cannot drift apart: a type
checker checks every keyword against this one declaration, and at run time an unknown
keyword raises `TypeError` as it would for an ordinary signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict

import httpx

from esploro_async.governance.core import OnQuotaExhausted
from esploro_async.governance.lanes import Lane
from esploro_async.governance.protocol import GovernanceProtocol
from esploro_async.retry import RetryPolicy
from esploro_async.session.config import Format

__all__ = ["ClientOptions", "check_options"]


class ClientOptions(TypedDict, total=False):
    """Every keyword argument of the clients; see `esploro_async.EsploroClient` for each.

    Absent keys take the client's defaults (``format="json"``, ``lane="interactive"``, a
    60 s read timeout, the default governance and retry policy); ``timeout=None`` means
    no timeout, unlike an absent ``timeout``.
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


def check_options(owner: str, options: Mapping[str, Any]) -> None:
    """Raise `TypeError` for a keyword that is not a `ClientOptions` key."""
    unknown = sorted(set(options) - ClientOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"{owner}() got an unexpected keyword argument {unknown[0]!r}")
