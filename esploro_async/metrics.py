"""Governance metrics through OpenTelemetry (optional: ``pip install 'esploro-async[otel]'``).

Only ``opentelemetry-api`` is needed: the application configures the SDK and exporter it
wants (Prometheus, OTLP, …); without an SDK the instruments are no-ops, and without the
package `instrument` returns ``False`` and does nothing. Every instrument is asynchronous
(read from `Governance.snapshot` at collection time), so the request path pays nothing:

```python
from esploro_async.metrics import instrument
instrument(client.governance, attributes={"service.name": "portal"})
```

Instruments (names and units after the OpenTelemetry conventions):

=========================================  =================  ==============================
``esploro.governance.requests``            counter            attempts granted ({request})
``esploro.governance.retries``             counter            of those, retries
``esploro.governance.throttled``           counter            429s, ``kind=per_second``
``esploro.governance.waiting``             up-down counter    waiting, by ``lane`` if known
``esploro.governance.in_flight``           up-down counter    attempts on the wire
``esploro.governance.rate``                gauge              rate in force ({request}/s)
``esploro.governance.paused``              gauge              seconds left of a 429 pause
``esploro.governance.quota.remaining``     gauge              daily quota left (if known)
``esploro.governance.quota.resets_in``     gauge              seconds until the reset
=========================================  =================  ==============================

A ``429 DAILY_THRESHOLD`` is never retried; it shows as ``quota.remaining`` 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from esploro_async.governance.events import GovernanceSnapshot
from esploro_async.governance.protocol import GovernanceProtocol

__all__ = ["METER_NAME", "instrument"]

METER_NAME = "esploro_async"
"""The instrumentation scope of every instrument."""

_Read = Callable[[GovernanceSnapshot], "float | None"]


def instrument(
    governance: GovernanceProtocol,
    *,
    meter_provider: Any = None,
    attributes: Mapping[str, str] | None = None,
) -> bool:
    """Report ``governance``'s metrics through OpenTelemetry; ``False`` without the package.

    Args:
        governance: e.g. ``client.governance`` or a `RedisGovernance`.
        meter_provider: an OpenTelemetry ``MeterProvider`` (default: the global one).
        attributes: added to every measurement (e.g. the institution, the service).
    """
    try:
        from opentelemetry import metrics
        from opentelemetry.metrics import CallbackOptions, Observation
    except ImportError:
        return False
    from esploro_async import __version__

    provider = meter_provider or metrics.get_meter_provider()
    meter = provider.get_meter(METER_NAME, __version__)
    base = dict(attributes or {})
    institution = getattr(governance, "institution", None)
    if institution is not None:
        base.setdefault("esploro.institution", institution)

    def observe(read: _Read, extra: Mapping[str, str] | None = None) -> Any:
        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            value = read(governance.snapshot())
            return [] if value is None else [Observation(value, {**base, **(extra or {})})]

        return callback

    def waiting(_options: CallbackOptions) -> Iterable[Observation]:
        by_lane = getattr(getattr(governance, "rate", None), "waiting", None)
        if isinstance(by_lane, dict):
            return [Observation(n, {**base, "lane": lane}) for lane, n in by_lane.items()]
        return [Observation(governance.snapshot().waiting, base)]

    prefix = "esploro.governance."
    meter.create_observable_counter(
        prefix + "requests",
        [observe(lambda s: s.requests)],
        unit="{request}",
        description="Attempts granted by governance (retries included)",
    )
    meter.create_observable_counter(
        prefix + "retries", [observe(lambda s: s.retries)], unit="{request}"
    )
    meter.create_observable_counter(
        prefix + "throttled",
        [observe(lambda s: s.throttled, {"kind": "per_second"})],
        unit="{response}",
        description="429 responses of the gateway",
    )
    meter.create_observable_up_down_counter(prefix + "waiting", [waiting], unit="{request}")
    meter.create_observable_up_down_counter(
        prefix + "in_flight", [observe(lambda s: s.in_flight)], unit="{request}"
    )
    meter.create_observable_gauge(
        prefix + "rate",
        [observe(lambda s: s.effective_rate)],
        unit="{request}/s",
        description="Request starts per second allowed now (adaptive, after the margin)",
    )
    meter.create_observable_gauge(
        prefix + "paused", [observe(lambda s: s.paused_until_in)], unit="s"
    )
    meter.create_observable_gauge(
        prefix + "quota.remaining", [observe(lambda s: s.quota_remaining)], unit="{request}"
    )
    meter.create_observable_gauge(prefix + "quota.resets_in", [observe(_resets_in)], unit="s")
    return True


def _resets_in(snapshot: GovernanceSnapshot) -> float:
    from datetime import datetime, timezone

    return max(0.0, (snapshot.quota_resets_at - datetime.now(timezone.utc)).total_seconds())
