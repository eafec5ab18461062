"""Blocking ``client.researchers`` (see `esploro_async.resources.researchers`).

``edit`` is a ``with`` block:

```python
with client.researchers.edit("jdoe") as jane:
    jane.orcid = "0000-0002-1825-0097"
```

Nothing is sent if the block raises.
"""

from __future__ import annotations

from esploro_async.resources import Researchers
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncResearchers"]


class SyncResearchers(SyncResource[Researchers]):
    """Blocking version of `esploro_async.resources.Researchers`."""

    list = blocking(Researchers.list)
    get = blocking(Researchers.get)
    create = blocking(Researchers.create)
    update = blocking(Researchers.update)
    delete = blocking(Researchers.delete)
    add_orcid_token = blocking(Researchers.add_orcid_token)
    test = blocking(Researchers.test)
    edit = blocking(Researchers.edit)
