"""``esploro-async apply`` and the `bulk` API under it, against the simulated gateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from esploro_async import EsploroClient
from esploro_async.cli.apply import ChangeError, apply_changes, parse_change
from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    Latency,
    SimulatedGateway,
    SyntheticInstitution,
)

pytestmark = pytest.mark.looptime


def write_changes(path: Path, lines: list[Any]) -> None:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )


def results_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def retitles_and_replacements(researchers: list[str], assets: list[str]) -> list[Any]:
    """A retitle per researcher, a replaced field per asset, then a bad line and an unknown id."""
    lines: list[Any] = [
        {"type": "researcher", "id": rid, "set": {"/researcher/display_title": f"Title {i}"}}
        for i, rid in enumerate(researchers)
    ]
    lines += [
        {"type": "asset", "id": aid, "action": "replace", "fields": {"date.published": "2024"}}
        for aid in assets
    ]
    return [*lines, "{not json", {"type": "researcher", "id": "NOPE", "set": {"/x": 1}}]


def assert_each_ok_retitle_was_stored(
    gw: SimulatedGateway, researchers: list[str], by_line: dict[int, dict[str, Any]]
) -> None:
    """Line ``i`` retitled ``researchers[i - 1]``: where its result is ok, the title is stored."""
    for i, rid in enumerate(researchers, start=1):
        stored = gw.institution.researchers.get(rid)
        assert stored is not None
        if by_line[i]["status"] == "ok":
            assert stored["researcher"]["display_title"] == f"Title {i - 1}"


async def test_every_line_ends_in_exactly_one_result_despite_faults(tmp_path: Path) -> None:
    gw = SimulatedGateway(
        SyntheticInstitution(seed=3, researchers=60, assets=40),
        latency=Latency.uniform(0.05, 0.2),
        faults=[
            Fault("routing_error", endpoint="researchers", probability=0.2),
            Fault("reset", endpoint="assets", method="POST", probability=0.3, processed=True),
            Fault("http_500", endpoint="assets", method="POST", probability=0.2),
        ],
        seed=5,
    )
    researchers = gw.institution.researchers.ids()[:30]
    lines = retitles_and_replacements(researchers, gw.institution.assets.ids()[:20])
    changes = tmp_path / "changes.jsonl"
    write_changes(changes, lines)
    out = tmp_path / "results.jsonl"
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport()
    ) as client:
        seen = [r async for r in apply_changes(client, changes, out, concurrency=6)]
    results = results_of(out)
    assert results == seen
    assert sorted(r["line"] for r in results) == list(range(1, len(lines) + 1))
    by_line = {r["line"]: r for r in results}
    assert by_line[len(lines) - 1]["status"] == "invalid"
    assert by_line[len(lines)]["status"] == "error"
    # an unknown id is answered HTTP 400 (401861), as by the real gateway
    assert by_line[len(lines)]["error"]["status_code"] == 400
    assert_each_ok_retitle_was_stored(gw, researchers, by_line)
    statuses = {r["status"] for r in results}
    assert "ok" in statuses
    assert "error" in statuses, "some POSTs failed ambiguously and were not replayed"


async def test_resume_skips_lines_with_a_result(tmp_path: Path) -> None:
    gw = SimulatedGateway(SyntheticInstitution(seed=3, researchers=20))
    ids = gw.institution.researchers.ids()[:10]
    changes = tmp_path / "changes.jsonl"
    write_changes(
        changes,
        [
            {"type": "researcher", "id": rid, "set": {"/researcher/display_title": "X"}}
            for rid in ids
        ],
    )
    out = tmp_path / "results.jsonl"
    # a previous run finished lines 1-4 and died while writing line 5's result
    out.write_text(
        "".join(json.dumps({"line": n, "status": "ok"}) + "\n" for n in range(1, 5))
        + '{"line": 5, "sta'
    )
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport()
    ) as client:
        with pytest.raises(Exception, match="--resume"):
            [r async for r in apply_changes(client, changes, out)]
        rest = [r async for r in apply_changes(client, changes, out, resume=True)]
    assert sorted(r["line"] for r in rest) == list(range(5, 11))
    assert sorted(r["line"] for r in results_of(out)) == list(range(1, 11))
    puts = [r for r in gw.log if r.method == "PUT"]
    assert len(puts) == 6


async def test_dry_run_sends_no_write(tmp_path: Path) -> None:
    gw = SimulatedGateway(SyntheticInstitution(seed=3, researchers=5, assets=5))
    rid = gw.institution.researchers.ids()[0]
    aid = gw.institution.assets.ids()[0]
    changes = tmp_path / "changes.jsonl"
    write_changes(
        changes,
        [
            {"type": "researcher", "id": rid, "set": {"/researcher/display_title": "New"}},
            {"type": "asset", "id": aid, "action": "add", "fields": {"date.accepted": "2024"}},
        ],
    )
    out = tmp_path / "dry.jsonl"
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport()
    ) as client:
        results = [r async for r in apply_changes(client, changes, out, dry_run=True)]
    assert {r["status"] for r in results} == {"dry-run"}
    researcher = next(r for r in results if r["type"] == "researcher")
    assert researcher["would_change"]["/researcher/display_title"]["to"] == "New"
    assert all(r.method == "GET" for r in gw.log)


def test_changes_are_checked_before_anything_is_sent() -> None:
    with pytest.raises(ChangeError, match="JSON Pointer"):
        parse_change(1, json.dumps({"type": "researcher", "id": "a", "set": {"x": 1}}))
    with pytest.raises(ChangeError, match="action"):
        parse_change(
            1, json.dumps({"type": "asset", "id": "a", "action": "drop", "fields": {"a": 1}})
        )
    with pytest.raises(ChangeError, match="type"):
        parse_change(1, json.dumps({"type": "grant", "id": "a"}))
    change = parse_change(7, json.dumps({"type": "researcher", "id": "a", "set": {"/a~1b": 1}}))
    assert change.line == 7
    assert change.idempotent


def test_the_apply_command_writes_results_beside_the_input(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from esploro_async.cli.app import cli

    gw = SimulatedGateway(SyntheticInstitution(seed=0, researchers=50))
    rid = gw.institution.researchers.ids()[0]  # the CLI's simulator uses the same seed
    changes = tmp_path / "changes.jsonl"
    write_changes(
        changes,
        [
            {"type": "researcher", "id": rid, "set": {"/researcher/display_title": "Prof."}},
            {"type": "researcher", "id": "missing-id", "set": {"/researcher/display_title": "x"}},
        ],
    )
    result = CliRunner().invoke(cli, ["apply", str(changes), "--simulate"])
    assert result.exit_code == 1, result.output  # one line failed
    results = results_of(tmp_path / "changes.jsonl.results.jsonl")
    assert [r["status"] for r in sorted(results, key=lambda r: r["line"])] == ["ok", "error"]
    assert "1 ok" in result.output
