"""Blocking `EsploroClient`: the async client run on a background event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import weakref
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Final, TypeVar

from typing_extensions import Self, Unpack

from esploro_async.bulk import BulkResult, bulk
from esploro_async.client import EsploroClient as AsyncEsploroClient
from esploro_async.governance.lanes import Lane, current_lane, use_lane
from esploro_async.governance.protocol import GovernanceProtocol
from esploro_async.pagination.speculation import ListingTotals
from esploro_async.retry import RetryPolicy
from esploro_async.session.config import Format
from esploro_async.session.options import ClientOptions, check_options
from esploro_async.sync._base import Blocking, area, blocking
from esploro_async.sync._runner import Handle, LoopRunner, acquire_runner, release_runner
from esploro_async.sync._streams import AnalyticsStream, OffsetStream
from esploro_async.sync.activities import SyncActivities
from esploro_async.sync.alma import SyncAlma
from esploro_async.sync.analytics import SyncAnalytics
from esploro_async.sync.assets import SyncAssets
from esploro_async.sync.organizations import SyncOrganizations
from esploro_async.sync.researchconf import SyncConfiguration
from esploro_async.sync.researchers import SyncResearchers

__all__ = ["EsploroClient"]

T = TypeVar("T")
R = TypeVar("R")

_CLOSE_TIMEOUT = 30.0


class EsploroClient(Blocking[AsyncEsploroClient]):
    """Blocking version of `esploro_async.EsploroClient`, for scripts and notebooks:

    ```python
    from esploro_async.sync import EsploroClient

    with EsploroClient(region="eu") as client:
        for researcher in client.researchers.list():
            print(researcher.primary_id)
        jane = client.researchers.get("jdoe")
    ```

    Same arguments, areas and methods as the async client; methods block and return the
    same values or raise the same exceptions; streams are plain iterators and ``edit`` is a
    ``with`` block. The async client runs on an event loop in a background thread shared
    by every open blocking client of the process, so it also works where a loop is already
    running (Jupyter), and clients of one institution share one governance.

    Any number of threads may call one client at once (calls are queued to that loop);
    consume each stream from one thread at a time. ``close()`` (or leaving the ``with``
    block) closes the client; the last one open stops the loop and joins its thread.
    """

    def __init__(self, api_key: str | None = None, **options: Unpack[ClientOptions]) -> None:
        check_options(type(self).__name__, options)

        async def open_client() -> AsyncEsploroClient:
            # In the loop: governance and the connection pool bind to the loop using them.
            return AsyncEsploroClient(api_key, **options)

        runner = acquire_runner()
        try:
            client = runner.run(open_client())
        except BaseException:
            release_runner(runner)
            raise
        super().__init__(Handle(runner), client)
        # close(), or a safety net when an unclosed client is collected or at exit.
        self._finalizer = weakref.finalize(self, _shutdown, self._handle, client)

    def __repr__(self) -> str:
        return f"sync.{self._async!r}"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the async client in its loop; the last open client stops the loop thread.

        Later calls on this client, its areas and streams raise `ClientClosedError`.
        """
        self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._handle.closed

    # -- attributes of the async client ----------------------------------------------------

    @property
    def governance(self) -> GovernanceProtocol:
        """The governance object (``snapshot()`` may be called from any thread)."""
        return self._async.governance

    @property
    def base_url(self) -> str:
        """The gateway URL."""
        return self._async.base_url

    @property
    def format(self) -> Format:
        """The default ``Accept`` format."""
        return self._async.format

    @property
    def lang(self) -> str | None:
        """The ``lang`` query parameter, if any."""
        return self._async.lang

    @property
    def retry(self) -> RetryPolicy:
        """The client's `RetryPolicy`."""
        return self._async.retry

    @property
    def lane(self) -> Lane:
        """The default lane of single requests."""
        return self._async.lane

    @property
    def max_response_bytes(self) -> int:
        """The largest response body read, counted after decompression."""
        return self._async.max_response_bytes

    @property
    def listing_totals(self) -> ListingTotals:
        """The total each listing (endpoint and query) reported last (see `ListingTotals`)."""
        return self._async.listing_totals

    # -- areas and methods, derived from the async client ----------------------------------

    researchers: Final = area(SyncResearchers)
    assets: Final = area(SyncAssets)
    organizations: Final = area(SyncOrganizations)
    activities: Final = area(SyncActivities)
    config: Final = area(SyncConfiguration)
    analytics: Final = area(SyncAnalytics)
    alma: Final = area(SyncAlma)
    request: Final = blocking(AsyncEsploroClient.request)
    paginate: Final = blocking(AsyncEsploroClient.paginate)

    def bulk(
        self,
        items: Iterable[T],
        operation: Callable[[T], R],
        *,
        concurrency: int = 8,
        lane: Lane | None = None,
    ) -> Iterator[BulkResult[T, R]]:
        """Blocking version of `esploro_async.EsploroClient.bulk`.

        ``operation`` is a blocking function; it runs in ``concurrency`` worker threads and
        may call this client (governance paces every request):

        ```python
        def retitle(change: dict[str, str]) -> None:
            with client.researchers.edit(change["id"]) as researcher:
                researcher["display_title"] = change["title"]

        for result in client.bulk(changes, retitle, concurrency=8):
            print(result.index, "ok" if result.ok else result.error)
        ```

        ``items`` may be a stream of this client. Leaving the loop early starts no new
        item; operations already running finish before the loop is left.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if inspect.iscoroutinefunction(operation):
            raise TypeError(
                "the blocking client's bulk() takes a blocking operation; "
                "use esploro_async.EsploroClient for an async one"
            )
        self._handle.run(_noop())  # raises now if the client is closed
        # A stream of this client is read in the loop, not pulled through it (no deadlock).
        source = items.stream if isinstance(items, (OffsetStream, AnalyticsStream)) else items
        runner = self._handle.runner
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="esploro-sync-bulk"
        )

        chosen: Lane = lane or current_lane() or "batch"

        def in_lane(item: T) -> R:
            with use_lane(chosen):  # the client's calls from this thread carry the lane
                return operation(item)

        def submit(item: T) -> asyncio.Future[R]:
            return runner.loop.run_in_executor(pool, in_lane, item)

        results = self._handle.iterate(bulk(source, submit, concurrency=concurrency))
        return _closing_pool(results, pool, runner)


async def _noop() -> None:
    return None


def _closing_pool(
    results: Iterator[BulkResult[T, R]],
    pool: concurrent.futures.ThreadPoolExecutor,
    runner: LoopRunner,
) -> Iterator[BulkResult[T, R]]:
    try:
        yield from results
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        # In the loop thread (collected there) waiting would deadlock the operations.
        pool.shutdown(wait=not runner.in_loop_thread, cancel_futures=True)


def _shutdown(handle: Handle, client: AsyncEsploroClient) -> None:
    """Close ``client`` in its loop and release the runner (once; also the safety net)."""
    if handle.closed:
        return
    handle.closed = True
    runner = handle.runner
    try:
        if runner.in_loop_thread:
            runner.loop.create_task(client.aclose())
        elif not runner.loop.is_closed():
            runner.run(client.aclose(), timeout=_CLOSE_TIMEOUT)
    finally:
        release_runner(runner)
