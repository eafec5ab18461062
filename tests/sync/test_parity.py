"""The blocking client offers every public method of the async one, with the same parameters.

The walk starts at the two clients and follows every area and sub-resource, so an async
method or area added later without its blocking line fails here, and so does a
hand-written blocking method whose parameters or defaults drift from its async twin.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from typing_extensions import assert_type

from esploro_async import EsploroClient as AsyncEsploroClient
from esploro_async.models import Asset, Researcher
from esploro_async.resources import Resource
from esploro_async.session import EsploroResponse
from esploro_async.sync import AnalyticsStream, EsploroClient, OffsetStream, SyncConfiguration
from esploro_async.sync._base import Blocking, SyncResource, area, blocking

RENAMED = {"aclose": "close"}
"""Async names whose blocking twin is spelt differently."""

Param = tuple[str, inspect._ParameterKind, object]


def params(func: Any) -> list[Param]:
    """Name, kind and default of every parameter (``self`` excluded: ``func`` is bound)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(func).parameters.values()]


def public(obj: object) -> Iterator[tuple[str, Any]]:
    """Public attributes, and ``__call__`` when the class defines one (``config.jobs()``)."""
    for name in sorted(dir(obj)):
        if not name.startswith("_"):
            yield name, getattr(obj, name)
    if any("__call__" in vars(cls) for cls in type(obj).__mro__ if cls is not object):
        yield "__call__", obj.__call__  # type: ignore[operator]


def placeholders(func: Any) -> list[str]:
    """A string for each required positional parameter (ids: no request is sent)."""
    return [
        "x"
        for p in inspect.signature(func).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def method_drift(async_obj: object, sync_obj: object, name: str, path: str) -> Iterator[str]:
    """How the blocking twin of method ``name`` differs, and the sub-resource it returns."""
    method = getattr(async_obj, name)
    twin_name = RENAMED.get(name, name)
    twin = getattr(sync_obj, twin_name, None)
    if twin is None or not callable(twin):
        yield f"{path}(): no blocking method"
    elif inspect.iscoroutinefunction(twin):
        yield f"{path}(): the blocking twin is async"
    elif params(twin) != params(method):
        yield f"{path}(): {params(twin)} != {params(method)}"
    elif getattr(inspect.getattr_static(type(sync_obj), twin_name, None), "wrap", None):
        args = placeholders(method)  # a method returning a sub-resource: walk into it
        yield from drift(method(*args), twin(*args), f"{path}({', '.join(args)})")


def drift(async_obj: object, sync_obj: object, where: str) -> Iterator[str]:
    """Every difference between an async object's public API and its blocking twin's."""
    for name, value in public(async_obj):
        path = f"{where}.{name}"
        if isinstance(value, Resource):
            twin = getattr(sync_obj, name, None)
            if not isinstance(twin, Blocking) or twin._async is not value:
                yield f"{path}: no blocking area wrapping it"
                continue
            yield from drift(value, twin, path)
        elif inspect.ismethod(value):
            yield from method_drift(async_obj, sync_obj, name, path)


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[AsyncEsploroClient, EsploroClient]]:
    transport = httpx.MockTransport(lambda request: httpx.Response(500))  # never called
    with EsploroClient("key", base_url="http://esploro.localhost", transport=transport) as client:
        yield client._async, client


def test_every_async_method_and_area_has_its_blocking_twin(
    clients: tuple[AsyncEsploroClient, EsploroClient],
) -> None:
    async_client, client = clients
    assert list(drift(async_client, client, "client")) == []


def test_every_attribute_of_the_async_client_is_readable_on_the_blocking_one(
    clients: tuple[AsyncEsploroClient, EsploroClient],
) -> None:
    async_client, client = clients
    attributes = {
        name: value
        for name, value in public(async_client)
        if not callable(value) and not isinstance(value, Resource)
    }
    assert {"governance", "base_url", "lane"} <= set(attributes)
    assert {name: getattr(client, name, None) for name in attributes} == attributes


def test_the_walk_reaches_every_area_and_method(
    clients: tuple[AsyncEsploroClient, EsploroClient],
) -> None:
    async_client, _ = clients
    areas = {n for n, v in public(async_client) if isinstance(v, Resource)}
    assert areas >= {"researchers", "assets", "organizations", "activities", "config", "analytics"}
    methods = [
        f"{a}.{m}"
        for a in areas
        for m, v in public(getattr(async_client, a))
        if inspect.ismethod(v)
    ]
    assert {"assets.get", "assets.list", "researchers.edit", "analytics.report"} <= set(methods)
    assert len(methods) >= 30


def test_the_constructors_take_one_options_type() -> None:
    assert params(EsploroClient) == params(AsyncEsploroClient)
    hints = [
        typing.get_type_hints(cls.__init__, include_extras=True)["options"]
        for cls in (EsploroClient, AsyncEsploroClient)
    ]
    assert hints[0] == hints[1]


def test_an_unknown_keyword_is_refused_by_both_constructors() -> None:
    with pytest.raises(TypeError, match="'regon'"):
        AsyncEsploroClient("key", regon="eu")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'regon'"):
        EsploroClient("key", regon="eu")  # type: ignore[call-arg]


# -- the check itself finds drift ----------------------------------------------------------


class _Area(Resource):
    async def get(self, record_id: str, *, view: str = "full") -> str:
        return record_id

    async def delete(self, record_id: str) -> None:
        return None


class _Nested(Resource):
    async def members(self, set_id: str) -> list[str]:
        return [set_id]


class _Parent(Resource):
    @functools.cached_property
    def sets(self) -> _Nested:
        return _Nested(self._client)


def test_the_walk_reports_a_missing_method_and_a_changed_default(
    clients: tuple[AsyncEsploroClient, EsploroClient],
) -> None:
    async_client, client = clients

    class Drifted(SyncResource[_Area]):
        def get(self, record_id: str, *, view: str = "brief") -> str:
            return record_id

    found = list(drift(_Area(async_client), Drifted(client._handle, _Area(async_client)), "a"))
    assert len(found) == 2
    assert found[0].startswith("a.delete(): no blocking method")
    assert found[1].startswith("a.get(): ")
    assert "'brief'" in found[1]


def test_the_walk_reports_a_missing_sub_resource(
    clients: tuple[AsyncEsploroClient, EsploroClient],
) -> None:
    async_client, client = clients
    parent = _Parent(async_client)

    class Bare(SyncResource[_Parent]):
        pass

    assert list(drift(parent, Bare(client._handle, parent), "p")) == [
        "p.sets: no blocking area wrapping it"
    ]


def test_a_sub_resource_takes_one_line_and_its_methods_one_line_each(
    clients: tuple[AsyncEsploroClient, EsploroClient],
) -> None:
    async_client, client = clients
    parent = _Parent(async_client)

    class SyncNested(SyncResource[_Nested]):
        members = blocking(_Nested.members)

    class SyncParent(SyncResource[_Parent]):
        sets = area(SyncNested)

    twin = SyncParent(client._handle, parent)
    assert list(drift(parent, twin, "p")) == []
    assert twin.sets.members("s1") == ["s1"]  # run in the client's loop
    assert twin.sets is twin.sets


class _Instances(Resource):
    def __init__(self, client: Any, job_id: str) -> None:
        super().__init__(client)
        self.job_id = job_id

    async def get(self, instance_id: str) -> str:
        return f"{self.job_id}/{instance_id}"


class _Jobs(Resource):
    async def __call__(self, *, status: str = "all") -> list[str]:
        return [status]

    def instances(self, job_id: str) -> _Instances:
        return _Instances(self._client, job_id)


def test_a_method_returning_a_sub_resource_and_a_callable_area(
    clients: tuple[AsyncEsploroClient, EsploroClient],
) -> None:
    async_client, client = clients
    jobs = _Jobs(async_client)

    class SyncInstances(SyncResource[_Instances]):
        get = blocking(_Instances.get)

    class SyncJobs(SyncResource[_Jobs]):
        instances = blocking(_Jobs.instances, SyncInstances)

    found = list(drift(jobs, SyncJobs(client._handle, jobs), "jobs"))
    assert found == ["jobs.__call__(): no blocking method"]

    class Incomplete(SyncResource[_Jobs]):
        __call__ = blocking(_Jobs.__call__)
        instances = blocking(_Jobs.instances, SyncResource)  # the sub-resource's get missing

    assert list(drift(jobs, Incomplete(client._handle, jobs), "jobs")) == [
        "jobs.instances(x).get(): no blocking method"
    ]

    class Complete(SyncJobs):
        __call__ = blocking(_Jobs.__call__)

    twin = Complete(client._handle, jobs)
    assert list(drift(jobs, twin, "jobs")) == []
    assert twin.instances("j1").get("i1") == "j1/i1"  # run in the client's loop
    assert twin(status="failed") == ["failed"]


def test_a_blocking_method_must_keep_the_async_name() -> None:
    with pytest.raises((TypeError, RuntimeError)) as raised:

        class Misnamed(SyncResource[_Area]):
            fetch = blocking(_Area.get)

    # Python < 3.12 wraps an error of __set_name__ in a RuntimeError.
    error = raised.value.__cause__ or raised.value
    assert isinstance(error, TypeError)
    assert "keep the name of its async twin" in str(error)


def test_a_sub_resource_is_not_a_method() -> None:
    with pytest.raises(TypeError, match=r"area\(SyncClass\)"):
        blocking(_Parent.sets)  # type: ignore[arg-type]


def _static_types(client: EsploroClient, records: list[str]) -> None:
    """Never run: mypy (strict, in CI) checks that the derived methods keep their types.

    ``assert_type`` fails on ``Any`` too, so a derivation that lost its types is caught.
    """
    assert_type(client.assets.get("1"), Asset)
    assert_type(client.assets.list(update_date_from="2026-01-01"), OffsetStream[Asset])
    assert_type(client.researchers.list(page_size=50), OffsetStream[Researcher])
    assert_type(client.analytics.report("/shared/r"), AnalyticsStream)
    assert_type(client.researchers.edit("jdoe"), AbstractContextManager[Researcher, bool | None])
    assert_type(client.request("GET", "researchers", lane="batch"), EsploroResponse)
    assert_type(client.config, SyncConfiguration)
