"""`PageScheduler` alone: the order of requests, short pages, drift and re-read rounds."""

from __future__ import annotations

import pytest

from esploro_async import IncompletePageError
from esploro_async.pagination.scheduler import Drift, PageScheduler


def scheduler(total: int, **kwargs: object) -> tuple[PageScheduler, list[Drift]]:
    """A scheduler of pages of 100 from offset 0, without overlap unless asked."""
    kwargs.setdefault("overlap", False)
    drifts: list[Drift] = []
    made = PageScheduler(
        path="/esploro/v1/researchers",
        base=0,
        page_size=100,
        total=total,
        report=drifts.append,
        **kwargs,  # type: ignore[arg-type]
    )
    return made, drifts


def take_all(made: PageScheduler) -> list[int]:
    taken = []
    while (offset := made.take()) is not None:
        taken.append(offset)
    return taken


def test_the_main_pass_covers_the_grid_after_the_first_page() -> None:
    made, drifts = scheduler(450)
    assert take_all(made) == [100, 200, 300, 400]
    assert made.in_flight == 4
    for offset in (100, 200, 300):
        assert made.finished(offset, 100, 450) == "main"
    assert made.finished(400, 50, 450) == "main"
    assert made.take() is None
    assert made.in_flight == 0
    assert drifts == []


def test_offsets_are_computed_lazily_whatever_the_total() -> None:
    made, _ = scheduler(10**15)
    assert [made.take() for _ in range(3)] == [100, 200, 300]  # no list of 10¹³ offsets


def test_skipped_pages_are_not_requested_again() -> None:
    made, _ = scheduler(600, skip=[200, 300])
    assert take_all(made) == [100, 400, 500]


@pytest.mark.parametrize("count", [0, 50, 99])
def test_a_short_page_is_read_again_before_anything_new(count: int) -> None:
    made, _ = scheduler(1000)
    assert made.take() == 100
    assert made.finished(100, count, 1000) == "again"
    assert made.main_open == {100}
    assert made.take() == 100  # the short page first
    assert made.finished(100, 100, 1000) == "main"
    assert made.main_open == frozenset()


def test_the_last_page_may_be_short_and_a_smaller_total_explains_a_short_page() -> None:
    made, drifts = scheduler(1000)
    take_all(made)
    assert made.finished(900, 40, 940) == "main"  # 60 records were deleted meanwhile
    assert drifts == [Drift("total_changed", 1000, 940, 900)]


def test_a_page_that_stays_short_is_an_error() -> None:
    made, _ = scheduler(1000, max_short_rereads=2)
    assert made.take() == 100
    for _ in range(2):
        assert made.finished(100, 10, 1000) == "again"
        assert made.take() == 100
    with pytest.raises(IncompletePageError) as raised:
        made.finished(100, 10, 1000)
    assert (raised.value.offset, raised.value.expected, raised.value.received) == (100, 100, 10)


def test_a_growing_total_extends_the_main_pass() -> None:
    made, drifts = scheduler(300)
    assert take_all(made) == [100, 200]
    made.finished(100, 100, 500)
    assert take_all(made) == [300, 400]
    assert drifts == [Drift("total_changed", 300, 500, 100)]


def test_pages_read_at_another_total_are_read_again_in_rounds() -> None:
    made, drifts = scheduler(300)
    take_all(made)
    made.finished(100, 100, 310)  # ten records were inserted
    assert take_all(made) == [300]
    made.finished(200, 100, 310)
    assert made.take() is None  # the main pass is not done yet
    made.finished(300, 10, 310)
    assert take_all(made) == [0]  # the first page was read at 300
    assert drifts[-1] == Drift("reread", None, 310, 0, pages=1)
    assert made.finished(0, 100, 310) == "reread"
    assert made.take() is None


def test_rereads_stop_after_the_last_round_and_say_so() -> None:
    made, drifts = scheduler(200, max_rounds=1)
    take_all(made)
    made.finished(100, 100, 210)
    take_all(made)
    made.finished(200, 10, 210)
    assert take_all(made) == [0]
    made.finished(0, 100, 220)  # still changing: no round is left to follow it
    assert take_all(made) == []
    assert drifts[-1] == Drift("unresolved", None, 220, 0)


def test_a_stopped_scheduler_only_finishes_short_pages() -> None:
    made, _ = scheduler(1000)
    made.take()
    made.finished(100, 5, 1000)
    made.stop()
    assert made.take() == 100
    made.finished(100, 100, 1000)
    assert made.take() is None


def test_without_rereads_drift_is_only_reported() -> None:
    made, drifts = scheduler(200, reread_on_drift=False)
    take_all(made)
    made.finished(100, 100, 200)
    made.finished(0, 100, 200)
    assert made.take() is None
    assert drifts == []


def page_edges(offset: int, ids: list[str]) -> tuple[str, str]:
    """The first and last ids of a full page at ``offset`` of ``ids``."""
    return ids[offset], ids[offset + 99]


def test_overlapping_pages_share_one_record_with_the_page_before() -> None:
    made, _ = scheduler(400, overlap=True)
    assert take_all(made) == [99, 198, 297, 396]  # each page brings 99 new records
    made, _ = scheduler(397, overlap=True)
    assert take_all(made) == [99, 198, 297]  # the page at 297 reaches position 396


def test_a_record_moved_at_a_page_boundary_is_noticed_and_every_page_read_again() -> None:
    ids = [f"R{i}" for i in range(397)]
    made, drifts = scheduler(397, overlap=True, first_edges=(*page_edges(0, ids), 100))
    take_all(made)
    assert made.finished(99, 100, 397, page_edges(99, ids)) == "main"
    del ids[10:12]  # two records deleted, two inserted at the end: the total stays
    ids += ["N1", "N2"]
    made.finished(198, 100, 397, page_edges(198, ids))
    made.finished(297, 100, 397, page_edges(297, ids))
    assert [d.kind for d in drifts] == ["shifted"]
    assert take_all(made) == [0, 99, 198, 297]  # a round over every page
    assert drifts[-1] == Drift("reread", None, 397, 0, pages=4)
    for offset in (0, 99, 198, 297):
        assert made.finished(offset, 100, 397, page_edges(offset, ids)) == "reread"
    assert made.take() is None  # the round agreed
    assert not made.unresolved


def test_records_that_keep_moving_are_unresolved_after_the_last_round() -> None:
    ids = [f"R{i}" for i in range(298)]
    made, drifts = scheduler(
        298, overlap=True, max_rounds=1, first_edges=(*page_edges(0, ids), 100)
    )
    take_all(made)
    made.finished(99, 100, 298, ("R98", ids[198]))  # shifted by one
    made.finished(198, 100, 298, page_edges(198, ids))
    assert take_all(made) == [0, 99, 198]
    made.finished(0, 100, 298, page_edges(0, ids))
    made.finished(99, 100, 298, ("R97", ids[198]))  # still moving
    made.finished(198, 100, 298, page_edges(198, ids))
    assert made.take() is None
    assert made.unresolved
    assert drifts[-1].kind == "unresolved"
