"""``client.alma``: the Alma areas Esploro integrations reach with the same key.

* ``client.alma.users.get(id)``: ``GET /almaws/v1/users/{id}``, the Alma user behind a
  researcher (the researcher loader Cloud App reads and writes researchers there);
* ``client.alma.analytics``: Alma Analytics, ``/almaws/v1/analytics/reports`` and
  ``/paths``, paged and read exactly like Esploro's reports (`AnalyticsStream`);
* ``client.alma.code_table(name)``: ``GET /almaws/v1/conf/code-tables/{name}`` (e.g.
  ``systemJobStatus``, the job statuses ``wait_for`` knows).

Alma's configuration (sets, jobs) is ``client.config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from esploro_async.models import CodeTable, Researcher
from esploro_async.resources._base import ApiTestResult, Resource, Timeout
from esploro_async.resources._code_tables import get_code_table
from esploro_async.resources._paths import segment
from esploro_async.resources.analytics import Analytics

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient

__all__ = ["Alma", "AlmaAnalytics", "AlmaUsers"]


class AlmaUsers(Resource):
    """Alma users (``/almaws/v1/users``): a researcher is an Alma user."""

    path = "/almaws/v1/users"

    async def get(
        self,
        user_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Researcher:
        """The Alma user ``user_id`` as a `Researcher` record. The id is the primary id; pass
        ``params={"user_id_type": "..."}`` for another kind. For example:

        ```python
        user = await client.alma.users.get("jdoe")
        print(user.user_full_name, user.is_researcher)
        ```

        `NotFoundError` if unknown.
        """
        data = await self._get_object(
            f"{self.path}/{segment(user_id, 'user id')}",
            params,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Researcher.adopt(data, view="full")

    async def test(
        self,
        *,
        write: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ApiTestResult:
        """Check the key's read (``GET``) permission on Alma users (``write=True``: ``POST``)."""
        return await self._area_test(
            f"{self.path}/test", write=write, extra_headers=extra_headers, timeout=timeout
        )


class AlmaAnalytics(Analytics):
    """Alma Analytics (``/almaws/v1/analytics``): `report`, `paths` and `test`, as Esploro's."""

    path = "/almaws/v1/analytics"
    reports_path = "/almaws/v1/analytics/reports"


class Alma(Resource):
    """The Alma areas: ``users``, ``analytics`` and `code_table`."""

    path = "/almaws/v1"

    def __init__(self, client: BaseClient) -> None:
        super().__init__(client)
        self.users = AlmaUsers(client)
        """Alma users."""
        self.analytics = AlmaAnalytics(client)
        """Alma Analytics reports and paths."""

    async def code_table(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> CodeTable:
        """An Alma code table by name, from ``/almaws/v1/conf/code-tables/{name}``. For
        example:

        ```python
        statuses = (await client.alma.code_table("systemJobStatus")).as_mapping()
        ```

        `NotFoundError` if unknown.
        """
        return await get_code_table(
            self,
            f"{self.path}/conf/code-tables",
            name,
            params,
            extra_headers=extra_headers,
            timeout=timeout,
        )
