"""Settings shared by every command, from flags or the environment, and the client they build."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal

import attrs

from esploro_async.client import EsploroClient
from esploro_async.errors import ConfigurationError
from esploro_async.session.config import API_KEY_ENV

if TYPE_CHECKING:  # loaded by `connect` only for --simulate or a Redis URL
    from esploro_async.testing import Fault, SimulatedGateway

__all__ = ["Connection", "Settings", "SimulationSettings", "connect"]

SIMULATED_BASE_URL = "http://esploro.localhost"


@attrs.frozen
class SimulationSettings:
    """The in-process simulated institution used by ``--simulate``."""

    researchers: int = 5_000
    assets: int = 5_000
    seed: int = 0
    latency: str = "0.05:0.3"
    daily_quota: int = 1_000_000
    faults: tuple[str, ...] = ()
    """Injected faults, each ``KIND[:ENDPOINT[:METHOD]]`` (e.g. ``http_500:assets:POST``)."""

    def fault_rules(self) -> list[Fault]:
        """The `Fault` rules of ``faults``; `ConfigurationError` for an unknown kind."""
        from esploro_async.testing import Fault

        rules = []
        for spec in self.faults:
            kind, endpoint, method = [*spec.split(":"), None, None][:3]
            try:
                rules.append(Fault(kind, endpoint=endpoint or None, method=method or None))
            except ValueError:
                raise ConfigurationError(f"--sim-fault {spec!r}: unknown fault kind") from None
        return rules


@attrs.frozen
class Settings:
    """Connection and governance settings (flags win over ``ESPLORO_*`` variables)."""

    api_key: str | None = None
    region: str | None = None
    base_url: str | None = None
    redis_url: str | None = None
    institution: str | None = None
    daily_reserve: int | None = None
    safety_margin: float | Literal["auto"] | None = None
    simulate: SimulationSettings | None = None

    @classmethod
    def from_env(cls, **given: object) -> Settings:
        """Fill what was not given from ``ESPLORO_API_KEY``, ``ESPLORO_REGION``, …"""
        env = {
            "api_key": os.environ.get(API_KEY_ENV),
            "region": os.environ.get("ESPLORO_REGION"),
            "base_url": os.environ.get("ESPLORO_BASE_URL"),
            "redis_url": os.environ.get("ESPLORO_REDIS_URL"),
            "institution": os.environ.get("ESPLORO_INSTITUTION"),
        }
        values: dict[str, object] = {k: v for k, v in env.items() if v}
        values.update({k: v for k, v in given.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


@attrs.define
class Connection:
    """A client and, in simulation, the gateway behind it."""

    client: EsploroClient
    gateway: SimulatedGateway | None = None

    @property
    def where(self) -> str:
        """Where requests go, for messages."""
        if self.gateway is not None:
            return "the simulated gateway (in process)"
        return self.client.base_url


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Connection]:
    """Open a client for ``settings``: the real gateway, or the simulator with ``simulate``."""
    governance_options: dict[str, object] = {}
    if settings.daily_reserve is not None:
        governance_options["daily_reserve"] = settings.daily_reserve
    if settings.safety_margin is not None:
        governance_options["safety_margin"] = settings.safety_margin
    if settings.simulate is not None:
        async with _simulated(settings.simulate, governance_options) as connection:
            yield connection
        return
    if not settings.api_key:
        raise ConfigurationError(
            f"no API key: set {API_KEY_ENV} (or pass --api-key-file). To try this command without "
            "one, add --simulate: it runs against a built-in simulated institution."
        )
    if settings.redis_url:
        async with _shared(settings, settings.api_key, governance_options) as connection:
            yield connection
        return
    client = EsploroClient(
        settings.api_key,
        region=None if settings.base_url else settings.region,
        base_url=settings.base_url,
        **governance_options,  # type: ignore[arg-type]
    )
    async with client:
        yield Connection(client)


@asynccontextmanager
async def _simulated(
    sim: SimulationSettings, governance_options: dict[str, object]
) -> AsyncIterator[Connection]:
    """A client of an in-process simulated gateway (the simulator loads here)."""
    from esploro_async.testing import (
        SIM_API_KEY,
        Latency,
        SimulatedGateway,
        SyntheticInstitution,
    )

    gateway = SimulatedGateway(
        SyntheticInstitution(seed=sim.seed, researchers=sim.researchers, assets=sim.assets),
        latency=Latency.parse(sim.latency),
        faults=sim.fault_rules(),
        daily_quota=sim.daily_quota,
        seed=sim.seed,
    )
    client = EsploroClient(
        SIM_API_KEY,
        base_url=SIMULATED_BASE_URL,
        transport=gateway.transport(),
        **governance_options,  # type: ignore[arg-type]
    )
    async with client:
        yield Connection(client, gateway)


@asynccontextmanager
async def _shared(
    settings: Settings, api_key: str, governance_options: dict[str, object]
) -> AsyncIterator[Connection]:
    """A client whose governance is shared through Redis (the Redis client loads here)."""
    from esploro_async.governance.redis import RedisGovernance

    if not settings.institution:
        raise ConfigurationError(
            "with a Redis URL, also set ESPLORO_INSTITUTION (or --institution) to the "
            "institution code: every process of the institution must use the same one"
        )
    assert settings.redis_url is not None
    governance = RedisGovernance(
        settings.redis_url,
        institution=settings.institution,
        **governance_options,  # type: ignore[arg-type]
    )
    region = None if settings.base_url else settings.region
    try:
        async with EsploroClient(
            api_key, region=region, base_url=settings.base_url, governance=governance
        ) as client:
            yield Connection(client)
    finally:
        await governance.aclose()
