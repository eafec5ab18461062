"""Request traces through OpenTelemetry (optional: ``pip install 'esploro-async[otel]'``).

With ``opentelemetry-api`` installed and an SDK configured by the application, every
`EsploroClient.request` (so every page of a stream and every call of an API area) is one
span, ``esploro {METHOD}``, of kind ``CLIENT``. Its children tell the two waits apart:

- ``esploro.governance.wait``: waiting for a concurrency slot, the daily quota and a rate
  permit (one per attempt);
- ``esploro.http.attempt``: the attempt on the wire, from sending to the body read.

Attributes of the request span:

=================================  ============================================================
``http.request.method``            ``GET``, ``PUT``, …
``url.path``                       the API path (no query string; the key is never in a URL)
``esploro.lane``                   ``interactive`` or ``batch``
``esploro.attempts``               attempts sent (retries included)
``esploro.permit_wait_s``          seconds waited for permits, all attempts
``esploro.wire_s``                 seconds on the wire, all attempts
``http.response.status_code``      the last response's status
``esploro.quota.remaining``        ``X-Exl-Api-Remaining`` of the last response, if any
``esploro.throttle.kind``          ``per_second`` or ``daily`` when a 429 was answered
``error.type``                     the exception's class name when the request failed
=================================  ============================================================

Without the package nothing is imported and a request pays one ``is None`` test; with the
API but no SDK set up no span is started; with a sampler that drops the span it is not
recording and nothing else is done. The spans go to the global tracer provider, or to the
one given to `use_tracer_provider`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from esploro_async._clock import current_time

if TYPE_CHECKING:
    import httpx

    from esploro_async.errors import EsploroError

_Exchange = TypeVar("_Exchange", bound="tuple[httpx.Response, Any, Any]")

__all__ = [
    "TRACER_NAME",
    "RequestTrace",
    "on_the_wire",
    "start_request_trace",
    "throttle_kind",
    "use_tracer_provider",
]

TRACER_NAME = "esploro_async"
"""The instrumentation scope of every span."""

try:
    from opentelemetry import trace as _otel
except ImportError:  # the otel extra is absent: no span, no cost
    _otel = None  # type: ignore[assignment]

_tracer: Any = None
_provider_given = False  # `use_tracer_provider` was given one: the global one is not asked

# The global providers of the API alone (no SDK set up): none of their spans ever records.
_NO_SDK: tuple[type, ...] = (
    () if _otel is None else (_otel.ProxyTracerProvider, _otel.NoOpTracerProvider)
)
# A provider named in the environment is loaded by the API's first `get_tracer_provider`.
_PROVIDER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
_NOT_KNOWN = object()


def _no_sdk() -> bool:
    """Whether the global tracer provider is the API's own: none of its spans records.

    Reads the API's global (as `get_tracer_provider` does, without its environment lookup,
    which costs more than the rest of this); asks `get_tracer_provider` when the API keeps
    it elsewhere or a provider named in the environment is to be loaded.
    """
    provider = getattr(_otel, "_TRACER_PROVIDER", _NOT_KNOWN)
    if provider is None and not _PROVIDER_FROM_ENV:
        return True
    if provider is None or provider is _NOT_KNOWN:
        provider = _otel.get_tracer_provider()
    return isinstance(provider, _NO_SDK)


def use_tracer_provider(provider: Any) -> None:
    """Send the spans to ``provider`` (an OpenTelemetry ``TracerProvider``) instead of the
    global one; ``None`` goes back to the global one."""
    global _tracer, _provider_given
    _tracer = None if provider is None else _get_tracer(provider)
    _provider_given = provider is not None


def _get_tracer(provider: Any = None) -> Any:
    from esploro_async._version import __version__

    if provider is None:
        return _otel.get_tracer(TRACER_NAME, __version__)  # follows a later global provider
    return provider.get_tracer(TRACER_NAME, __version__)


def start_request_trace(method: str, path: str, lane: str) -> RequestTrace | None:
    """The trace of one request, or ``None`` when no span would be recorded."""
    if _otel is None:
        return None
    if not _provider_given and _no_sdk():
        return None  # asked each time: an SDK may be set up later
    global _tracer
    if _tracer is None:
        _tracer = _get_tracer()
    span = _tracer.start_span(
        f"esploro {method}",
        kind=_otel.SpanKind.CLIENT,
        attributes={"http.request.method": method, "url.path": path, "esploro.lane": lane},
    )
    if not span.is_recording():
        span.end()
        return None
    return RequestTrace(span)


class RequestTrace:
    """The span of one request and its children, fed by the request loop."""

    __slots__ = ("_child", "_child_started", "_context", "_span", "attempts", "wait", "wire")

    def __init__(self, span: Any) -> None:
        self._span = span
        self._context = _otel.set_span_in_context(span)
        self._child: Any = None
        self._child_started = 0.0
        self.attempts: int = 0
        self.wait: float = 0.0
        self.wire: float = 0.0

    def _open(self, name: str, attributes: dict[str, Any]) -> None:
        self._close()
        self._child = _tracer.start_span(name, context=self._context, attributes=attributes)
        self._child_started = current_time()

    def _close(self, error: BaseException | None = None) -> float:
        if self._child is None:
            return 0.0
        if error is not None:
            self._child.set_status(_otel.Status(_otel.StatusCode.ERROR, type(error).__name__))
        self._child.end()
        self._child = None
        return current_time() - self._child_started

    def waiting(self, attempt: int) -> None:
        """An attempt starts waiting for governance (slot, quota, permit)."""
        self._open("esploro.governance.wait", {"esploro.attempt": attempt})

    def sending(self, attempt: int) -> None:
        """The attempt got its permit and goes on the wire."""
        self.wait += self._close()
        self.attempts += 1
        self._open("esploro.http.attempt", {"esploro.attempt": attempt})

    def answered(self, response: httpx.Response | None, error: BaseException | None) -> None:
        """The attempt ended: with a ``response``, or with ``error`` and none."""
        self.wire += self._close(error)
        if response is None:
            return
        self._span.set_attribute("http.response.status_code", response.status_code)
        remaining = response.headers.get("X-Exl-Api-Remaining", "")
        if remaining.isdigit():
            self._span.set_attribute("esploro.quota.remaining", int(remaining))

    def throttled(self, kind: str) -> None:
        """A 429 answered: ``per_second`` or ``daily``."""
        self._span.set_attribute("esploro.throttle.kind", kind)

    def end(self, error: BaseException | None = None) -> None:
        """The request is over: done, or failed with ``error``."""
        if self._child is not None:  # a wait that ended in a refusal or a cancellation
            self.wait += self._close(error)
        span = self._span
        span.set_attribute("esploro.attempts", self.attempts)
        span.set_attribute("esploro.permit_wait_s", round(self.wait, 6))
        span.set_attribute("esploro.wire_s", round(self.wire, 6))
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(_otel.Status(_otel.StatusCode.ERROR, _describe(error)))
        span.end()


async def on_the_wire(trace: RequestTrace | None, exchange: Awaitable[_Exchange]) -> _Exchange:
    """Await ``exchange`` (a response and its body), its time on the wire traced."""
    if trace is None:
        return await exchange
    try:
        result = await exchange
    except BaseException as exc:
        trace.answered(None, exc)
        raise
    trace.answered(result[0], None)
    return result


def _describe(error: BaseException) -> str:
    """The error's class and message (the library's messages never hold the key)."""
    from esploro_async.errors import EsploroError

    if isinstance(error, EsploroError):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__


def throttle_kind(error: EsploroError) -> str | None:
    """``per_second``/``daily`` for a 429 failure, else ``None``."""
    from esploro_async.errors import APIError, DailyQuotaExhaustedError

    if isinstance(error, DailyQuotaExhaustedError) and error.status_code == 429:
        return "daily"
    if isinstance(error, APIError) and error.status_code == 429:
        return "per_second"
    return None
