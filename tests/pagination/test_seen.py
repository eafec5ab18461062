"""`SeenIds`: a set of record ids kept as 64-bit hashes, and the frontier's use of it."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import API_KEY, BASE_URL, make_gateway
from esploro_async import EsploroClient
from esploro_async.models import Researcher
from esploro_async.pagination import _seen
from esploro_async.pagination._seen import RecentIds, SeenIds
from esploro_async.pagination.frontier import Frontier
from esploro_async.testing import SyntheticInstitution


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), max_size=3000))
def test_behaves_like_a_set_of_strings(ids: list[str]) -> None:
    seen = SeenIds()
    model: set[str] = set()
    for record_id in ids:
        assert seen.add(record_id) == (record_id not in model)
        model.add(record_id)
    assert len(seen) == len(model)
    assert all(record_id in seen for record_id in model)
    assert ("not-an-id-of-the-list" in seen) == ("not-an-id-of-the-list" in model)
    assert 42 not in seen


def test_ids_take_at_most_16_bytes_each() -> None:
    seen = SeenIds(f"99{i:08d}" for i in range(200_000))
    assert len(seen) == 200_000
    assert seen.nbytes / len(seen) <= 16
    assert "9900000000" in seen
    assert "9900200000" not in seen
    strings = {f"99{i:08d}" for i in range(100_000)}
    as_set = sys.getsizeof(strings) + sum(sys.getsizeof(s) for s in strings)
    assert as_set / len(strings) > 5 * 16  # what a set of the strings would cost


def test_two_ids_of_one_page_with_the_same_hash_are_both_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_seen, "key_of", lambda record_id: 7)  # every id collides
    from esploro_async.pagination import frontier as module

    monkeypatch.setattr(module, "key_of", lambda record_id: 7)
    made: Frontier[Researcher] = Frontier(Researcher, page_size=10)
    items: list[dict[str, Any]] = [{"primary_id": "A"}, {"primary_id": "B"}, {"primary_id": "A"}]
    handout = made.in_order(0, items, 3)
    assert [r.primary_id for r in handout.page.records] == ["A", "B"]
    assert made.duplicates == 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([f"id{i}" for i in range(40)]), max_size=400), st.integers(1, 30))
def test_recent_ids_behave_like_the_last_n_ids_added(ids: list[str], limit: int) -> None:
    recent = RecentIds(limit)
    window: list[str] = []  # the model: the last `limit` ids added, oldest first
    for record_id in ids:
        assert recent.add(record_id) == (record_id not in window)
        if record_id not in window:
            window.append(record_id)
            del window[:-limit]
        assert len(recent) == len(window)
        assert all(known in recent for known in window)


def test_recent_ids_stay_flat_however_many_ids_pass() -> None:
    recent = RecentIds(1_000)
    for i in range(200_000):
        assert recent.add(f"99{i:08d}")
    assert len(recent) == 1_000
    assert recent.nbytes < 200_000  # a SeenIds of these ids holds about 3 MB
    assert "9900199999" in recent
    assert "9900000000" not in recent
    with pytest.raises(ValueError, match="limit"):
        RecentIds(0)


async def _listed(institution: SyntheticInstitution, *, insert_after: int | None) -> list[str]:
    """Ids a stream remembering 150 ids hands out; 30 records inserted in front mid-way."""
    gateway = make_gateway(institution=institution)
    ids: list[str] = []
    async with EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport()) as client:
        stream = client.assets.list(update_date_from="1900-01-01", remember_ids=150, prefetch=4)
        async with stream:
            async for record in stream:
                ids.append(record.record_id or "")
                if len(ids) == insert_after:
                    for _ in range(30):
                        institution.assets.insert(0)
    return ids


async def test_a_stream_remembering_few_ids_still_drops_the_pages_overlap() -> None:
    institution = SyntheticInstitution(seed=3, researchers=5, assets=3_000)
    ids = await _listed(institution, insert_after=None)
    assert ids == institution.assets.ids()  # every record once, in order, none twice


async def test_a_stream_remembering_few_ids_loses_nothing_when_records_move() -> None:
    institution = SyntheticInstitution(seed=3, researchers=5, assets=3_000)
    before = set(institution.assets.ids())
    ids = await _listed(institution, insert_after=1_000)
    assert before <= set(ids)  # nothing lost; a record read again far back may come twice
    assert set(ids) <= set(institution.assets.ids())
