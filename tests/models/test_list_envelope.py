"""A list page's total and records, read one way by every stream and resource.

The shapes are those of recorded answers (``/work/shared/fixtures/real``): researchers and
sets say ``total_record_count``, assets by id, jobs and mapping tables ``totalRecordCount``.
"""

from __future__ import annotations

from typing import Any

import pytest

from esploro_async.models._json import object_list, total_record_count


@pytest.mark.parametrize(
    ("page", "total"),
    [
        ({"researcher": [], "total_record_count": 439}, 439),
        ({"records": [], "totalRecordCount": 3}, 3),
        ({"total_record_count": "84"}, 84),
        ({"total_record_count": " 12 "}, 12),
        ({"total_record_count": 0}, 0),
        ({"total_record_count": None, "totalRecordCount": 7}, 7),
        ({"total_record_count": "n/a", "totalRecordCount": 7}, 7),
        ({}, None),
        ({"total_record_count": -1}, None),
        ({"total_record_count": True}, None),
        ({"total_record_count": "many"}, None),
        ({"total_record_count": 2.5}, None),
    ],
)
def test_the_total_is_a_count_or_unknown(page: dict[str, Any], total: int | None) -> None:
    assert total_record_count(page) == total


@pytest.mark.parametrize(
    ("value", "objects"),
    [
        ([{"a": 1}, {"b": 2}], [{"a": 1}, {"b": 2}]),
        ({"a": 1}, [{"a": 1}]),  # one record, not wrapped in a list
        ([{"a": 1}, "stray", 3, None], [{"a": 1}]),
        (None, []),
        ("", []),
        ("text", []),
    ],
)
def test_a_list_of_objects_is_read_whatever_its_shape(value: Any, objects: list[Any]) -> None:
    assert object_list(value) == objects
