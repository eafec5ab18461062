"""Done when: a sync killed (SIGKILL) at random instants, again and again while the source
changes, then run to its end, leaves exactly the source's records in the mirror."""

from __future__ import annotations

from pathlib import Path

import pytest
from killing import kill_and_compare

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize(
    ("kind", "rounds", "seed"),
    [("assets", 30, 11), ("researchers", 22, 12)],
)
async def test_sqlite_mirror_killed_anywhere_equals_the_source(
    tmp_path: Path, kind: str, rounds: int, seed: int
) -> None:
    report = await kill_and_compare(
        kind=kind,
        db=str(tmp_path / "mirror.sqlite"),
        out=tmp_path / "export.jsonl",
        rounds=rounds,
        seed=seed,
    )
    assert all(code == 0 for code in report.exit_codes)
    assert report.kills == rounds, report
