"""``client.researchers``: ``/esploro/v1/researchers``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

import attrs
from typing_extensions import Unpack

from esploro_async.models import Researcher
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import (
    ApiTestResult,
    BriefRecordError,
    Resource,
    StreamOptions,
    Timeout,
    as_json_object,
    json_object,
)
from esploro_async.resources._paths import check_orcid, segment

__all__ = ["DEFAULT_ORCID_SCOPES", "OrcidToken", "Researchers"]

DEFAULT_ORCID_SCOPES: tuple[str, ...] = ("/read-limited", "/activities/update", "/person/update")
"""The scopes an ORCID trust token usually carries (as sent by the Miami integration)."""


def _brief(data: dict[str, Any]) -> Researcher:
    return Researcher.adopt(data, view="brief")


def _snapshot(data: Mapping[str, Any]) -> str:
    """An exact text form: ``1`` vs ``"1"`` vs ``True``, and key order, all count."""
    return json.dumps(data, ensure_ascii=False)


@attrs.frozen
class OrcidToken:
    """An ORCID trust token for ``POST /researchers/{orcid}/token``.

    ``to_json()`` gives the API's dotted keys: ``access.token``, ``token.type``,
    ``refresh.token``, ``expiry`` (seconds, as a string) and ``scopes``.
    """

    access_token: str
    refresh_token: str | None = None
    expires_in: int | str | None = None
    """Lifetime in seconds (``expires_in`` of the ORCID OAuth answer)."""
    token_type: str = "bearer"
    scopes: Sequence[str] = DEFAULT_ORCID_SCOPES

    def to_json(self) -> dict[str, Any]:
        """The request body."""
        body: dict[str, Any] = {"access.token": self.access_token, "token.type": self.token_type}
        if self.refresh_token is not None:
            body["refresh.token"] = self.refresh_token
        if self.expires_in is not None:
            body["expiry"] = str(self.expires_in)
        body["scopes"] = list(self.scopes)
        return body


class Researchers(Resource):
    """Researchers (Alma users with a researcher profile).

    The API's PUT is swap-all: fields missing from the body are reset. Write back only full
    records (``get``), or use `edit`, which fetches, yields and writes back only on change.
    """

    path = "/esploro/v1/researchers"

    def _item(self, primary_id: str) -> str:
        return f"{self.path}/{segment(primary_id, 'researcher primary id')}"

    def list(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Researcher]:
        """Every researcher, as brief records (``view="brief"``), fetched concurrently.

        ``params`` are extra query parameters (the API documents none besides paging).
        Options: see `OffsetStream` (``page_size``, ``ordered``, ``resume_from``, …):

        ```python
        async for researcher in client.researchers.list():
            print(researcher.primary_id, researcher.last_name)
        ```
        """
        return self._stream(self.path, "user", _brief, params or {}, options)

    async def get(
        self,
        primary_id: str,
        *,
        view: Literal["full", "brief"] = "full",
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Researcher:
        """One researcher by primary id; the record's ``view`` is the one asked for:

        ```python
        jane = await client.researchers.get("jdoe")
        print(jane.orcid, jane.affiliations)
        ```

        Raises `NotFoundError` for an unknown id (the real API answers HTTP 400 ``401861``),
        `InvalidIdentifierError` for an id that could leave the endpoint (``..``).
        """
        if view not in ("full", "brief"):
            raise ValueError(f"view must be 'full' or 'brief', not {view!r}")
        data = await self._get_object(
            self._item(primary_id),
            {**(params or {}), "view": view},
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Researcher.adopt(data, view=view)

    async def create(
        self,
        researcher: Researcher | Mapping[str, Any],
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Researcher:
        """Create a researcher (``POST``) and return the record the API answers with.

        Never replayed after an ambiguous failure (timeout, broken connection): check with
        `get` before trying again:

        ```text
        await client.researchers.create({"primary_id": "jdoe", "is_researcher": True, ...})
        ```
        """
        body = as_json_object(researcher, "researcher")
        response = await self._request(
            "POST",
            self.path,
            params=params,
            json=body,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Researcher.adopt(json_object(response), view="full")

    async def update(
        self,
        researcher: Researcher,
        *,
        force: bool = False,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Researcher:
        """Replace a researcher with ``researcher`` (``PUT``, swap-all); returns the answer.

        Refuses (`BriefRecordError`) a record with ``view == "brief"`` (a list item): written
        back, it would reset every field it lacks. Pass ``force=True`` to send it anyway.
        Records of unknown origin (``view=None``, e.g. built with ``Researcher.from_dict``)
        are sent: they are assumed complete. Prefer `edit` for read-modify-write:

        ```python
        jane = await client.researchers.get("jdoe")
        jane.last_name = "Doe-Smith"
        await client.researchers.update(jane)
        ```
        """
        if not isinstance(researcher, Researcher):
            raise TypeError(f"update() takes a Researcher, not {type(researcher).__name__}")
        primary_id = researcher.primary_id
        if not primary_id:
            raise ValueError("the researcher has no primary_id: cannot address the PUT")
        return await self._put(
            primary_id,
            researcher,
            force=force,
            params=params,
            extra_headers=extra_headers,
            timeout=timeout,
        )

    async def _put(
        self,
        primary_id: str,
        researcher: Researcher,
        *,
        force: bool = False,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Researcher:
        if researcher.view == "brief" and not force:
            raise BriefRecordError(
                f"refusing to PUT researcher {primary_id!r}: it is a brief list record, and a "
                "PUT resets every field it lacks. Fetch it with researchers.get() (or use "
                "researchers.edit()), or pass force=True"
            )
        response = await self._request(
            "PUT",
            self._item(primary_id),
            params=params,
            json=researcher.to_dict(),
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Researcher.adopt(json_object(response), view="full")

    async def delete(
        self,
        primary_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        """Delete a researcher (``DELETE``, answered 204). `NotFoundError` if unknown."""
        await self._request(
            "DELETE",
            self._item(primary_id),
            params=params,
            extra_headers=extra_headers,
            timeout=timeout,
        )

    async def add_orcid_token(
        self,
        orcid: str,
        token: OrcidToken | Mapping[str, Any],
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, Any]:
        """Store an ORCID trust token for the researcher with this ORCID.

        ``token`` is an `OrcidToken` or the raw body (``{"access.token": ..., ...}``);
        ``orcid`` may be bare or an ``https://orcid.org/...`` URL; its check digit is verified
        (`InvalidIdentifierError` before sending). Returns the API's answer. Not replayed
        after an ambiguous failure:

        ```python
        await client.researchers.add_orcid_token(
            "0000-0002-1825-0097",
            OrcidToken(access_token="...", refresh_token="...", expires_in=631138518),
        )
        ```
        """
        body = token.to_json() if isinstance(token, OrcidToken) else dict(token)
        path = f"{self.path}/{segment(check_orcid(orcid), 'ORCID')}/token"
        response = await self._request(
            "POST", path, params=params, json=body, extra_headers=extra_headers, timeout=timeout
        )
        return json_object(response) if response.content else {}

    async def test(
        self,
        *,
        write: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ApiTestResult:
        """Check the key's read (``GET``) or write (``POST``) permission on researchers.

        A cheap way to read the remaining daily quota:

        ```python
        print((await client.researchers.test()).quota_remaining)
        ```
        """
        return await self._area_test(
            f"{self.path}/test", write=write, extra_headers=extra_headers, timeout=timeout
        )

    @contextlib.asynccontextmanager
    async def edit(self, primary_id: str) -> AsyncIterator[Researcher]:
        """Read-modify-write one researcher safely.

        Fetches the full record, yields it, and on normal exit PUTs it back only if it
        changed (exact JSON comparison). Nothing is sent if the block raises:

        ```python
        async with client.researchers.edit("jdoe") as jane:
            jane.orcid = "0000-0002-1825-0097"
        ```

        The PUT goes to ``primary_id`` even if the block changed the record's id.
        """
        record = await self.get(primary_id)
        before = _snapshot(record.to_dict())
        yield record
        if _snapshot(record.to_dict()) != before:
            await self._put(primary_id, record)
