"""Latency models and fault injection rules for the simulated gateway.

Everything here is plain, immutable configuration.  The mutable bookkeeping (how many
requests a fault has seen, how many times it fired) lives in the gateway, so one
:class:`Fault` object can be reused by several gateways.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Collection, Mapping

import attrs

__all__ = [
    "ABSURD_HEADERS",
    "BODY_FAULTS",
    "REPORT_FAULTS",
    "RESPONSE_FAULTS",
    "Fault",
    "FaultKind",
    "Latency",
    "Stalls",
    "fault_body_size",
]


@attrs.frozen
class Latency:
    """A seeded distribution of the total service time of one request, in seconds.

    The gateway splits each sample into a request leg (before the request *arrives* and
    governance decides) and a response leg; see ``SimulatedGateway(up_fraction=...)``.
    Build instances with :meth:`fixed`, :meth:`uniform` or :meth:`lognormal`.
    """

    kind: str
    a: float
    b: float = 0.0

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        """Always exactly ``seconds``."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        return cls("fixed", float(seconds))

    @classmethod
    def uniform(cls, low: float, high: float) -> Latency:
        """Uniformly distributed in ``[low, high]``."""
        if not 0 <= low <= high:
            raise ValueError("need 0 <= low <= high")
        return cls("uniform", float(low), float(high))

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Latency:
        """Log-normal with the given ``median`` (seconds) and shape ``sigma``."""
        if median <= 0 or sigma < 0:
            raise ValueError("need median > 0 and sigma >= 0")
        return cls("lognormal", float(median), float(sigma))

    @classmethod
    def parse(cls, text: str) -> Latency:
        """Parse a CLI spec: ``"0.3"`` (fixed), ``"0.2:0.8"`` (uniform) or ``"ln:0.3:0.5"``."""
        parts = text.split(":")
        if parts[0] == "ln" and len(parts) == 3:
            return cls.lognormal(float(parts[1]), float(parts[2]))
        if len(parts) == 2:
            return cls.uniform(float(parts[0]), float(parts[1]))
        if len(parts) == 1:
            return cls.fixed(float(parts[0]))
        raise ValueError(f"bad latency spec {text!r}")

    def sample(self, rng: random.Random) -> float:
        """Draw one latency value from ``rng``."""
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        return self.a * math.exp(rng.gauss(0.0, self.b))


@attrs.frozen
class Stalls:
    """Rare but large delays on the way to the gateway: a seeded few requests held back.

    Each request sent starts a stall with probability ``fraction`` (a congested hop, a
    lost packet sent again). A stall holds that request and the ``burst - 1`` sent next,
    each for its own delay drawn uniformly from ``[low, high]`` seconds, on top of its
    `Latency` share, before it arrives. Requests sent after a held one arrive before it
    (an inversion of the arrival order), and the held ones arrive among them: one held
    request moves one arrival, so at a sender's spacing it adds at most one to any
    second, while a burst of them bunches several into the same second (26 at 25 req/s
    once the burst outgrows the sender's margin). Pass to ``SimulatedGateway(stalls=...)``.
    """

    fraction: float
    low: float
    high: float
    burst: int = 1

    def __attrs_post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError("fraction must be in [0, 1]")
        if not 0.0 <= self.low <= self.high:
            raise ValueError("need 0 <= low <= high")
        if self.burst < 1:
            raise ValueError("burst must be >= 1")


class FaultKind(str, enum.Enum):
    """What an injected fault does to the request it selects."""

    #: HTTP 503 with a gateway XML body, errorCode ``ROUTING_ERROR``.
    ROUTING_ERROR = "routing_error"
    #: HTTP 500 with an application error body (JSON or XML per ``Accept``).
    HTTP_500 = "http_500"
    #: HTTP 502 with a short HTML body, as a load balancer would send.
    HTTP_502 = "http_502"
    #: The connection is reset.  ``processed=False`` (default): before the request
    #: arrives, so nothing happened (``httpx.ConnectError``).  ``processed=True``: after
    #: arrival and processing, before the response (``httpx.ReadError``).
    RESET = "reset"
    #: The gateway never answers (``httpx.ReadTimeout`` after the client's read timeout).
    #: ``processed`` (default True) says whether the request was applied.
    HANG = "hang"
    #: HTTP 200 (or the real status) with the body cut at ``truncate_at`` of its length.
    TRUNCATED = "truncated"
    #: HTTP 200 (or the real status) with a complete but syntactically invalid body.
    MALFORMED = "malformed"
    #: The "wrong host" answer: HTTP 401 with an HTML "HTTP Status 401 – Unauthorized"
    #: page, no gateway headers, no governance accounting, nothing processed.
    HTML_401 = "html_401"
    #: A proxy, login or maintenance page answering instead of the API: HTTP 200 with an
    #: HTML body, no gateway headers, no governance accounting, nothing processed.
    HTML_200 = "html_200"
    #: Whatever the request gets (a 429 too), padded with whitespace to ``body_size``
    #: bytes (default 100 MB), generated as it is read, sent without ``Content-Length``.
    HUGE_BODY = "huge_body"
    #: Whatever the request gets, padded to ``body_size`` bytes (default 1 GiB) and sent
    #: with ``Content-Encoding: gzip``: about 1 MB on the wire per GB inflated.
    GZIP_BOMB = "gzip_bomb"
    #: Whatever the request gets (HTTP 200 once processed), its body replaced by JSON
    #: arrays nested ``depth`` deep.
    DEEP_JSON = "deep_json"
    #: Whatever the request gets (a 429 too), with absurd ``Date``, ``X-Exl-Api-Remaining``
    #: and ``Retry-After`` values: ``headers`` if given, else drawn from `ABSURD_HEADERS`.
    ABSURD_HEADERS = "absurd_headers"
    #: Whatever the request gets, its body sent one byte every ``trickle_interval`` seconds.
    TRICKLE = "trickle"
    #: HTTP 200 with a list page short of records: the second half of its list is
    #: dropped while ``total_record_count`` stays (a page the stream must read again).
    SHORT_PAGE = "short_page"
    #: HTTP 200 with a list page whose list key is missing altogether, total kept.
    NO_LIST = "no_list"
    #: An analytics report request answered HTTP 200 ``IsFinished=false`` with an empty
    #: ``<ResultXml/>`` (and the ``ResumptionToken`` on a first request), as the reports
    #: API does while the query runs; the report does not advance. Selected on every
    #: request (no ``max_count``), the report never finishes.
    REPORT_NOT_READY = "report_not_ready"
    #: As ``REPORT_NOT_READY``, but without a ``ResumptionToken``, first request included
    #: (scriptotek/php-alma-client ``analytics_still_loading_response.xml``, a real answer):
    #: a first request starts nothing, a request with a token does not advance.
    REPORT_LOADING = "report_loading"
    #: Whatever the request gets, with a line break and spaces before the body (before
    #: the XML declaration too, which XML itself forbids), as gateway error bodies come.
    LEADING_WHITESPACE = "leading_whitespace"


_PROCESSED_DEFAULT = {
    FaultKind.ROUTING_ERROR: False,
    FaultKind.HTTP_500: False,
    FaultKind.HTTP_502: False,
    FaultKind.RESET: False,
    FaultKind.HANG: True,
    FaultKind.TRUNCATED: True,
    FaultKind.MALFORMED: True,
    FaultKind.HTML_401: False,
    FaultKind.SHORT_PAGE: True,
    FaultKind.NO_LIST: True,
    FaultKind.REPORT_NOT_READY: True,
    FaultKind.HTML_200: False,
    FaultKind.HUGE_BODY: True,
    FaultKind.GZIP_BOMB: True,
    FaultKind.DEEP_JSON: True,
    FaultKind.ABSURD_HEADERS: True,
    FaultKind.TRICKLE: True,
    FaultKind.LEADING_WHITESPACE: True,
    FaultKind.REPORT_LOADING: True,
}

#: Faults that damage the body of a processed response.
BODY_FAULTS = frozenset(
    {
        FaultKind.TRUNCATED,
        FaultKind.MALFORMED,
        FaultKind.SHORT_PAGE,
        FaultKind.NO_LIST,
        FaultKind.LEADING_WHITESPACE,
    }
)

#: Faults that answer an analytics report request as if its query still ran.
REPORT_FAULTS = frozenset({FaultKind.REPORT_NOT_READY, FaultKind.REPORT_LOADING})

#: Faults that change the response of a request the API really handled.
RESPONSE_FAULTS = BODY_FAULTS | {
    FaultKind.HUGE_BODY,
    FaultKind.GZIP_BOMB,
    FaultKind.DEEP_JSON,
    FaultKind.ABSURD_HEADERS,
    FaultKind.TRICKLE,
}

#: Values `FaultKind.ABSURD_HEADERS` draws from, per header: overflowing, non-finite,
#: negative, unparseable, far in the future.
ABSURD_HEADERS: Mapping[str, tuple[str, ...]] = {
    "Date": (
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 2026 99999999999999999999:00:00 GMT",
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",
        "yesterday",
    ),
    "X-Exl-Api-Remaining": ("1e400", "-1e400", "nan", "9" * 40, "-5", "many"),
    "Retry-After": ("1e6", "inf", "1e400", "-1", "nan", "soon", "Fri, 31 Dec 9999 23:59:59 GMT"),
}

_DEFAULT_SIZE = {FaultKind.HUGE_BODY: 100_000_000, FaultKind.GZIP_BOMB: 1 << 30}


def _to_frozenset(value: Collection[int] | None) -> frozenset[int] | None:
    return None if value is None else frozenset(value)


def _upper_or_none(value: str | None) -> str | None:
    return None if value is None else str(value).upper()


def _header_pairs(
    value: Mapping[str, str] | Collection[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), str(v)) for k, v in items)


@attrs.frozen
class Fault:
    """A rule that injects one kind of failure into selected requests.

    Selection, evaluated when a request is *sent* (before latency), in gateway order:

    1. the request must match ``endpoint`` (a simple name such as ``"assets"`` or
       ``"researchanalytics"``, or a path prefix starting with ``/``) and ``method``
       (both ``None`` = any);
    2. each matching request gets a 1-based ordinal per fault; if ``requests`` is given
       the fault only considers those ordinals ("the 3rd request to this endpoint" is
       ``requests={3}``);
    3. it fires with ``probability`` (seeded RNG; 1.0 = always);
    4. at most ``max_count`` times (``None`` = unlimited).

    The first fault (in list order) that fires claims the request.  Faults other than
    ``RESET``-not-processed and ``HTML_401`` still go through governance at arrival: a
    request refused with 429/400 gets that refusal, and the fault counts as fired.

    ``processed`` (``None`` = the kind's default, see :class:`FaultKind`) says whether the
    API really applied the request (e.g. a POST) before the failure.  ``truncate_at`` is
    the fraction of the body kept by ``TRUNCATED``.  ``retry_after`` (seconds) adds a
    ``Retry-After`` header to the error responses (``ROUTING_ERROR``, ``HTTP_500``,
    ``HTTP_502``), e.g. ``3600`` for a gateway that asks to come back in an hour.
    ``body_size`` is the bytes of a ``HUGE_BODY`` or the inflated bytes of a ``GZIP_BOMB``
    (``None``: 100 MB, 1 GiB); ``depth`` the nesting of ``DEEP_JSON``; ``headers`` the
    values ``ABSURD_HEADERS`` sets; ``trickle_interval`` the seconds between the bytes of a
    ``TRICKLE``.
    """

    kind: FaultKind = attrs.field(converter=FaultKind)
    endpoint: str | None = None
    method: str | None = attrs.field(default=None, converter=_upper_or_none)
    probability: float = 1.0
    requests: frozenset[int] | None = attrs.field(default=None, converter=_to_frozenset)
    max_count: int | None = None
    processed: bool | None = None
    truncate_at: float = 0.5
    retry_after: float | None = None
    body_size: int | None = None
    depth: int = 100_000
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_header_pairs)
    trickle_interval: float = 0.5

    @property
    def is_processed(self) -> bool:
        """Whether the selected request is applied by the API (explicit or kind default)."""
        if self.kind in (FaultKind.HTML_401, FaultKind.HTML_200):
            return False
        if self.kind in RESPONSE_FAULTS or self.kind in REPORT_FAULTS:
            return True
        return _PROCESSED_DEFAULT[self.kind] if self.processed is None else self.processed


def endpoint_name(path: str) -> str:
    """The simple endpoint name of a request path.

    ``/esploro/v1/assets/123`` -> ``"assets"``; ``/esploro/v1/researchanalytics/reports``
    -> ``"researchanalytics"``; ``/almaws/v1/conf/jobs`` -> ``"conf"``; anything else ->
    ``""``.
    """
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] in ("esploro", "almaws") and parts[1] == "v1":
        return parts[2]
    return ""


def endpoint_matches(key: str | None, path: str) -> bool:
    """Whether ``key`` (``None``, a simple endpoint name or a ``/`` path prefix) selects ``path``.

    Aliases: ``"analytics"`` covers ``researchanalytics`` and Alma's ``analytics``,
    ``"configuration"`` is ``researchconf``.
    """
    if key is None:
        return True
    if key.startswith("/"):
        return path.startswith(key)
    name = endpoint_name(path)
    aliases = {"analytics": "researchanalytics", "configuration": "researchconf"}
    return name in (key, aliases.get(key, key))


def fault_body_size(fault: Fault) -> int:
    """The padded size of a ``HUGE_BODY`` or ``GZIP_BOMB`` (its default if not set)."""
    return fault.body_size if fault.body_size is not None else _DEFAULT_SIZE[fault.kind]
