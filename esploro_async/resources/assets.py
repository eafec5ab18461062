"""``client.assets``: ``/esploro/v1/assets`` (research outputs)."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from xml.etree.ElementTree import Element

import anyio
import attrs
from typing_extensions import Unpack

from esploro_async.errors import InvalidIdentifierError, NotFoundError
from esploro_async.models import Asset, assets_from_xml, build_asset_patch_xml
from esploro_async.models._json import object_list, total_record_count
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import (
    ApiTestResult,
    PatchFormatError,
    Resource,
    StreamOptions,
    Timeout,
    as_json_object,
    flag,
    json_object,
)
from esploro_async.resources._paths import segment
from esploro_async.session import EsploroResponse

__all__ = ["MAX_IDS_PER_CALL", "AssetBatch", "Assets"]

MAX_IDS_PER_CALL = 100
"""Asset ids per ``GET /assets/{ids}`` call (the API's own maximum is unknown; URL length)."""

_PAGE = 100
_LINKS_TO_EXTRACT = "temporary.linksToExtract"


def _asset(data: dict[str, Any]) -> Asset:
    return Asset.adopt(data, view="full")


def _date(value: dt.date | str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(
            f"update_date_from must be a date or 'YYYY-MM-DD', got {value!r}"
        ) from None


def _records(response: EsploroResponse) -> list[Asset]:
    """The assets of a ``records`` envelope, JSON or XML (a missing list key is ``[]``)."""
    if isinstance(response.data, Element):
        return assets_from_xml(response.content, view="full")
    return [_asset(r) for r in object_list(json_object(response).get("records"))]


_T = TypeVar("_T")


async def _all_or_nothing(coros: list[Coroutine[Any, Any, _T]]) -> list[_T]:
    """Run concurrently; on the first failure cancel the rest and raise that error as is."""
    results: dict[int, _T] = {}
    failure: list[Exception] = []

    async def run(index: int, coro: Coroutine[Any, Any, _T], scope: anyio.CancelScope) -> None:
        try:
            results[index] = await coro
        except Exception as exc:
            failure.append(exc)
            scope.cancel()

    async with anyio.create_task_group() as tg:
        for index, coro in enumerate(coros):
            tg.start_soon(run, index, coro, tg.cancel_scope)
    if failure:
        raise failure[0]
    return [results[index] for index in range(len(coros))]


def _by_id(assets: Iterable[Asset]) -> dict[str, Asset]:
    """The first asset answered for each id (assets without one are dropped)."""
    found: dict[str, Asset] = {}
    for asset in assets:
        aid = asset.asset_id
        if aid is not None and aid not in found:
            found[aid] = asset
    return found


def _patch_format(
    body: Mapping[str, Any], format: Literal["auto", "json", "xml"]
) -> Literal["json", "xml"]:
    """The format a patch of ``body`` is sent in: identifiers go as XML only, links to
    extract as JSON only (`PatchFormatError` when ``body`` or ``format`` wants both)."""
    identifiers = [k for k in body if k.startswith("identifier.")]
    links = _has_links_to_extract(body)
    if identifiers and links:
        raise PatchFormatError(
            f"cannot patch {', '.join(identifiers)} together with {_LINKS_TO_EXTRACT}: "
            "identifiers are accepted in XML only and linksToExtract in JSON only; "
            "send two patch() calls"
        )
    fmt: Literal["json", "xml"] = "xml" if identifiers else "json"
    if format == "auto":
        return fmt
    if format == "json" and identifiers:
        raise PatchFormatError(
            f"{', '.join(identifiers)} can only be patched as XML (format='xml' or 'auto')"
        )
    if format == "xml" and links:
        raise PatchFormatError(f"{_LINKS_TO_EXTRACT} can only be patched as JSON")
    return format


def _has_links_to_extract(fields: Mapping[str, Any]) -> bool:
    temporary = fields.get("temporary")
    return _LINKS_TO_EXTRACT in fields or (
        isinstance(temporary, Mapping) and "linksToExtract" in temporary
    )


@attrs.frozen
class AssetBatch:
    """The result of `Assets.get_many`."""

    found: list[Asset]
    """The assets found, in the order their ids were asked (each id once)."""
    missing: list[str]
    """The ids asked for that the API did not return, in the order asked."""

    def by_id(self) -> dict[str, Asset]:
        """The found assets keyed by asset id."""
        return {a.asset_id: a for a in self.found if a.asset_id is not None}


class Assets(Resource):
    """Research assets. They have no PUT or DELETE: change them with `patch`."""

    path = "/esploro/v1/assets"

    def list(
        self,
        *,
        update_date_from: dt.date | str | None = None,
        doi: str | Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Asset]:
        """Assets changed since a date, or with given DOIs, fetched concurrently.

        The API needs one of the two filters: to list every asset, give a date before the
        first record was created (e.g. ``update_date_from="1900-01-01"``):

        ```python
        async for asset in client.assets.list(update_date_from="2026-01-01"):
            print(asset.asset_id, asset.title)
        ```
        """
        if update_date_from is None and not doi:
            raise ValueError(
                "assets.list() needs update_date_from=... or doi=...: the API lists nothing "
                "without a filter (use a date before your first record to list them all)"
            )
        query: dict[str, Any] = dict(params or {})
        if update_date_from is not None:
            query["update_date_from"] = _date(update_date_from)
        if doi:
            query["doi"] = doi if isinstance(doi, str) else ",".join(doi)
        return self._stream(self.path, "records", _asset, query, options)

    @staticmethod
    def _check_id(asset_id: str) -> str:
        segment(asset_id, "asset id")  # refuses empty ids and dot segments
        if "," in asset_id:
            raise InvalidIdentifierError(f"one asset id expected, got {asset_id!r}: use get_many()")
        return asset_id.strip()

    async def get(
        self,
        asset_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Asset:
        """One asset by id (``originalRepository.assetId``):

        ```python
        asset = await client.assets.get("991283105600561")
        print(asset.title, asset.doi)
        ```

        Raises `NotFoundError` for an unknown id (also when the API says so with HTTP 400
        and a "not found" code).
        """
        path = f"{self.path}/{segment(self._check_id(asset_id), 'asset id')}"
        response = await self._request(
            "GET",
            path,
            params=params,
            format="json",
            extra_headers=extra_headers,
            timeout=timeout,
        )
        records = _records(response)
        if not records:
            raise NotFoundError(
                f"no asset {asset_id!r} in the answer",
                status_code=response.status_code,
                quota_remaining=response.quota_remaining,
                method="GET",
                path=response.path,
            )
        return records[0]

    async def get_many(
        self,
        asset_ids: Iterable[str],
        *,
        chunk_size: int = MAX_IDS_PER_CALL,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> AssetBatch:
        """Many assets by id: calls of at most ``chunk_size`` comma-joined ids, concurrently.

        Ids are de-duplicated (first occurrence kept); unknown ids are reported in
        ``missing``, not raised (a call answered `NotFoundError`, i.e. 404 or a "not found"
        error code with HTTP 400, means none of its ids exists). Any
        other error is raised as is, and the other calls are cancelled:

        ```python
        batch = await client.assets.get_many(ids)
        for asset in batch.found: ...
        print("not found:", batch.missing)
        ```
        """
        if not 1 <= chunk_size <= MAX_IDS_PER_CALL:
            raise ValueError(f"chunk_size must be between 1 and {MAX_IDS_PER_CALL}")
        wanted = list(dict.fromkeys(self._check_id(i) for i in asset_ids))
        chunks = [wanted[i : i + chunk_size] for i in range(0, len(wanted), chunk_size)]
        pages = await _all_or_nothing(
            [self._fetch_chunk(c, params, extra_headers, timeout) for c in chunks]
        )
        results = _by_id(asset for page in pages for asset in page)
        return AssetBatch(
            found=[results[i] for i in wanted if i in results],
            missing=[i for i in wanted if i not in results],
        )

    async def _fetch_chunk(
        self,
        chunk: builtins.list[str],
        params: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None,
        timeout: Timeout,
    ) -> builtins.list[Asset]:
        path = f"{self.path}/{segment(','.join(chunk), 'asset ids')}"
        out: builtins.list[Asset] = []
        offset = 0
        while True:
            query = {**(params or {}), "limit": _PAGE, "offset": offset}
            try:
                response = await self._request(
                    "GET",
                    path,
                    params=query,
                    format="json",
                    extra_headers=extra_headers,
                    timeout=timeout,
                )
            except NotFoundError:
                return out  # none of these ids exists
            page = _records(response)
            out.extend(page)
            offset += len(page)
            total = total_record_count(response.data) if isinstance(response.data, dict) else None
            if not page or total is None or offset >= min(total, len(chunk)):
                return out

    async def create(
        self,
        records: Asset | Mapping[str, Any] | Iterable[Asset | Mapping[str, Any]],
        *,
        is_draft: bool | None = None,
        reject_duplicate: bool | None = None,
        author_affiliation_enhancement: bool | None = None,
        override_author_affiliations: bool | None = None,
        open_access_enrichment: bool | None = None,
        import_profile: str | None = None,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> builtins.list[Asset]:
        """Create assets (``POST {"records": [...]}``); returns the records answered.

        The keyword parameters are the query parameters reported for this call (unverified:
        ``None`` leaves them out); anything else goes in ``params``. Never replayed after an
        ambiguous failure: look the asset up (e.g. ``list(doi=...)``) before retrying:

        ```python
        created = await client.assets.create(
            {"title": "On things", "resourcetype.esploro": "publication.journalArticle"},
            is_draft=True,
        )
        ```
        """
        items: builtins.list[Asset | Mapping[str, Any]] = (
            [records] if isinstance(records, (Asset, Mapping)) else list(records)
        )
        if not items:
            raise ValueError("assets.create() needs at least one record")
        body = {"records": [as_json_object(r, "asset") for r in items]}
        query = {
            **(params or {}),
            "is_draft": flag(is_draft),
            "reject_duplicate": flag(reject_duplicate),
            "author_affiliation_enhancement": flag(author_affiliation_enhancement),
            "override_author_affiliations": flag(override_author_affiliations),
            "open_access_enrichment": flag(open_access_enrichment),
            "import_profile": import_profile,
        }
        response = await self._request(
            "POST",
            self.path,
            params=query,
            json=body,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return _records(response)

    async def patch(
        self,
        asset_id: str,
        fields: Mapping[str, Any] | Asset,
        *,
        action: Literal["add", "replace"] = "add",
        format: Literal["auto", "json", "xml"] = "auto",
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Asset:
        """Update some fields of an asset (``POST /assets/{id}?op=patch&action=...``).

        ``action="add"`` fills empty simple fields and appends to lists; ``"replace"``
        overwrites simple fields and swaps lists. ``identifier.*`` fields can only be sent
        as XML and ``temporary.linksToExtract`` only as JSON: ``format="auto"`` picks XML
        when any key starts with ``identifier.``, else JSON; mixing both kinds raises
        `PatchFormatError`. Returns the updated asset as answered (re-read with `get` if the
        answer holds no record). Never replayed after an ambiguous failure:

        ```python
        await client.assets.patch("991283105600561", {"date.published": "20241110"},
                                  action="replace")
        await client.assets.patch("991283105600561", {"identifier.doi": "10.1/x"})
        ```
        """
        if action not in ("add", "replace"):
            raise ValueError(f"action must be 'add' or 'replace', not {action!r}")
        if format not in ("auto", "json", "xml"):
            raise ValueError(f"format must be 'auto', 'json' or 'xml', not {format!r}")
        body = as_json_object(fields, "fields")
        if not body:
            raise ValueError("nothing to patch: fields is empty")
        fmt = _patch_format(body, format)
        path = f"{self.path}/{segment(self._check_id(asset_id), 'asset id')}"
        query = {**(params or {}), "op": "patch", "action": action}
        per_call: dict[str, Any] = {"extra_headers": extra_headers, "timeout": timeout}
        if fmt == "xml":
            response = await self._request(
                "POST",
                path,
                params=query,
                content=build_asset_patch_xml(body),
                format="xml",
                **per_call,
            )
        else:
            response = await self._request(
                "POST", path, params=query, json={"records": [body]}, format="json", **per_call
            )
        records = _records(response)
        if not records:
            return await self.get(asset_id, **per_call)
        return records[0]

    async def test(
        self,
        *,
        write: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ApiTestResult:
        """Check the key's read (``GET``) or write (``POST``) permission on assets."""
        return await self._area_test(
            f"{self.path}/test", write=write, extra_headers=extra_headers, timeout=timeout
        )
