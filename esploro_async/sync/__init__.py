"""Blocking facade: `EsploroClient` for scripts and notebooks.

Same arguments, areas and methods as `esploro_async.EsploroClient`, without ``await``:

```python
from esploro_async.sync import EsploroClient

with EsploroClient(region="eu") as client:
    for researcher in client.researchers.list():
        print(researcher.primary_id)
```

The async client runs on one event loop in a background thread, shared by every open
blocking client of the process (see `esploro_async.sync._runner`).
"""

from esploro_async.sync._runner import ClientClosedError
from esploro_async.sync._streams import AnalyticsStream, OffsetStream
from esploro_async.sync.activities import SyncActivities
from esploro_async.sync.alma import SyncAlma
from esploro_async.sync.analytics import SyncAnalytics
from esploro_async.sync.assets import SyncAssets
from esploro_async.sync.client import EsploroClient
from esploro_async.sync.conf import SyncMappingTablesMixin
from esploro_async.sync.organizations import SyncOrganizations
from esploro_async.sync.researchconf import SyncConfiguration
from esploro_async.sync.researchers import SyncResearchers

__all__ = [
    "AnalyticsStream",
    "ClientClosedError",
    "EsploroClient",
    "OffsetStream",
    "SyncActivities",
    "SyncAlma",
    "SyncAnalytics",
    "SyncAssets",
    "SyncConfiguration",
    "SyncMappingTablesMixin",
    "SyncOrganizations",
    "SyncResearchers",
]
