"""`Frontier` alone: de-duplication and the checkpoint, in order, out of order and re-read."""

from __future__ import annotations

from typing import Any

from esploro_async.models import Researcher
from esploro_async.pagination.frontier import Frontier


def page(start: int, count: int) -> list[dict[str, Any]]:
    return [{"primary_id": f"R{i}"} for i in range(start, start + count)]


def frontier(**kwargs: Any) -> Frontier[Researcher]:
    return Frontier(Researcher, page_size=10, **kwargs)


def hand_out_all(made: Frontier[Researcher], handout: Any) -> list[str | None]:
    ids = []
    for index, record in enumerate(handout.page.records):
        made.hand_out(handout, index)
        ids.append(record.primary_id)
    return ids


def test_in_order_pages_move_the_checkpoint_with_every_record() -> None:
    made = frontier()
    handout = made.in_order(0, page(0, 10), 25)
    made.hand_out(handout, 0)
    assert (made.offset, made.last_id, made.delivered) == (1, "R0", 1)
    for index in range(1, 10):
        made.hand_out(handout, index)
    assert (made.offset, made.last_id, made.total) == (10, "R9", 25)


def test_records_handed_out_before_are_dropped_and_passed_over() -> None:
    made = frontier()
    hand_out_all(made, made.in_order(0, page(0, 10), 20))
    handout = made.in_order(10, page(8, 10), 20)  # two records moved down a page
    assert [r.primary_id for r in handout.page.records] == [f"R{i}" for i in range(10, 18)]
    assert handout.page.duplicates == 2
    hand_out_all(made, handout)
    assert (made.offset, made.last_id) == (20, "R17")


def test_out_of_order_pages_move_the_checkpoint_only_when_contiguous() -> None:
    made = frontier(offset=10, last_id="R9")
    later = made.out_of_order(20, page(20, 10), 40)
    hand_out_all(made, later)
    assert made.offset == 10
    assert made.ahead == (20,)
    hand_out_all(made, made.out_of_order(10, page(10, 10), 40))
    assert (made.offset, made.last_id) == (30, "R29")
    assert not made.ahead


def test_pages_ahead_of_a_checkpoint_are_passed_over_when_reached() -> None:
    made = frontier(offset=10, last_id="R9", ahead=[20, 30])
    hand_out_all(made, made.out_of_order(10, page(10, 10), 45))
    assert made.offset == 40
    assert made.ahead == ()


def test_rereads_hand_out_only_new_records_and_never_move_the_checkpoint() -> None:
    made = frontier()
    hand_out_all(made, made.in_order(0, page(0, 10), 10))
    handout = made.reread(0, page(0, 11), 11)
    assert [r.primary_id for r in handout.page.records] == ["R10"]
    hand_out_all(made, handout)
    assert (made.offset, made.delivered) == (10, 11)


def test_a_resumed_frontier_never_hands_out_the_record_before_it_again() -> None:
    made = frontier(offset=10, last_id="R9", delivered=10)
    handout = made.in_order(9, page(9, 11), 30)  # the probe: one record before the checkpoint
    assert handout.page.records[0].primary_id == "R10"
    hand_out_all(made, handout)
    assert (made.offset, made.delivered) == (20, 20)


def test_a_page_of_only_duplicates_moves_the_checkpoint_at_once() -> None:
    made = frontier()
    hand_out_all(made, made.in_order(0, page(0, 10), 30))
    handout = made.in_order(10, page(5, 5), 30)  # five records moved down
    assert handout.page.records == ()
    assert (made.offset, made.last_id) == (15, "R9")


def test_records_without_ids_are_told_apart_by_position_where_pages_overlap() -> None:
    from esploro_async.models import Record

    made: Frontier[Record] = Frontier(Record.adopt, page_size=10)
    rows = [{"n": i} for i in range(19)]
    first = made.in_order(0, rows[0:10], 19)
    second = made.in_order(9, rows[9:19], 19)  # shares position 9 with the first page
    assert len(first.page.records) + len(second.page.records) == 19

    unordered: Frontier[Record] = Frontier(Record.adopt, page_size=10, offset=10)
    later = unordered.out_of_order(18, [{"n": i} for i in range(18, 28)], 28)
    earlier = unordered.out_of_order(9, [{"n": i} for i in range(9, 19)], 28)
    assert len(later.page.records) == 10
    assert [r["n"] for r in earlier.page.records] == list(range(10, 18))  # 9 and 18 were taken
