"""Blocking ``client.researchers`` (see `esploro_async.resources.researchers`).

``edit`` is a ``with`` block:

```python
with client.researchers.edit("jdoe") as jane:
    jane.orcid = "0000-0002-1825-0097"
```

Nothing is sent if the block raises.
"""

from __future__ import annotations

from typing import Final

from esploro_async.resources import Researchers
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncResearchers"]


class SyncResearchers(SyncResource[Researchers]):
    """Blocking version of `esploro_async.resources.Researchers`."""

    list: Final = blocking(Researchers.list)
    get: Final = blocking(Researchers.get)
    create: Final = blocking(Researchers.create)
    update: Final = blocking(Researchers.update)
    delete: Final = blocking(Researchers.delete)
    add_orcid_token: Final = blocking(Researchers.add_orcid_token)
    test: Final = blocking(Researchers.test)
    edit: Final = blocking(Researchers.edit)
