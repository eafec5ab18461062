"""Pages that wait for an earlier one keep only their bytes, and come out whole, in order.

A page's parsed JSON takes about four times the memory of its bytes; with 1-3 s round
trips dozens of finished pages wait for the head of the line.
"""

from __future__ import annotations

import json

import pytest

from esploro_async import EsploroClient
from esploro_async.pagination import fetched
from esploro_async.pagination import offset as offset_module
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution


def test_pages_waiting_far_behind_keep_only_their_bytes() -> None:
    def raw(offset: int) -> fetched.FetchedPage:
        body = json.dumps({"user": [{"primary_id": f"R{offset}"}]}).encode()
        return fetched.FetchedPage(offset, [{"primary_id": f"R{offset}"}], 10_000, 0.5, body)

    keep = fetched.KEEP_PARSED
    short = {o: raw(o) for o in range(0, keep * 100, 100)}
    fetched.shelve(short)
    assert not any(r.shelved for r in short.values())  # a short queue stays parsed
    ready = {o: raw(o) for o in range(0, (keep + 5) * 100, 100)}
    fetched.shelve(ready)
    shelved = sorted(o for o, r in ready.items() if r.shelved)
    assert shelved == sorted(ready)[keep:]  # the pages handed out last
    assert all(ready[o].records == [] and ready[o].content for o in shelved)


@pytest.mark.looptime
async def test_shelved_pages_come_out_whole_and_in_source_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shelved: list[int] = []
    shelve = fetched.shelve

    def counting(ready: dict[int, fetched.FetchedPage]) -> None:
        shelved.extend(o for o, raw in ready.items() if not raw.shelved)
        shelve(ready)

    monkeypatch.setattr(offset_module, "shelve", counting)
    institution = SyntheticInstitution(seed=8, researchers=10_000)
    gw = SimulatedGateway(institution, latency=Latency.uniform(0.1, 3.0), up_fraction=0.02)
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport()
    ) as client:
        ids = [r.primary_id async for r in client.researchers.list()]
    assert len(shelved) > 5  # pages did wait, and were shelved
    expected = list(institution.researchers.ids())
    assert ids == expected


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("seed", "in_flight", "reading"), [(1, 8, 0.2), (2, 20, 0.2), (3, 64, 0.2), (4, 8, 0.0)]
)
async def test_a_slow_consumer_holds_at_most_the_bound_of_pages(
    seed: int, in_flight: int, reading: float
) -> None:
    """Pages requested and not yet handed out never exceed the bound, however slow the reader.

    Round trips of 0.1-3 s complete pages far out of order, and the reader takes longer
    per page than the rate brings one: without a bound the stream would keep requesting.
    """
    import anyio

    institution = SyntheticInstitution(seed=seed, researchers=8_000)
    gw = SimulatedGateway(institution, latency=Latency.uniform(0.1, 3.0), up_fraction=0.02)
    requested = handed_out = most_held = 0
    async with EsploroClient(
        SIM_API_KEY,
        base_url="http://esploro.localhost",
        transport=gw.transport(),
        max_in_flight=in_flight,
    ) as client:
        stream = client.researchers.list()
        fetch = stream._fetch

        async def counting(offset: int) -> fetched.FetchedPage:
            nonlocal requested, most_held
            requested += 1
            most_held = max(most_held, requested - handed_out)
            return await fetch(offset)

        stream._fetch = counting  # type: ignore[method-assign]
        ids: list[str | None] = []
        async for page in stream.pages():
            handed_out += 1
            ids.extend(r.primary_id for r in page.records)
            await anyio.sleep(reading)  # 0.2: five pages a second, where the rate brings 22
    assert ids == list(institution.researchers.ids())  # nothing lost, nothing twice
    assert requested == len(gw.log)
    # Requested and not handed out: in flight, or finished and waiting. Researchers' pages
    # are 36-37 KB: 1 MiB of them, 28, may wait besides the requests in flight.
    room = fetched.waiting_room(stream._sizes)
    assert room == fetched.WAITING_BYTES // max(stream._sizes) == 28
    assert most_held <= client.governance.max_in_flight + room
