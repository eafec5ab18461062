"""``client.config.sets``: sets and their members.

Paths, each confirmed by a public source:

* ``GET /esploro/v1/researchconf/sets`` (``content_type``, ``q=name~``) and
  ``GET /esploro/v1/researchconf/sets/{id}/members``: the Esploro Cloud App services
  (``searchSets``, set members paged by 10).
* ``POST /almaws/v1/conf/sets``, ``GET``/``DELETE /almaws/v1/conf/sets/{id}`` and
  ``POST /almaws/v1/conf/sets/{id}?op=add_members|delete_members&fail_on_invalid_id=``:
  the real sandbox responses of the Esploro files-loader Cloud App
  (``Testing-Environment/esploro-csv-researcher-loader``, ``sets-createset-post-api.md``
  and ``sets-managemembers-post-api.md``); every set payload links to ``/almaws/v1/conf``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Unpack

from esploro_async.models import Set, SetMember
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import (
    Resource,
    StreamOptions,
    Timeout,
    flag,
    json_object,
)
from esploro_async.resources._paths import segment

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient

__all__ = ["SetMembers", "Sets"]

ALMA_SETS = "/almaws/v1/conf/sets"
ESPLORO_SETS = "/esploro/v1/researchconf/sets"


def _member(data: dict[str, Any]) -> SetMember:
    return SetMember.adopt(data, view="brief")


def _set(data: dict[str, Any]) -> Set:
    return Set.adopt(data, view="brief")


def _member_ids(ids: Iterable[str]) -> list[str]:
    if isinstance(ids, str):
        raise TypeError("pass a list of member ids, not one string")
    wanted = list(dict.fromkeys(ids))
    for member_id in wanted:
        segment(member_id, "member id")  # the same checks as an id in a path
    if not wanted:
        raise ValueError("no member ids given")
    return wanted


class SetMembers(Resource):
    """The members of one set: ``client.config.sets.members(set_id)``."""

    def __init__(self, client: BaseClient, set_id: str) -> None:
        super().__init__(client)
        self.set_id = set_id
        self._segment = segment(set_id, "set id")

    def list(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[SetMember]:
        """The members (list key ``member``): ids and links, from
        ``/esploro/v1/researchconf/sets/{id}/members`` (Esploro Cloud App services):

        ```python
        ids = [m.id async for m in client.config.sets.members("9563654780000561").list()]
        ```
        """
        path = f"{ESPLORO_SETS}/{self._segment}/members"
        return self._stream(path, "member", _member, params or {}, options)

    async def add(
        self,
        ids: Iterable[str],
        *,
        fail_on_invalid_id: bool = True,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Set:
        """Add members to an itemized set (``op=add_members``); returns the updated set.

        ``fail_on_invalid_id=False`` lets the API skip unknown ids instead of refusing the
        whole call. Safe to replay (adding a member twice changes nothing):

        ```python
        await client.config.sets.members(set_id).add(["991274654700561"])
        ```
        """
        return await self._members_op(
            "add_members", ids, fail_on_invalid_id, params, extra_headers, timeout
        )

    async def remove(
        self,
        ids: Iterable[str],
        *,
        fail_on_invalid_id: bool = True,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Set:
        """Remove members from an itemized set (``op=delete_members``); returns the set."""
        return await self._members_op(
            "delete_members", ids, fail_on_invalid_id, params, extra_headers, timeout
        )

    async def _members_op(
        self,
        op: Literal["add_members", "delete_members"],
        ids: Iterable[str],
        fail_on_invalid_id: bool,
        params: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None,
        timeout: Timeout,
    ) -> Set:
        body = {"members": {"member": [{"id": i} for i in _member_ids(ids)]}}
        query = {**(params or {}), "op": op, "fail_on_invalid_id": flag(fail_on_invalid_id)}
        response = await self._request(
            "POST",
            f"{ALMA_SETS}/{self._segment}",
            params=query,
            json=body,
            format="json",
            idempotent=True,  # the same membership change twice leaves the same set
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Set.adopt(json_object(response), view="full")


class Sets(Resource):
    """Sets: list and search (Esploro), create, read, delete and change members (Alma conf)."""

    def list(
        self,
        *,
        content_type: Literal["IER", "RESEARCHERS"] | str | None = None,
        q: str | None = None,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Set]:
        """Sets by content type (``IER`` = research assets, ``RESEARCHERS``) and brief search
        ``q`` (e.g. ``"name~FilesLoader"``), from ``/esploro/v1/researchconf/sets``:

        ```python
        async for s in client.config.sets.list(content_type="IER", q="name~FilesLoader"):
            print(s.id, s.name, s.number_of_members)
        ```
        """
        query = {**(params or {}), "content_type": content_type, "q": q}
        return self._stream(ESPLORO_SETS, "set", _set, query, options)

    def __call__(
        self,
        *,
        content_type: Literal["IER", "RESEARCHERS"] | str | None = None,
        q: str | None = None,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Set]:
        """Deprecated: ``client.config.sets(...)`` is ``client.config.sets.list(...)``."""
        warnings.warn(
            "client.config.sets(...) is deprecated; use client.config.sets.list(...)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.list(content_type=content_type, q=q, params=params, **options)

    async def get(
        self,
        set_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Set:
        """One set by id (``GET /almaws/v1/conf/sets/{id}``). `NotFoundError` if unknown."""
        data = await self._get_object(
            f"{ALMA_SETS}/{segment(set_id, 'set id')}",
            params,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Set.adopt(data, view="full")

    async def create(
        self,
        name: str,
        *,
        content: Literal["IER", "RESEARCHERS"] | str = "IER",
        query: str | None = None,
        description: str | None = None,
        private: bool = True,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Set:
        """Create a set (``POST /almaws/v1/conf/sets``) and return it with its new id.

        Without ``query`` the set is ``ITEMIZED`` (add members with
        ``members(id).add``); with one it is ``LOGICAL`` (members come from the query).
        Never replayed after an ambiguous failure (a second set would be created):

        ```python
        s = await client.config.sets.create("Files to load 2026-11-29")
        await client.config.sets.members(s.id).add(asset_ids)
        ```
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a set needs a name")
        body: dict[str, Any] = {
            "name": name,
            "type": {"value": "LOGICAL" if query else "ITEMIZED"},
            "content": {"value": content},
            "private": {"value": "true" if private else "false"},
            "status": {"value": "ACTIVE"},
        }
        if description is not None:
            body["description"] = description
        if query:
            body["query"] = {"value": query}
        response = await self._request(
            "POST",
            ALMA_SETS,
            params=params,
            json=body,
            format="json",
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Set.adopt(json_object(response), view="full")

    async def delete(
        self,
        set_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        """Delete a set (``DELETE /almaws/v1/conf/sets/{id}``, answered 204)."""
        await self._request(
            "DELETE",
            f"{ALMA_SETS}/{segment(set_id, 'set id')}",
            params=params,
            extra_headers=extra_headers,
            timeout=timeout,
        )

    def members(self, set_id: str) -> SetMembers:
        """The members of set ``set_id``: ``.list()``, ``.add(ids)``, ``.remove(ids)``."""
        return SetMembers(self._client, set_id)
