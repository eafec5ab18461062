"""``esploro_async.testing``: a simulated Ex Libris API gateway in front of one Esploro
institution, for tests (virtual time with ``looptime``), benchmarks, demos and CI.

Quick start:

```python
from esploro_async.testing import SimulatedGateway, SIM_API_KEY

gw = SimulatedGateway(rate_limit=25)
async with httpx.AsyncClient(
    transport=gw.transport(),
    base_url="http://esploro.localhost",
    headers={"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"},
) as client:
    r = await client.get("/esploro/v1/researchers", params={"limit": 100})
```

See :class:`SimulatedGateway` for the exact governance rules and :mod:`.api` for the
endpoints and the simulated error codes.
"""

from esploro_async.testing.analytics import Report
from esploro_async.testing.faults import Fault, FaultKind, Latency, Stalls
from esploro_async.testing.gateway import (
    SIM_API_KEY,
    SIM_READ_ONLY_KEY,
    RequestRecord,
    SimRequest,
    SimResponse,
    SimulatedGateway,
    max_in_window,
)
from esploro_async.testing.institution import RecordStore, SyntheticInstitution
from esploro_async.testing.process import GatewayLog, GatewayProcess
from esploro_async.testing.redis_server import RedisServer, RedisServerMissing
from esploro_async.testing.server import SimServer
from esploro_async.testing.transport import SimTransport

__all__ = [
    "SIM_API_KEY",
    "SIM_READ_ONLY_KEY",
    "Fault",
    "FaultKind",
    "GatewayLog",
    "GatewayProcess",
    "Latency",
    "RecordStore",
    "RedisServer",
    "RedisServerMissing",
    "Report",
    "RequestRecord",
    "SimRequest",
    "SimResponse",
    "SimServer",
    "SimTransport",
    "SimulatedGateway",
    "Stalls",
    "SyntheticInstitution",
    "max_in_window",
]
