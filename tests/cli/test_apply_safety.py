"""``apply`` (and `bulk` under it) cannot hurt a record by mistake.

A typo in a JSON Pointer, a field the system maintains, a wrong ORCID, a read-only key and a
file saved with a byte-order mark, against the simulated gateway (whose researchers follow
the real record of ``tests/fixtures/public/researcher-full.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from esploro_async import AuthenticationError, EsploroClient, InvalidIdentifierError
from esploro_async.bulk import bulk
from esploro_async.cli.apply import ChangeError, apply_changes, parse_change
from esploro_async.models import Researcher
from esploro_async.testing import (
    SIM_API_KEY,
    SIM_READ_ONLY_KEY,
    SimulatedGateway,
    SyntheticInstitution,
)

pytestmark = pytest.mark.looptime

BASE = "http://esploro.localhost"


def _write(path: Path, lines: list[Any], *, bom: bool = False) -> None:
    text = "".join(json.dumps(line) + "\n" for line in lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())


def _results(path: Path) -> dict[int, dict[str, Any]]:
    return {r["line"]: r for r in map(json.loads, path.read_text().splitlines())}


async def _apply(
    gw: SimulatedGateway, tmp_path: Path, lines: list[Any], **options: Any
) -> dict[int, dict[str, Any]]:
    changes, out = tmp_path / "changes.jsonl", tmp_path / "results.jsonl"
    _write(changes, lines, bom=options.pop("bom", False))
    key = options.pop("key", SIM_API_KEY)
    async with EsploroClient(key, base_url=BASE, transport=gw.transport()) as client:
        _ = [r async for r in apply_changes(client, changes, out, **options)]
    return _results(out)


def _gateway(researchers: int = 10) -> SimulatedGateway:
    return SimulatedGateway(SyntheticInstitution(seed=4, researchers=researchers, assets=5))


async def test_a_pointer_to_a_field_the_record_lacks_is_refused_per_line(tmp_path: Path) -> None:
    gw = _gateway()
    rid = gw.institution.researchers.ids()[0]
    before = json.dumps(gw.institution.researchers.get(rid))
    lines = [
        {"type": "researcher", "id": rid, "set": {"/researcher/first_nmae": "Ann"}},
        {"type": "researcher", "id": rid, "set": {"/nonexistent/deep/path": 1}},
        {"type": "researcher", "id": rid, "set": {"/user_identifier/9/value": "x"}},
        {"type": "researcher", "id": rid, "set": {"/researcher/researcher_first_name": "Ann"}},
    ]
    results = await _apply(gw, tmp_path, lines)
    assert [results[n]["status"] for n in (1, 2, 3)] == ["invalid"] * 3
    assert "/researcher/first_nmae: the record has no such field" in results[1]["error"]
    assert "--allow-new-fields" in results[1]["error"]
    assert results[4]["status"] == "ok"
    assert_only_the_valid_line_was_written(gw, rid, before)


def assert_only_the_valid_line_was_written(gw: SimulatedGateway, rid: str, before: str) -> None:
    """The record has the first name of the valid line, none of the refused fields; one PUT."""
    after = gw.institution.researchers.get(rid)
    assert after is not None
    assert "first_nmae" not in after["researcher"]
    assert "nonexistent" not in after
    assert after["researcher"]["researcher_first_name"] == "Ann"
    assert json.dumps(after) != before
    puts = [r for r in gw.log if r.method == "PUT"]
    assert len(puts) == 1  # the refused lines sent no write


async def test_new_fields_are_written_when_allowed(tmp_path: Path) -> None:
    gw = _gateway()
    rid = gw.institution.researchers.ids()[1]
    lines = [{"type": "researcher", "id": rid, "set": {"/researcher/photo_url": "https://x/p"}}]
    results = await _apply(gw, tmp_path, lines, allow_new_fields=True)
    assert results[1]["status"] == "ok"
    stored = gw.institution.researchers.get(rid)
    assert stored is not None
    assert stored["researcher"]["photo_url"] == "https://x/p"


@pytest.mark.parametrize(
    "pointer", ["/researcher/profile_image_url", "/full_name", "/created_date"]
)
def test_system_maintained_fields_are_refused_before_anything_is_sent(pointer: str) -> None:
    line = json.dumps({"type": "researcher", "id": "a", "set": {pointer: "x"}})
    with pytest.raises(ChangeError, match="not writable through the API"):
        parse_change(1, line)
    remove = json.dumps({"type": "researcher", "id": "a", "remove": [pointer]})
    with pytest.raises(ChangeError, match="not writable"):
        parse_change(1, remove)


async def test_a_wrong_orcid_is_refused_the_same_way_everywhere(tmp_path: Path) -> None:
    gw = _gateway()
    rid = gw.institution.researchers.ids()[2]
    stored = gw.institution.researchers.get(rid)
    assert stored is not None
    at = next(
        i for i, e in enumerate(stored["user_identifier"]) if e["id_type"]["value"] == "ORCID"
    )
    pointer = f"/user_identifier/{at}/value"
    lines = [
        {"type": "researcher", "id": rid, "set": {pointer: "0000-0002-1825-0098"}},  # bad digit
        {"type": "researcher", "id": rid, "set": {pointer: "0000-0002-1825-0097"}},
    ]
    results = await _apply(gw, tmp_path, lines, concurrency=1)
    assert results[1]["status"] == "invalid"
    assert "check digit" in results[1]["error"]
    assert results[2]["status"] == "ok"
    record = Researcher.from_dict({})
    with pytest.raises(InvalidIdentifierError, match="check digit"):
        record.orcid = "0000-0002-1825-0098"
    async with EsploroClient(SIM_API_KEY, base_url=BASE, transport=gw.transport()) as client:
        with pytest.raises(InvalidIdentifierError, match="check digit"):
            await client.researchers.add_orcid_token("0000-0002-1825-0098", {"access_token": "t"})


async def test_a_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    gw = _gateway()
    rid = gw.institution.researchers.ids()[3]
    lines = [{"type": "researcher", "id": rid, "set": {"/researcher/display_title": "Dr"}}]
    results = await _apply(gw, tmp_path, lines, bom=True)
    assert results[1]["status"] == "ok"


async def test_a_key_that_cannot_write_stops_at_the_first_refusal(tmp_path: Path) -> None:
    gw = _gateway(researchers=200)
    ids = gw.institution.researchers.ids()
    lines = [
        {"type": "researcher", "id": ids[n % len(ids)], "set": {"/researcher/display_title": "D"}}
        for n in range(2000)
    ]
    with pytest.raises(AuthenticationError):
        await _apply(gw, tmp_path, lines, key=SIM_READ_ONLY_KEY, concurrency=8)
    # at most the requests of the changes in flight: 8 reads and their 8 refused writes
    assert len(gw.log) <= 2 * 8
    results = _results(tmp_path / "results.jsonl")
    assert 1 <= len(results) <= 8
    assert all(r["error"]["retryable"] for r in results.values())


async def test_bulk_stops_at_a_refused_key_and_cancels_what_is_in_flight() -> None:
    gw = _gateway(researchers=50)
    ids = gw.institution.researchers.ids()
    async with EsploroClient(SIM_READ_ONLY_KEY, base_url=BASE, transport=gw.transport()) as c:

        async def touch(rid: str) -> None:
            async with c.researchers.edit(rid) as record:
                record["researcher"] = {**record["researcher"], "display_title": "X"}

        seen = []
        with pytest.raises(AuthenticationError):
            async with bulk(ids * 20, touch, concurrency=4) as results:
                async for result in results:
                    seen.append(result)
    assert len(seen) >= 1
    assert isinstance(seen[-1].error, AuthenticationError)
    assert len(gw.log) <= 2 * 4


def test_the_cli_exits_4_with_the_key_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import esploro_async.testing as simulator
    from esploro_async.cli.app import cli

    # --simulate connects with the simulator's key, read when it connects: a read-only one
    monkeypatch.setattr(simulator, "SIM_API_KEY", SIM_READ_ONLY_KEY)
    ids = SyntheticInstitution(seed=0, researchers=50).researchers.ids()
    changes = tmp_path / "changes.jsonl"
    lines = [
        {"type": "researcher", "id": ids[n % 50], "set": {"/researcher/display_title": "D"}}
        for n in range(300)
    ]
    _write(changes, lines)
    result = CliRunner().invoke(cli, ["apply", str(changes), "--simulate", "--concurrency", "4"])
    assert result.exit_code == 4, result.output
    assert "API key was refused" in result.stderr
    written = _results(tmp_path / "changes.jsonl.results.jsonl")
    assert len(written) <= 4
