"""`SeenIds`: a set of record ids kept as 64-bit hashes, and the frontier's use of it."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esploro_async.models import Researcher
from esploro_async.pagination import _seen
from esploro_async.pagination._seen import SeenIds
from esploro_async.pagination.frontier import Frontier


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
