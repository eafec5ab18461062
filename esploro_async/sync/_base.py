"""How the blocking client is derived from the async one: `blocking` and `area`.

A blocking area declares one line per method and per sub-resource; the parameters are
those of the async method, for a type checker and at run time:

```python
class SyncAssets(SyncResource[Assets]):
    get = blocking(Assets.get)          # (asset_id, *, params=None) -> Asset
    list = blocking(Assets.list)        # ... -> sync OffsetStream[Asset]

class SyncConfiguration(SyncResource[Configuration]):
    sets = area(SyncSets)               # client.config.sets, itself blocking

class SyncJobs(SyncResource[Jobs]):
    instances = blocking(Jobs.instances, SyncJobInstances)   # jobs.instances(job_id)
    __call__ = blocking(Jobs.__call__)                       # a callable area
```

What a call returns follows from what the async method returns: an awaitable is run in
the client's loop and its result returned; a stream becomes a blocking iterator
(`OffsetStream`, `AnalyticsStream`); an async context manager becomes a ``with`` block.
`tests/sync/test_parity.py` checks that every public async method and sub-resource has
its blocking twin with the same parameters and defaults.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypeVar, overload

from typing_extensions import ParamSpec, Self

from esploro_async.models import Record
from esploro_async.pagination import AnalyticsStream as AsyncAnalyticsStream
from esploro_async.pagination import OffsetStream as AsyncOffsetStream
from esploro_async.resources import Resource
from esploro_async.sync._runner import Handle
from esploro_async.sync._streams import AnalyticsStream, OffsetStream

if TYPE_CHECKING:
    # What @asynccontextmanager methods return; not the AbstractAsyncContextManager protocol,
    # which the streams satisfy too (an overload must match one kind of method only).
    from contextlib import _AsyncGeneratorContextManager

__all__ = ["Blocking", "BlockingMethod", "SubArea", "SyncResource", "area", "blocking"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
AreaT = TypeVar("AreaT", bound=Resource)
RecordT = TypeVar("RecordT", bound=Record)
BlockingT = TypeVar("BlockingT", bound="Blocking[Any]")
AsyncT = TypeVar("AsyncT")
SelfT = TypeVar("SelfT")


class Blocking(Generic[AsyncT]):
    """A blocking view of one async object (a client or an area), calling through ``handle``."""

    def __init__(self, handle: Handle, wrapped: AsyncT) -> None:
        self._handle = handle
        self._async = wrapped


class SyncResource(Blocking[AreaT]):
    """One API area of a blocking client: each method runs its async twin in the loop."""


def _blocking_result(handle: Handle, result: Any) -> Any:
    """What the blocking caller gets for ``result``, the async method's return value."""
    if isinstance(result, Coroutine):
        return handle.run(result)
    if isinstance(result, AsyncOffsetStream):
        return OffsetStream(handle, result)
    if isinstance(result, AsyncAnalyticsStream):
        return AnalyticsStream(handle, result)
    if isinstance(result, AbstractAsyncContextManager):
        return handle.context(result)
    if isinstance(result, Resource):
        raise TypeError(
            f"a method returning the sub-resource {type(result).__name__} needs its blocking "
            "class: name = blocking(Area.name, SyncClass)"
        )
    raise TypeError(f"cannot run {type(result).__name__} in a blocking client")


class BlockingMethod(Generic[P, R]):
    """A method of a blocking class that calls the async method of the same name.

    Build it with `blocking`. The name it is assigned to must be the async method's name.
    ``wrap`` is the blocking class of the sub-resource the async method returns, if it
    returns one (e.g. ``client.config.jobs.instances(job_id)``).
    """

    def __init__(self, method: Callable[..., Any], wrap: type[Blocking[Any]] | None = None) -> None:
        if not callable(method):
            raise TypeError(
                f"blocking() takes an async method, not {type(method).__name__}; "
                "wrap a sub-resource with area(SyncClass)"
            )
        self._method = method
        self.wrap = wrap
        self._name: str = method.__name__
        qualname = getattr(method, "__qualname__", self._name)
        self.__doc__ = f"Blocking version of `{method.__module__}.{qualname}`."
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self._name:
            raise TypeError(
                f"{owner.__name__}.{name} = blocking(...{self._name}): "
                "a blocking method must keep the name of its async twin"
            )

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: Blocking[Any], owner: type | None = None) -> Callable[P, R]: ...

    def __get__(self, obj: Blocking[Any] | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        target = getattr(obj._async, self._name)
        handle = obj._handle
        wrap = self.wrap

        @functools.wraps(target)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)
            return _blocking_result(handle, result) if wrap is None else wrap(handle, result)

        call.__doc__ = f"{self.__doc__}\n\n{target.__doc__ or ''}".rstrip()
        obj.__dict__[self._name] = call  # bound once per object, like a cached_property
        return call


@overload
def blocking(
    method: Callable[Concatenate[SelfT, P], Coroutine[Any, Any, R]],
) -> BlockingMethod[P, R]: ...


@overload
def blocking(
    method: Callable[Concatenate[SelfT, P], AsyncOffsetStream[RecordT]],
) -> BlockingMethod[P, OffsetStream[RecordT]]: ...


@overload
def blocking(
    method: Callable[Concatenate[SelfT, P], AsyncAnalyticsStream],
) -> BlockingMethod[P, AnalyticsStream]: ...


@overload
def blocking(
    method: Callable[Concatenate[SelfT, P], _AsyncGeneratorContextManager[T]],
) -> BlockingMethod[P, AbstractContextManager[T]]: ...


@overload
def blocking(
    method: Callable[Concatenate[SelfT, P], Resource], wrap: type[BlockingT]
) -> BlockingMethod[P, BlockingT]: ...


def blocking(
    method: Callable[..., Any], wrap: type[Blocking[Any]] | None = None
) -> BlockingMethod[Any, Any]:
    """The blocking twin of the async method ``method``, e.g. ``get = blocking(Assets.get)``.

    A type checker sees the async method's parameters and the blocking return type: the
    awaited value, a blocking stream, or a ``with`` block for an async context manager.
    A method that returns a sub-resource names the sub-resource's blocking class:

    ```python
    instances = blocking(Jobs.instances, SyncJobInstances)  # jobs.instances(job_id)
    ```
    """
    return BlockingMethod(method, wrap)


class SubArea(Generic[BlockingT]):
    """A sub-resource of a blocking client or area (e.g. ``client.config.sets``).

    Build it with `area`; it wraps the async attribute of the same name in ``cls``.
    """

    def __init__(self, cls: type[BlockingT]) -> None:
        self._cls = cls
        self._name = ""
        self.__doc__ = f"The blocking area `{cls.__module__}.{cls.__qualname__}`."

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: Blocking[Any], owner: type | None = None) -> BlockingT: ...

    def __get__(self, obj: Blocking[Any] | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self._cls(obj._handle, getattr(obj._async, self._name))
        obj.__dict__[self._name] = value
        return value


def area(cls: type[BlockingT]) -> SubArea[BlockingT]:
    """A blocking sub-resource: ``researchers = area(SyncResearchers)``.

    The async object's attribute of the same name is wrapped in ``cls`` on first use.
    """
    return SubArea(cls)
