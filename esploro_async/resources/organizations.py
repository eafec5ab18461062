"""``client.organizations``: ``/esploro/v1/organizations/internal`` (research organizations)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import Unpack

from esploro_async.models import Organization
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import ApiTestResult, Resource, StreamOptions, Timeout
from esploro_async.resources._paths import segment

__all__ = ["Organizations"]


def _brief(data: dict[str, Any]) -> Organization:
    return Organization.adopt(data, view="brief")


class Organizations(Resource):
    """The institution's internal research organizations (read-only)."""

    path = "/esploro/v1/organizations"

    def list(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Organization]:
        """Every internal organization (list key ``research_organization``), concurrently:

        ```python
        async for org in client.organizations.list():
            print(org.organization_code, org.name)
        ```
        """
        return self._stream(
            f"{self.path}/internal", "research_organization", _brief, params or {}, options
        )

    async def get(
        self,
        code: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Organization:
        """One organization by its code. `NotFoundError` if unknown:

        ```python
        org = await client.organizations.get("01SIM_INST___1234")
        ```
        """
        path = f"{self.path}/internal/{segment(code, 'organization code')}"
        data = await self._get_object(path, params, extra_headers=extra_headers, timeout=timeout)
        return Organization.adopt(data, view="full")

    async def test(
        self,
        *,
        write: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ApiTestResult:
        """Check the key's read (``GET``) or write (``POST``) permission on organizations."""
        return await self._area_test(
            f"{self.path}/test", write=write, extra_headers=extra_headers, timeout=timeout
        )
