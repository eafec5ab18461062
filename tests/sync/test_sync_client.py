"""The blocking facade (`esploro_async.sync`) against the simulated gateway, in real time."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from esploro_async import ConfigurationError, NotFoundError
from esploro_async.bulk import BulkResult
from esploro_async.models import Researcher
from esploro_async.sync import ClientClosedError, EsploroClient
from esploro_async.testing import SIM_API_KEY, SimulatedGateway, SyntheticInstitution

BASE_URL = "http://esploro.localhost"


def facade_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("esploro-sync")]


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    assert facade_threads() == []
    yield
    gc.collect()
    assert facade_threads() == []


def gateway(researchers: int = 250) -> SimulatedGateway:
    return SimulatedGateway(SyntheticInstitution(seed=3, researchers=researchers, assets=20))


def open_client(gw: SimulatedGateway, **kwargs: Any) -> EsploroClient:
    return EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=gw.transport(), **kwargs)


def methods(gw: SimulatedGateway) -> list[str]:
    return [r.method for r in gw.client_log()]


def test_plain_synchronous_harvest() -> None:
    gw = gateway()
    with open_client(gw) as client:
        stream = client.researchers.list()
        estimate = stream.estimate()
        assert estimate.total_records == 250
        ids = [r.primary_id for r in stream]
        assert ids == gw.institution.researchers.ids()
        assert stream.checkpoint.offset == 250
        assert stream.drifts == []
        assert client.request("GET", "researchers/test").status_code == 200
    assert client.closed


def test_plain_synchronous_get_and_edit() -> None:
    gw = gateway()
    rid = gw.institution.researchers.ids()[0]
    with open_client(gw) as client:
        jane = client.researchers.get(rid)
        assert isinstance(jane, Researcher)
        assert jane.view == "full"
        with client.researchers.edit(rid) as record:
            record["job_description"] = "Professor of Things"
    stored = gw.institution.researchers.get(rid)
    assert stored is not None
    assert stored["job_description"] == "Professor of Things"


def test_plain_synchronous_bulk_edit() -> None:
    gw = gateway()
    wanted = gw.institution.researchers.ids()[1:7]
    with open_client(gw) as client:

        def retitle(primary_id: str) -> str:
            with client.researchers.edit(primary_id) as r:
                r["job_description"] = "Bulk"
            return primary_id

        results: list[BulkResult[str, str]] = list(client.bulk(wanted, retitle, concurrency=3))
    assert sorted(r.index for r in results) == list(range(6))
    assert all(r.ok and r.value == r.item for r in results)
    assert all(
        (gw.institution.researchers.get(i) or {}).get("job_description") == "Bulk" for i in wanted
    )


def test_researcher_pages_and_assets_stream() -> None:
    gw = gateway(researchers=30)
    with open_client(gw) as client:
        pages = list(client.researchers.list(page_size=10).pages())
        assert [p.offset for p in pages] == [0, 9, 18, 27]  # each shares a record with the last
        assert sum(len(p.records) for p in pages) == 30
        assert len(list(client.assets.list(update_date_from="1900-01-01"))) == 20
        records = list(client.paginate("researchers", list_key="user", page_size=25))
        assert len(records) == 30


def test_organizations_and_configuration() -> None:
    with open_client(gateway(researchers=30)) as client:
        orgs = list(client.organizations.list())
        assert orgs
        code = orgs[0].organization_code
        assert code is not None
        assert client.organizations.get(code).organization_code == code
        sets = list(client.config.sets.list())
        assert sets
        assert sets[0].id is not None
        list(client.config.sets.members(sets[0].id).list())
        assert client.config.mapping_tables()


def test_analytics_report_and_test() -> None:
    with open_client(gateway(researchers=30)) as client:
        report = client.analytics.report("/shared/Sim University/Reports/Single row")
        rows = list(report)
        assert len(rows) == 1
        assert report.columns
        assert client.analytics.test().message is not None


def test_works_inside_a_running_event_loop() -> None:
    gw = gateway(researchers=120)

    def notebook_cell() -> list[str | None]:  # synchronous code called by async code
        with open_client(gw) as client:
            client.researchers.test()
            return [r.primary_id for r in client.researchers.list()]

    async def main() -> list[str | None]:
        asyncio.get_running_loop()  # a loop runs in this thread, as in Jupyter
        return notebook_cell()

    assert asyncio.run(main()) == gw.institution.researchers.ids()


def test_exceptions_keep_their_types() -> None:
    gw = gateway(researchers=10)
    with open_client(gw) as client:
        with pytest.raises(NotFoundError):
            client.researchers.get("ghost")
        with pytest.raises(NotFoundError), client.researchers.edit("ghost"):
            pytest.fail("not reached")
        with pytest.raises(ValueError, match="page_size"):
            client.researchers.list(page_size=1000)
        rid = gw.institution.researchers.ids()[0]
        original = gw.institution.researchers.get(rid)
        gw.reset_log()
        boom = RuntimeError("boom")
        with pytest.raises(RuntimeError) as info, client.researchers.edit(rid) as r:
            r["job_description"] = "Half-done"
            raise boom
        assert info.value is boom
        assert methods(gw) == ["GET"]  # nothing sent
        assert gw.institution.researchers.get(rid) == original


def sent_after(gw: SimulatedGateway, moment: float) -> list[str]:
    """The paths of the requests the gateway saw sent after ``moment``.

    The facade's loop is asyncio's, whose clock (the gateway's ``sent``) is `time.monotonic`.
    """
    return [r.path for r in gw.client_log() if r.sent is not None and r.sent > moment]


def test_leaving_a_stream_early_stops_requests() -> None:
    test_path = "/esploro/v1/researchers/test"
    gw = gateway(researchers=3000)
    with open_client(gw) as client:
        stream = client.researchers.list(prefetch=4)
        for n, _ in enumerate(stream, 1):
            if n == 150:
                break
        left = time.monotonic()
        assert len(gw.client_log()) < 10  # 30 pages, at most a few ahead of the consumer
        # The client goes on working: a stream still running would send among these.
        for _ in range(5):
            client.researchers.test()
        assert sent_after(gw, left) == [test_path] * 5
        assert stream.checkpoint.delivered == 150

        iterator = iter(client.researchers.list(prefetch=4))
        next(iterator)
        iterator.close()  # type: ignore[attr-defined]  # a generator
        left = time.monotonic()
        for _ in range(5):
            client.researchers.test()
        assert sent_after(gw, left) == [test_path] * 5


def test_close_leaves_no_thread_and_refuses_calls() -> None:
    gw = gateway(researchers=10)
    client = open_client(gw)
    assert len(facade_threads()) == 1
    stream = client.researchers.list()
    client.close()
    assert facade_threads() == []
    with pytest.raises(ClientClosedError, match="closed"):
        client.researchers.get("x")
    with pytest.raises(ClientClosedError):
        list(stream)
    with pytest.raises(ClientClosedError):
        client.request("GET", "researchers/test")
    client.close()  # again: nothing happens

    with pytest.raises(KeyError), open_client(gw) as other:
        other.researchers.test()
        raise KeyError("inside the block")
    assert other.closed
    assert facade_threads() == []


def test_forgotten_client_is_closed_when_collected() -> None:
    gw = gateway(researchers=10)
    client = open_client(gw)
    client.researchers.test()
    assert facade_threads()
    del client
    gc.collect()
    assert facade_threads() == []


def test_two_clients_of_one_institution_share_governance() -> None:
    gw = gateway(researchers=10)
    with open_client(gw) as a, open_client(gw) as b:
        assert a.governance is b.governance
        assert len(facade_threads()) == 1  # one loop for both
        with pytest.raises(ConfigurationError, match=r"rate_limit=10\.0 \(the open one: 25\.0\)"):
            open_client(gw, rate_limit=10)
        errors: list[BaseException] = []

        def hammer(client: EsploroClient) -> None:
            try:
                for _ in range(20):
                    client.researchers.test()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        workers = [threading.Thread(target=hammer, args=(c,)) for c in (a, b, a)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
    assert gw.counts_by_status() == {200: 60}
    assert gw.max_in_window() <= 25
    assert facade_threads() == []


def test_blocking_call_from_the_loop_thread_is_refused() -> None:
    gw = gateway(researchers=10)
    with open_client(gw) as client:

        def wrap(data: dict[str, Any]) -> Researcher:
            client.researchers.test()  # runs in the loop: would deadlock
            return Researcher.adopt(data)

        with pytest.raises(RuntimeError, match="event loop that runs it"):
            list(client.paginate("researchers", list_key="user", wrap=wrap))

        async def operation(item: str) -> None:
            return None

        with pytest.raises(TypeError, match="blocking operation"):
            client.bulk(["x"], operation)


def test_bulk_over_a_stream_and_leaving_it_early() -> None:
    gw = gateway(researchers=30)
    with open_client(gw) as client:
        results = list(client.bulk(client.researchers.list(), lambda r: r.primary_id))
        assert sorted(r.value or "" for r in results) == sorted(gw.institution.researchers.ids())

        started: list[int] = []

        def slow(n: int) -> int:
            started.append(n)
            time.sleep(0.05)
            if n == 1:
                raise LookupError(n)
            return n

        outcomes = client.bulk(range(100), slow, concurrency=4)
        first = next(outcomes)
        assert first.ok or isinstance(first.error, LookupError)
        outcomes.close()  # type: ignore[attr-defined]  # a generator
        assert len(started) < 12  # no new item after leaving; running ones finished
        assert not [t for t in facade_threads() if "bulk" in t.name]
