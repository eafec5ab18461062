"""Pages that wait for an earlier one keep only their bytes, and come out whole, in order.

A page's parsed JSON takes about four times the memory of its bytes; with 1-3 s round
trips dozens of finished pages wait for the head of the line.
"""

from __future__ import annotations

import json

import pytest

from esploro_async import EsploroClient
from esploro_async.pagination import offset as offset_module
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution


def test_a_waiting_page_keeps_only_its_bytes() -> None:
    body = json.dumps({"user": [{"primary_id": "R1"}], "total_record_count": 300}).encode()
    raw = offset_module._Raw(99, [{"primary_id": "R1"}], 300, 0.5, body)
    offset_module._shelve({99: raw})
    assert raw.shelved
    assert raw.records == []
    assert raw.content == body


@pytest.mark.looptime
async def test_shelved_pages_come_out_whole_and_in_source_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shelved: list[int] = []
    shelve = offset_module._shelve

    def counting(ready: dict[int, offset_module._Raw]) -> None:
        shelved.extend(o for o, raw in ready.items() if not raw.shelved)
        shelve(ready)

    monkeypatch.setattr(offset_module, "_shelve", counting)
    institution = SyntheticInstitution(seed=8, researchers=3_000)
    gw = SimulatedGateway(institution, latency=Latency.uniform(0.1, 3.0), up_fraction=0.02)
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport()
    ) as client:
        ids = [r.primary_id async for r in client.researchers.list()]
    assert len(shelved) > 5  # pages did wait, and were shelved
    expected = list(institution.researchers.ids())
    assert ids == expected
